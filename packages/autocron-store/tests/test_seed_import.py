"""Importing what the original AutoCron left behind: its database, task files and analytics.json."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core.errors import ConfigError, StoreError
from autocron_core.records import RunStatus
from autocron_store import SqlStore
from autocron_store.seed_import import (
    SEED_NODE,
    SeedDatabaseError,
    import_seed,
    move_aside,
    read_seed,
    seed_database_counts,
)

from .seed_fixtures import make_analytics, make_seed_db, seed_payload

UTC = _dt.timezone.utc
NOW = _dt.datetime(2025, 11, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, str]:
    """Two scripts the original's tasks run."""
    paths = {}
    for name in ("backup", "report"):
        path = tmp_path / f"{name}.py"
        path.write_text("print('ok')\n")
        paths[name] = str(path)
    return paths


def _executions() -> list[dict[str, Any]]:
    return [
        {
            "task_name": "backup",
            "timestamp": "2025-11-03T09:10:02.000000+00:00",
            "success": True,
            "duration": 2.0,
        },
        {
            "task_name": "backup",
            "timestamp": "2025-11-03T09:15:01.500000+00:00",
            "success": False,
            "duration": 1.5,
            "error": "backup.py exited with code 3",
            "retry_count": 3,
        },
        {"task_name": "report", "timestamp": "2025-11-03T06:00:04+00:00", "success": True, "duration": 4.0},
    ]


@pytest.fixture
def seed_db(tmp_path: Path, scripts: dict[str, str]) -> Path:
    """The original's database with a paused interval task, a cron task and three executions."""
    tasks = [
        seed_payload("backup", scripts["backup"]),
        seed_payload(
            "report",
            scripts["report"],
            schedule_type="cron",
            schedule_value="0 6 * * 1-5",
            enabled=False,
            retries=0,
            timeout=None,
            run_count=7,
            fail_count=0,
        ),
    ]
    return make_seed_db(tmp_path / "seed.db", tasks, _executions())


@pytest.fixture
def target(tmp_path: Path) -> SqlStore:
    """An empty AutoCron database that keeps every run record."""
    store = SqlStore(f"sqlite:///{tmp_path / 'new.db'}", keep_days=0)
    yield store
    store.close()


def test_database_tasks_keep_definition_and_state(
    seed_db: Path, target: SqlStore, scripts: dict[str, str]
) -> None:
    """Tasks from the original's database come back with their script, schedule, retries and counters."""
    report = import_seed(read_seed(seed_db), target, now=NOW)
    assert report.kind == "database"
    assert sorted(report.imported) == ["backup", "report"]
    tasks = {task.name: task for task in target.load_tasks()}
    backup, rep = tasks["backup"], tasks["report"]
    assert backup.target == scripts["backup"]
    assert backup.schedule.to_config() == {"every": "5m"}
    assert (backup.policy.retries, backup.policy.retry_delay, backup.policy.timeout) == (2, 30, 120)
    assert (backup.run_count, backup.fail_count, backup.paused) == (41, 3, False)
    assert backup.next_run == _dt.datetime(2025, 11, 3, 9, 20, 0, 500000, tzinfo=UTC)
    assert backup.task_id == "0b6f-backup"
    assert rep.schedule.to_config()["cron"] == "0 6 * * 1-5"
    assert rep.paused is True
    assert rep.run_count == 7


def test_database_executions_become_run_history(seed_db: Path, target: SqlStore) -> None:
    """Each execution of the original is one finished run: started = end - duration, status, error."""
    report = import_seed(read_seed(seed_db), target, now=NOW)
    assert report.runs_imported == 3
    failed, succeeded = target.history("backup")
    assert failed.status is RunStatus.FAILED
    assert failed.error == "backup.py exited with code 3"
    assert failed.finished_at == _dt.datetime(2025, 11, 3, 9, 15, 1, 500000, tzinfo=UTC)
    assert failed.started_at == failed.scheduled_for == _dt.datetime(2025, 11, 3, 9, 15, 0, tzinfo=UTC)
    assert (failed.attempt, failed.node_id) == (1, SEED_NODE)
    assert succeeded.status is RunStatus.SUCCEEDED
    assert succeeded.duration == 2.0
    # The last execution's outcome becomes the task's last status.
    assert {t.name: t.last_status for t in target.load_tasks()} == {"backup": "failed", "report": "succeeded"}


def test_importing_twice_adds_nothing(seed_db: Path, target: SqlStore) -> None:
    """A second import of the same file skips the tasks and finds every run already there."""
    import_seed(read_seed(seed_db), target, now=NOW)
    again = import_seed(read_seed(seed_db), target, now=NOW)
    assert again.imported == []
    assert [name for name, _ in again.skipped] == ["backup", "report"]
    assert "already in the store" in again.skipped[0][1]
    assert (again.runs_imported, again.runs_present) == (0, 3)
    assert len(target.history()) == 3


def test_replace_saves_over_existing_tasks(seed_db: Path, target: SqlStore, scripts: dict[str, str]) -> None:
    """With replace=True a task of the same name is overwritten by the original's definition."""
    from autocron_core.task import build_task

    target.save_task(build_task(name="backup", script=scripts["report"], every="1h"))
    report = import_seed(read_seed(seed_db), target, replace=True, now=NOW)
    assert report.replaced == ["backup"]
    (backup,) = [t for t in target.load_tasks() if t.name == "backup"]
    assert backup.target == scripts["backup"]


def test_dry_run_writes_nothing(seed_db: Path, target: SqlStore) -> None:
    """A dry run counts what would be imported and leaves the store as it was."""
    report = import_seed(read_seed(seed_db), target, dry_run=True, now=NOW)
    assert (sorted(report.imported), report.runs_imported) == (["backup", "report"], 3)
    assert target.load_tasks() == []
    assert target.history() == []


def test_runs_the_store_would_prune_are_left_out(seed_db: Path, tmp_path: Path) -> None:
    """Executions older than the store's keep_days are counted as expired, not imported."""
    store = SqlStore(f"sqlite:///{tmp_path / 'kept.db'}", keep_days=1)
    try:
        report = import_seed(read_seed(seed_db), store, now=_dt.datetime(2025, 11, 4, 7, 0, tzinfo=UTC))
    finally:
        store.close()
    assert (report.runs_imported, report.runs_expired) == (2, 1)


def test_missing_script_is_reported_and_the_rest_imported(
    tmp_path: Path, target: SqlStore, scripts: dict[str, str]
) -> None:
    """A task whose script is gone is listed as a problem with the reason; the others are imported."""
    db = make_seed_db(
        tmp_path / "gone.db",
        [seed_payload("backup", scripts["backup"]), seed_payload("gone", str(tmp_path / "deleted.py"))],
        [],
    )
    report = import_seed(read_seed(db), target, now=NOW)
    assert report.imported == ["backup"]
    ((what, why),) = report.problems
    assert what == "task 'gone'"
    assert "deleted.py" in why


def test_analytics_json_history_becomes_runs(tmp_path: Path, target: SqlStore) -> None:
    """A v1.2 analytics.json (naive local times) becomes run records of its tasks."""
    local = _dt.datetime(2025, 10, 30, 14, 0, 5)
    path = make_analytics(
        tmp_path / "analytics.json",
        {
            "nightly": [
                {"timestamp": local.isoformat(), "success": True, "duration": 5.0},
                {
                    "timestamp": (local + _dt.timedelta(days=1)).isoformat(),
                    "success": False,
                    "duration": 0.25,
                    "error": "boom",
                    "retry_count": 1,
                },
            ]
        },
    )
    data = read_seed(path)
    assert data.kind == "analytics"
    report = import_seed(data, target, now=NOW)
    assert report.runs_imported == 2
    failed, succeeded = target.history("nightly")
    assert succeeded.finished_at == local.astimezone().astimezone(UTC)
    assert succeeded.started_at == succeeded.finished_at - _dt.timedelta(seconds=5)
    assert (failed.status, failed.error) == (RunStatus.FAILED, "boom")


def test_seed_task_file_is_read_by_the_task_file_reader(tmp_path: Path, scripts: dict[str, str]) -> None:
    """A task file the original saved (version "1.0") is imported as tasks."""
    path = tmp_path / "tasks.json"
    path.write_text(
        json.dumps({"version": "1.0", "saved_at": "x", "tasks": [seed_payload("backup", scripts["backup"])]})
    )
    data = read_seed(path)
    assert (data.kind, [t.name for t in data.tasks]) == ("task file", ["backup"])


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", b"hello"),
        ("list.json", b"[1, 2]"),
        ("config.json", b'{"tasks_per_day": 3}'),
        ("broken.json", b"{nope"),
    ],
)
def test_a_file_of_none_of_the_three_formats_is_refused(tmp_path: Path, name: str, content: bytes) -> None:
    """A file that is no database, task file or analytics.json gets one clear ConfigError naming it."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_seed(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_an_autocron_database_is_not_imported(tmp_path: Path) -> None:
    """Our own database is refused as an import source, with a hint to use it with --store."""
    path = tmp_path / "ours.db"
    SqlStore(f"sqlite:///{path}").close()
    with pytest.raises(ConfigError, match="--store"):
        read_seed(path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sql_store_refuses_the_seed_database_and_leaves_it_untouched(seed_db: Path) -> None:
    """Opening the original's database as a store fails with one line naming it and the import command."""
    before = _digest(seed_db)
    with pytest.raises(SeedDatabaseError) as info:
        SqlStore(f"sqlite:///{seed_db}")
    message = str(info.value)
    assert isinstance(info.value, StoreError)
    assert str(seed_db) in message
    assert "2 tasks, 3 executions" in message
    assert f"autocron --store {seed_db} import" in message
    assert _digest(seed_db) == before
    tables = {
        r[0] for r in sqlite3.connect(seed_db).execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert tables == {"tasks", "executions", "sqlite_sequence"}


def test_seed_database_at_the_default_path_names_autocron_import(
    autocron_home: Path, scripts: dict[str, str]
) -> None:
    """At the default path the message gives the bare 'autocron import' command."""
    make_seed_db(autocron_home / "autocron.db", [seed_payload("backup", scripts["backup"])], [])
    with pytest.raises(
        SeedDatabaseError, match=r"run 'autocron import' to move it to autocron\.db\.seed-backup-"
    ):
        SqlStore()


def test_move_aside_keeps_a_self_contained_backup(seed_db: Path) -> None:
    """The original's file moves to PATH.seed-backup-<date> with its WAL folded in; the path is free."""
    backup = move_aside(str(seed_db), _dt.datetime(2025, 11, 4, 12, 30, 0))
    assert backup == f"{seed_db}.seed-backup-20251104-123000"
    assert not seed_db.exists()
    assert not os.path.exists(f"{seed_db}-wal")
    assert seed_database_counts(backup) == (2, 3)
    make_seed_db(seed_db, [], [])  # the same second again: the first backup is never overwritten
    assert move_aside(str(seed_db), _dt.datetime(2025, 11, 4, 12, 30, 0)) == f"{backup}-2"


_ISO = st.datetimes(
    min_value=_dt.datetime(1970, 1, 2), max_value=_dt.datetime(9999, 12, 30), timezones=st.just(UTC)
).map(lambda d: d.isoformat())
_ROW = st.fixed_dictionaries(
    {
        "task_name": st.one_of(st.sampled_from(["backup", "report"]), st.text(max_size=210)),
        "timestamp": st.one_of(_ISO, st.text(max_size=30)),
        "success": st.booleans(),
        "duration": st.one_of(st.floats(min_value=0, max_value=1e308), st.just(0.0)),
        "error": st.one_of(st.none(), st.text(max_size=50)),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, max_size=12))
def test_hostile_execution_rows_become_runs_or_problems(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Any]
) -> None:
    """Every execution row is either one run record or one named problem; a second import adds nothing."""
    folder = tmp_path_factory.mktemp("prop")
    data = read_seed(make_seed_db(folder / "seed.db", [], rows))
    assert len(data.runs) + len(data.problems) == len(rows)
    store = SqlStore(f"sqlite:///{folder / 'new.db'}", keep_days=0, keep_runs=0)
    try:
        first = import_seed(data, store, now=NOW)
        second = import_seed(data, store, now=NOW)
        assert first.runs_imported + first.runs_present == len(data.runs)
        assert second.runs_imported == 0
        assert len(store.history(limit=100)) == first.runs_imported
    finally:
        store.close()


def test_fields_not_carried_over_are_named_with_their_task(tmp_path: Path, scripts: dict[str, str]) -> None:
    """A field the reader cannot carry over is reported with its task, never under a temporary file name."""
    db = make_seed_db(tmp_path / "odd.db", [seed_payload("backup", scripts["backup"], unknown_knob=5)], [])
    data = read_seed(db)
    assert [t.name for t in data.tasks] == ["backup"]
    assert any("'backup'" in note and "unknown_knob" in note for note in data.notes), data.notes
    assert not any("autocron-import-" in note for note in data.notes)
