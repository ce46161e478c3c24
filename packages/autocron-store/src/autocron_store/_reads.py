"""Read-only access to an SQLite store through the standard library, for short-lived readers.

``autocron list``, ``history``, ``stats`` and ``dashboard`` run for a fraction
of a second and only read. Opening a ``SqlStore`` for them costs more than the
reading: importing SQLAlchemy and building its tables was 150-200 ms of a
230 ms ``autocron list`` on a 100,000-run store (benchmarks/README.md,
"bench_cli.py"). ``SqliteReader`` answers the same reads with the same results
(``load_tasks``, ``load_errors``, ``history``, ``stats``) through ``sqlite3``,
with statements that walk the same indexes.

It opens the file read-only (``mode=ro``): a reader never creates, migrates or
locks a database for writing. Whenever it cannot vouch for giving what
``SqlStore`` would give, ``open_reader`` returns ``None`` and the caller opens
a ``SqlStore`` instead, which creates, migrates or reports the problem as it
always did: a URL that is not a plain SQLite file, driver options in the URL,
a missing or non-SQLite file, a schema version it does not know (older,
newer, or the original AutoCron's tables).

This module imports neither SQLAlchemy nor the rest of the store.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from autocron_core.errors import AutoCronError, StoreError
from autocron_core.protocols import TaskStats
from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us
from autocron_core.task import Task

from ._statscore import Bound, indexed_stats, to_task_stats
from ._urls import STORE_KEYS

__all__ = ["READABLE_VERSIONS", "SqliteReader", "open_reader"]

logger = logging.getLogger("autocron.store.sql")

#: Schema versions whose tables and stats indexes this reader knows (``_schema.SCHEMA_VERSION``
#: history); any other version is left to ``SqlStore``. A test keeps it in step with ``_schema``.
READABLE_VERSIONS = frozenset({4})
#: ``tasks.kind`` of a function task's shared-anchor row (``_cluster_sql.ANCHOR_KIND``).
_ANCHOR_KIND = "anchor"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_DEFAULT_BUSY_TIMEOUT = 10_000
_RUN_COLUMNS = (
    "task, scheduled_for_us, attempt, status, started_at_us, finished_at_us, error, node_id, output, "
    "run_trigger"
)
_TASK_COLUMNS = (
    "name, task_id, definition, next_run_us, last_run_us, run_count, fail_count, paused, last_status"
)
# The stats indexes (``_schema.stats_schema``) index these expressions; SQLite uses an
# expression index only when the query spells the same expression.
_DURATION = "(finished_at_us - started_at_us)"
# Statements are f-strings only for the table names (quoted, from the store's prefix) and
# these constants; every value is a bound parameter (hence the S608 exemptions below).
_LATENESS = "(started_at_us - scheduled_for_us)"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_path(url: str) -> tuple[str, dict[str, str]] | None:
    """The file and store options of a plain ``sqlite:///path`` URL, else ``None``.

    Parsed as SQLAlchemy parses it (``sqlite:///rel.db`` is relative, ``sqlite:////abs.db``
    absolute, the path percent-decoded); anything else is left to ``SqlStore``.
    """
    for scheme in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(scheme):
            rest = url[len(scheme) :]
            break
    else:
        return None
    path, _, query = rest.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    if not path or path == ":memory:" or path.startswith("file:") or set(options) - set(STORE_KEYS):
        return None
    return unquote(path), options


def open_reader(url: str) -> SqliteReader | None:
    """A ``SqliteReader`` over the store at ``url``, or ``None`` when a ``SqlStore`` must read it.

    Never raises for a URL or file it cannot read: ``SqlStore(url)`` then
    creates, migrates or reports it with its own errors.
    """
    parsed = _sqlite_path(url)
    if parsed is None:
        return None
    path, options = parsed
    checked: dict[str, Any] = {}
    if options:  # autocron_core.config is imported only for a URL with options: ~10 ms of `autocron list`
        try:
            from autocron_core.config import check_store_option

            checked = {key: check_store_option(key, value) for key, value in options.items()}
        except (AutoCronError, TypeError, ValueError):
            return None  # SqlStore names the bad option
    try:
        busy_timeout = int(checked.get("busy_timeout", _DEFAULT_BUSY_TIMEOUT))
    except (TypeError, ValueError):
        return None
    path = os.path.abspath(os.path.expanduser(path))
    try:
        with open(path, "rb") as handle:
            if handle.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                return None
    except OSError:
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error:
        return None
    reader = SqliteReader(conn, path, str(checked.get("prefix", "")), url)
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout}")
        if reader.schema_version() not in READABLE_VERSIONS:
            reader.close()
            return None
    except (sqlite3.Error, StoreError):
        reader.close()
        return None
    return reader


class SqliteReader:
    """The reading half of ``SqlStore`` over an SQLite file, without SQLAlchemy.

    Made by ``open_reader``. Every method returns what ``SqlStore``'s method of
    the same name returns for the same database.

    Attributes:
        path: the database file.
        load_errors: ``(name, reason)`` of the rows the last ``load_tasks`` could not rebuild.
    """

    persistent = True

    def __init__(self, conn: sqlite3.Connection, path: str, prefix: str, url: str) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self.url = url
        self.load_errors: list[tuple[str, str]] = []
        self._tasks = _quoted(f"{prefix}tasks")
        self._runs = _quoted(f"{prefix}runs")
        self._version = _quoted(f"{prefix}schema_version")

    def __repr__(self) -> str:
        return f"SqliteReader({self.path!r})"

    def schema_version(self) -> int | None:
        """The stored schema version, ``None`` without the version table (new or foreign file)."""
        with self._reading("reading the schema version") as conn:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self._version[1:-1],)
            ).fetchone()
            if exists is None:
                return None
            row = conn.execute(f"SELECT version FROM {self._version} WHERE id = 1").fetchone()  # noqa: S608 - quoted table names; values are bound
        return None if row is None else int(row[0])

    @contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        """One read transaction (a consistent snapshot); errors become ``StoreError`` as in ``SqlStore``."""
        conn = self._conn
        if conn is None:
            raise StoreError(f"the store sqlite:///{self.path} is closed")
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"{action} in sqlite:///{self.path}: {exc}") from None

    def load_tasks(self) -> list[Task]:
        """Every stored task with its state, sorted by name; unbuildable rows go to ``load_errors``."""
        query = f"SELECT {_TASK_COLUMNS} FROM {self._tasks} WHERE kind != ? ORDER BY name"  # noqa: S608 - quoted table names; values are bound
        with self._reading("reading tasks") as conn:
            rows = conn.execute(query, (_ANCHOR_KIND,)).fetchall()
        tasks: list[Task] = []
        errors: list[tuple[str, str]] = []
        for name, task_id, definition, next_run, last_run, runs, fails, paused, last_status in rows:
            try:
                data = json.loads(definition)
                data["task_id"] = task_id
                data["state"] = {
                    "next_run": _iso(next_run), "last_run": _iso(last_run), "run_count": runs,
                    "fail_count": fails, "paused": bool(paused), "last_status": last_status,
                }  # fmt: skip
                tasks.append(Task.from_dict(data))
            except (AutoCronError, ValueError, TypeError, KeyError, AttributeError, ArithmeticError,
                    RecursionError) as exc:  # fmt: skip
                # As SqlStore.load_tasks: one bad row must not hide the others.
                errors.append((name, str(exc) or type(exc).__name__))
                logger.error(
                    "sqlite:///%s: task %r cannot be rebuilt and is not scheduled (it stays stored): %s",
                    self.path,
                    name,
                    exc,
                )
        self.load_errors = errors
        return tasks

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The newest ``limit`` records (by occurrence, then attempt), of one task or all.

        With a name SQLite walks the claim key (task, occurrence, attempt)
        backwards; without, the ``runs_scheduled`` index: neither scans the table.
        """
        where, params = ("WHERE task = ?", [name]) if name is not None else ("", [])
        query = (
            f"SELECT {_RUN_COLUMNS} FROM {self._runs} {where} "  # noqa: S608 - quoted table names; values are bound
            "ORDER BY scheduled_for_us DESC, attempt DESC, task LIMIT ?"
        )
        with self._reading("reading the run history") as conn:
            rows = conn.execute(query, (*params, limit)).fetchall()
        return [_run_record(row) for row in rows]

    def history_page(
        self,
        name: str | None = None,
        *,
        status: RunStatus | None = None,
        since: _dt.datetime | None = None,
        until: _dt.datetime | None = None,
        after: tuple[_dt.datetime, int, str] | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """One page of history, newest first, as ``SqlStore.history_page`` (the same keyset walk)."""
        where, params = ["1 = 1"], []
        for clause, value in (
            ("task = ?", name),
            ("status = ?", None if status is None else status.value),
            ("scheduled_for_us >= ?", None if since is None else to_utc_us(since)),
            ("scheduled_for_us < ?", None if until is None else to_utc_us(until)),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        if after is not None:
            where.append("(scheduled_for_us, attempt, task) < (?, ?, ?)")
            params += [to_utc_us(after[0]), after[1], after[2]]
        query = (
            f"SELECT {_RUN_COLUMNS} FROM {self._runs} WHERE {' AND '.join(where)} "  # noqa: S608 - quoted table names; values are bound
            "ORDER BY scheduled_for_us DESC, attempt DESC, task DESC LIMIT ?"
        )
        with self._reading("reading a page of run history") as conn:
            rows = conn.execute(query, (*params, limit)).fetchall()
        return [_run_record(row) for row in rows]

    def stats(
        self, name: str | None = None, since: _dt.datetime | None = None, last_n: int | None = None
    ) -> list[TaskStats]:
        """Per-task aggregates read from the stats indexes, sorted by task name (as ``SqlStore.stats``)."""
        since_us = None if since is None else to_utc_us(since)
        with self._reading("computing run statistics") as conn:
            rows = indexed_stats(_Queries(conn, self._runs, since_us), name, last_n)
        return to_task_stats(rows, name)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Queries:
    """``_statscore.IndexedQueries`` in SQLite's SQL: the statements ``_sqlstats`` builds, spelled out."""

    def __init__(self, conn: sqlite3.Connection, runs: str, since_us: int | None) -> None:
        self.conn = conn
        self.runs = runs
        self.since = "" if since_us is None else " AND scheduled_for_us >= ?"
        self.since_params: tuple[int, ...] = () if since_us is None else (since_us,)

    def counts(self, task: str | None, bound: Bound | None) -> Sequence[Any]:
        params: list[Any] = list(self.since_params)
        where = "1 = 1" + self.since
        if task is not None:
            where += " AND task = ?"
            params.append(task)
        if bound is not None:
            where += " AND (scheduled_for_us, attempt) >= (?, ?)"
            params.extend(bound)
        query = (
            f"SELECT task, status, count(*), count(started_at_us), count{_DURATION}, max{_DURATION}, "  # noqa: S608 - quoted table names; values are bound
            f"max(started_at_us), max(finished_at_us) FROM {self.runs} WHERE {where} GROUP BY task, status"
        )
        return self.conn.execute(query, params).fetchall()

    def bound_of(self, task: str, last_n: int) -> Bound | None:
        row = self.conn.execute(
            f"SELECT scheduled_for_us, attempt FROM {self.runs} WHERE task = ?{self.since} "  # noqa: S608 - quoted table names; values are bound
            "ORDER BY scheduled_for_us DESC, attempt DESC LIMIT 1 OFFSET ?",
            (task, *self.since_params, last_n - 1),
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def values(
        self, task: str, durations: bool, descending: bool, offset: int, limit: int, bound: Bound | None
    ) -> list[Any]:
        value = _DURATION if durations else _LATENESS
        where = f"task = ? AND {value} IS NOT NULL{self.since}"
        params: list[Any] = [task, *self.since_params]
        if durations:
            where += " AND status = ?"
            params.append(RunStatus.SUCCEEDED.value)
        if bound is not None:
            where += " AND (scheduled_for_us, attempt) >= (?, ?)"
            params.extend(bound)
        order = "DESC" if descending else "ASC"
        query = f"SELECT {value} FROM {self.runs} WHERE {where} ORDER BY {value} {order} LIMIT ? OFFSET ?"  # noqa: S608 - quoted table names; values are bound
        return [row[0] for row in self.conn.execute(query, (*params, limit, offset))]


def _iso(us: int | None) -> str | None:
    return None if us is None else from_utc_us(int(us)).isoformat()


def _moment(value: int | None) -> _dt.datetime | None:
    return None if value is None else from_utc_us(int(value))


def _run_record(row: Sequence[Any]) -> RunRecord:
    """A ``RunRecord`` from a runs row, as ``_cluster_sql.run_record`` builds it."""
    task, scheduled, attempt, status, started, finished, error, node_id, output, trigger = row
    return RunRecord(
        task,
        from_utc_us(int(scheduled)),
        attempt,
        RunStatus(status),
        _moment(started),
        _moment(finished),
        error,
        node_id,
        output,
        trigger or "schedule",
    )
