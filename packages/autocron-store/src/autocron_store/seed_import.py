"""What the original AutoCron (``autocron-scheduler``) left on disk, read and imported.

Three artefacts, recognised by their content:

* its SQLite database (tables ``tasks`` and ``executions``, ``PRAGMA
  user_version = 1``): each ``tasks`` row holds the task's ``to_dict()`` as
  ``payload_json``, which is exactly an entry of its task files, so rows are
  read by the same task-file reader (``_document.read_document``);
* its task files (``version: "1.0"``), read by that reader as they are;
* the ``analytics.json`` of versions 1.1 and 1.2 (``{task: {..., history: [...]}}``).

Executions become finished ``RunRecord``s; see ``import_seed`` for how they
are keyed so that importing twice adds nothing. ``check_not_seed`` is what the
SQL store calls when it opens a database, so that the original's file at our
default path is reported instead of being mixed with our tables.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sqlite3
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autocron_core.errors import ConfigError, StoreError
from autocron_core.protocols import Store
from autocron_core.records import RunRecord, RunStatus
from autocron_core.task import MAX_NAME, Task

from ._document import read_document
from ._seed_schema import SEED_TASK_COLUMNS, SeedDatabaseError, check_not_seed

__all__ = [
    "SEED_NODE",
    "ImportReport",
    "SeedData",
    "SeedDatabaseError",
    "backup_path",
    "check_not_seed",
    "import_seed",
    "move_aside",
    "read_seed",
    "seed_database_counts",
    "seed_default_paths",
]

#: The ``node_id`` of imported run records: the original scheduler ran them.
SEED_NODE = "autocron-scheduler"
#: The original's database schema version (``PRAGMA user_version``).
SEED_USER_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"

DATABASE, TASK_FILE, ANALYTICS = "database", "task file", "analytics"


# -- detection ------------------------------------------------------------------
def seed_database_counts(path: str) -> tuple[int, int] | None:
    """``(tasks, executions)`` when ``path`` is an SQLite file with the original's tables, else ``None``."""
    try:
        with open(path, "rb") as handle:
            if handle.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                return None
    except OSError:
        return None
    try:
        conn = _connect_read_only(path)
    except sqlite3.Error:
        return None
    try:
        return _counts(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _counts(conn: sqlite3.Connection) -> tuple[int, int] | None:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
    has_executions = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'executions'"
    ).fetchone()
    if not columns.issuperset(SEED_TASK_COLUMNS) or not has_executions:
        return None
    tasks = int(conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])
    executions = int(conn.execute("SELECT COUNT(*) FROM executions").fetchone()[0])
    return tasks, executions


def seed_default_paths() -> list[str]:
    """Where the original kept its data by default, existing or not.

    Its database (``$AUTOCRON_DATABASE``, ``$AUTOCRON_HOME/autocron.db``, else the
    platform's state folder: ``$XDG_STATE_HOME/autocron/autocron.db`` on Linux),
    and in ``$AUTOCRON_HOME`` (``~/.autocron``) its ``tasks.yaml`` and ``analytics.json``.
    """
    import sys

    from autocron_core.env import home_dir

    home = home_dir()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA")
        state = os.path.join(base or os.path.expanduser("~/AppData/Local"), "AutoCron")
    elif sys.platform == "darwin":
        state = os.path.expanduser("~/Library/Application Support/AutoCron")
    else:
        base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
        state = os.path.join(os.path.expanduser(base), "autocron")
    return [
        str(home / "autocron.db"),
        os.path.join(state, "autocron.db"),
        str(home / "tasks.yaml"),
        str(home / "analytics.json"),
    ]


# -- reading ----------------------------------------------------------------------
@dataclass
class SeedData:
    """What one artefact of the original holds, converted.

    Attributes:
        path: the file read.
        kind: ``"database"``, ``"task file"`` or ``"analytics"``.
        tasks: the tasks it defines, with their state.
        runs: its executions as finished run records, oldest first.
        problems: ``(what, why)`` for each entry that could not be converted.
        notes: the reader's warnings: fields that could not be carried over, each with its task.
    """

    path: str
    kind: str
    tasks: list[Task] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_seed(path: str | os.PathLike[str]) -> SeedData:
    """Read a database, task file or ``analytics.json`` of the original AutoCron.

    Raises:
        ConfigError: the file cannot be read or is none of the three.
    """
    where = os.path.abspath(os.fspath(path))
    try:
        with open(where, "rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", path=where) from None
    if head == _SQLITE_MAGIC:
        return _read_database(where)
    suffix = os.path.splitext(where)[1].lower()
    if suffix in (".yaml", ".yml"):
        return _read_task_file(where)
    if suffix == ".json":
        try:
            with open(where, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(f"not valid JSON ({exc})", path=where) from None
        if isinstance(data, Mapping) and ("tasks" in data or "version" in data):
            return _read_task_file(where)
        if _is_analytics(data):
            return _read_analytics(where, data)
    raise ConfigError(
        "not a file of the original AutoCron: expected its SQLite database (tables tasks and "
        "executions), a task file (.yaml/.yml/.json with version and tasks) or its analytics.json",
        path=where,
    )


def _connect_read_only(path: str) -> sqlite3.Connection:
    from urllib.parse import quote

    # Read-only: importing never changes the original's file.
    return sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)


def _read_document(document: str, notes: list[str]) -> list[Task]:
    """``read_document``, its warnings (fields it could not carry over) kept in ``notes``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, tasks = read_document(document)
    for warning in caught:
        text = str(warning.message)
        if text.startswith(document):  # the file name, and its line: ours to say, not a temporary name
            text = text[len(document) :].lstrip(":0123456789 ")
        notes.append(text)
    return tasks


def _read_task_file(path: str) -> SeedData:
    data = SeedData(path, TASK_FILE)
    data.tasks = _read_document(path, data.notes)
    return data


def _read_database(path: str) -> SeedData:
    try:
        conn = _connect_read_only(path)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if _counts(conn) is None:
                raise ConfigError(
                    "an SQLite database, but not the original AutoCron's (expected tables tasks and "
                    "executions; an AutoCron database is used with --store, not imported)",
                    path=path,
                )
            if version > SEED_USER_VERSION:
                raise ConfigError(
                    f"user_version={version}: expected {SEED_USER_VERSION} (written by a newer "
                    "autocron-scheduler than this import knows)",
                    path=path,
                    field="user_version",
                )
            conn.row_factory = sqlite3.Row
            task_rows = conn.execute("SELECT * FROM tasks ORDER BY name").fetchall()
            execution_rows = conn.execute(
                "SELECT * FROM executions ORDER BY timestamp, execution_id"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot read the SQLite database ({exc})", path=path) from None
    data = SeedData(path, DATABASE)
    entries = [_task_entry(row) for row in task_rows]
    data.tasks, data.problems = _tasks_of(entries, data.notes)
    for row in execution_rows:
        label = f"execution {row['execution_id']}"
        metadata = _json_object(row["metadata_json"])
        output = metadata.get("output")
        _add_run(
            data,
            label,
            row["task_name"],
            row["timestamp"],
            row["success"],
            row["duration"],
            row["error"],
            output if isinstance(output, str) else None,
        )
    data.runs.sort(key=lambda record: record.scheduled_for)
    return data


def _task_entry(row: sqlite3.Row) -> dict[str, Any]:
    # The columns win over the payload, as in the original's own reader.
    entry = _json_object(row["payload_json"])
    entry.update(
        task_id=row["task_id"],
        name=row["name"],
        script=row["script"],
        schedule_type=row["schedule_type"],
        schedule_value=row["schedule_value"],
        enabled=bool(row["enabled"]),
    )
    script = entry.get("script")
    if isinstance(script, str) and script and not os.path.isabs(script):
        # The original ran a relative script from its working directory; so does the import.
        entry["script"] = os.path.abspath(os.path.expanduser(script))
    return entry


def _json_object(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return dict(value) if isinstance(value, Mapping) else {}


def _tasks_of(entries: list[dict[str, Any]], notes: list[str]) -> tuple[list[Task], list[tuple[str, str]]]:
    """Rebuild the rows' tasks with the task-file reader (a row's payload is a task-file entry)."""
    tasks: list[Task] = []
    problems: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="autocron-import-") as folder:
        for index, entry in enumerate(entries):
            name = str(entry.get("name"))
            document = os.path.join(folder, f"row{index}.json")
            with open(document, "w", encoding="utf-8") as handle:
                json.dump({"version": "1.0", "tasks": [entry]}, handle, default=str)
            try:
                rebuilt = _read_document(document, notes)
            except ConfigError as exc:
                problems.append((f"task {name!r}", exc.reason.removeprefix(f"task {name!r}: ")))
                continue
            tasks.extend(rebuilt)
    return tasks, problems


def _is_analytics(data: Any) -> bool:
    if not isinstance(data, Mapping) or not data:
        return isinstance(data, Mapping)
    return all(
        isinstance(item, Mapping) and isinstance(item.get("history", []), list) for item in data.values()
    )


def _read_analytics(path: str, data: Mapping[str, Any]) -> SeedData:
    result = SeedData(path, ANALYTICS)
    for task_name, section in data.items():
        for index, item in enumerate(section.get("history") or []):
            label = f"{task_name!r} history #{index + 1}"
            if not isinstance(item, Mapping):
                result.problems.append((label, "not a mapping"))
                continue
            _add_run(
                result,
                label,
                task_name,
                item.get("timestamp"),
                item.get("success"),
                item.get("duration"),
                item.get("error"),
                None,
            )
    result.runs.sort(key=lambda record: record.scheduled_for)
    return result


def _add_run(
    data: SeedData,
    label: str,
    task: Any,
    timestamp: Any,
    success: Any,
    duration: Any,
    error: Any,
    output: str | None,
) -> None:
    """Append one execution as a run record, or a problem saying why it cannot be one."""
    problem = _name_problem(task)
    if problem:
        data.problems.append((label, problem))
        return
    try:
        finished = _moment(timestamp)
    except (TypeError, ValueError):
        data.problems.append((label, f"timestamp={timestamp!r}: expected an ISO 8601 time"))
        return
    seconds = duration if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds < 10 * 365 * 86400:
        data.problems.append((label, f"duration={duration!r}: expected seconds, 0 or more"))
        return
    # The original wrote its timestamp when the run ended; the start is that minus its duration.
    started = finished - _dt.timedelta(seconds=seconds)
    data.runs.append(
        RunRecord(
            task=task,
            scheduled_for=started,
            attempt=1,
            status=RunStatus.SUCCEEDED if success else RunStatus.FAILED,
            started_at=started,
            finished_at=finished,
            error=str(error) if error not in (None, "") else None,
            node_id=SEED_NODE,
            output=output,
        )
    )


def _name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        return f"task name={name!r}: expected a string of 1 to {MAX_NAME} characters"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return f"task name={name!r}: expected no control characters"
    return None


def _moment(value: Any) -> _dt.datetime:
    moment = _dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        # Versions 1.1 and 1.2 wrote naive local times (datetime.now()).
        moment = moment.astimezone()
    return moment.astimezone(_dt.timezone.utc)


# -- importing --------------------------------------------------------------------
@dataclass
class ImportReport:
    """What ``import_seed`` did (or, in a dry run, would do).

    Attributes:
        path: the file imported.
        kind: ``"database"``, ``"task file"`` or ``"analytics"``.
        imported: names of the tasks saved.
        replaced: names of the tasks saved over a task of the same name (``replace=True``).
        skipped: ``(name, why)`` of tasks not saved.
        runs_imported: run records added.
        runs_present: run records already in the store (a second import).
        runs_expired: run records left out because the store's retention would prune them.
        problems: ``(what, why)`` of entries that could not be read at all.
        notes: fields that could not be carried over, each naming its task.
        dry_run: nothing was written.
    """

    path: str
    kind: str
    imported: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    runs_imported: int = 0
    runs_present: int = 0
    runs_expired: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as ``autocron import --json`` prints it."""
        return {
            "path": self.path,
            "kind": self.kind,
            "dry_run": self.dry_run,
            "tasks_imported": self.imported,
            "tasks_replaced": self.replaced,
            "tasks_skipped": [{"task": name, "reason": why} for name, why in self.skipped],
            "runs_imported": self.runs_imported,
            "runs_present": self.runs_present,
            "runs_expired": self.runs_expired,
            "problems": [{"entry": what, "reason": why} for what, why in self.problems],
            "notes": self.notes,
        }


def import_seed(
    data: SeedData,
    store: Store | None,
    *,
    replace: bool = False,
    dry_run: bool = False,
    now: _dt.datetime | None = None,
    retention: tuple[int | None, float | None] | None = None,
) -> ImportReport:
    """Save ``data``'s tasks and run records into ``store``.

    A task whose name the store already holds is skipped (``replace=True``
    saves over it). Each execution becomes one record keyed by its task and
    its start (``scheduled_for``), attempt 1, inserted with ``claim_run``: a
    record already there is left as it is, so importing twice adds nothing.
    Records the store's retention (``keep_days``, ``keep_runs``) would prune
    are left out and counted.

    Args:
        data: what ``read_seed`` returned.
        store: the target; ``None`` with ``dry_run`` stands for an empty store.
        replace: save over tasks of the same name.
        dry_run: count what would be done, write nothing.
        now: the moment retention is measured from (default: now).
        retention: ``(keep_runs, keep_days)`` to apply instead of the store's own
            (a dry run without a store: the limits the new database will have).
    """
    report = ImportReport(
        data.path, data.kind, problems=list(data.problems), notes=list(data.notes), dry_run=dry_run
    )
    existing: set[str] = set()
    if store is not None:
        existing = {task.name for task in store.load_tasks()}
        existing.update(name for name, _ in getattr(store, "load_errors", ()))
    last_status = {record.task: record.status.value for record in data.runs}  # oldest first: the last wins
    for task in data.tasks:
        if task.name in existing and not replace:
            report.skipped.append((task.name, "a task of that name is already in the store (use --replace)"))
            continue
        if task.last_status is None and task.name in last_status:
            task.last_status = last_status[task.name]
            task.failing = task.last_status == "failed"
        (report.replaced if task.name in existing else report.imported).append(task.name)
        if not dry_run and store is not None:
            store.save_task(task)
    if retention is None:
        retention = (getattr(store, "keep_runs", None), getattr(store, "keep_days", None))
    kept = _within_retention(data.runs, retention, now or _dt.datetime.now(_dt.timezone.utc))
    report.runs_expired = len(data.runs) - len(kept)
    if dry_run:
        present = _present_keys(store, kept)
        report.runs_present = sum(record.key in present for record in kept)
        report.runs_imported = len(kept) - report.runs_present
        return report
    if store is None:
        raise ValueError("import_seed needs a store unless dry_run=True")
    for record in kept:
        if store.claim_run(record):
            report.runs_imported += 1
        else:
            report.runs_present += 1
    return report


def _within_retention(
    runs: list[RunRecord], retention: tuple[int | None, float | None], now: _dt.datetime
) -> list[RunRecord]:
    keep_runs, keep_days = retention
    kept = runs
    if keep_days:
        cutoff = now - _dt.timedelta(days=keep_days)
        kept = [record for record in kept if record.scheduled_for >= cutoff]
    if keep_runs:
        per_task: dict[str, list[RunRecord]] = {}
        for record in kept:
            per_task.setdefault(record.task, []).append(record)
        newest = {id(r) for records in per_task.values() for r in records[-keep_runs:]}
        kept = [record for record in kept if id(record) in newest]
    return kept


def _present_keys(store: Store | None, runs: Iterable[RunRecord]) -> set[tuple[str, _dt.datetime, int]]:
    if store is None:
        return set()
    counts: dict[str, int] = {}
    for record in runs:
        counts[record.task] = counts.get(record.task, 0) + 1
    present: set[tuple[str, _dt.datetime, int]] = set()
    for task in counts:
        present.update(record.key for record in store.history(task, 1_000_000_000))
    return present


# -- the original's file at our default path ---------------------------------------
def backup_path(path: str, now: _dt.datetime) -> str:
    """``PATH.seed-backup-YYYYMMDD-HHMMSS`` (with ``-2``, ``-3`` … when taken)."""
    base = f"{path}.seed-backup-{now.strftime('%Y%m%d-%H%M%S')}"
    candidate, number = base, 1
    while os.path.lexists(candidate):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def move_aside(path: str, now: _dt.datetime | None = None) -> str:
    """Rename the original's database (and any ``-wal``/``-shm`` beside it) to a backup name.

    Its write-ahead log is checkpointed into the file first, so the backup is
    one self-contained SQLite file. Returns the backup's path.

    Raises:
        StoreError: the file could not be checkpointed or renamed.
    """
    target = backup_path(path, now or _dt.datetime.now())
    try:
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        os.rename(path, target)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.rename(path + suffix, target + suffix)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot move {path} aside to {target}: {exc}") from None
    return target
