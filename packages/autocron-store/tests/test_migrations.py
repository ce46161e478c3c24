"""SqlStore schema migrations: version 1 databases open as version 2 and keep every row."""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from autocron_core.records import RunRecord, RunStatus
from autocron_core.task import build_task
from autocron_store import SqlStore
from autocron_store._schema import SCHEMA_VERSION

UTC = _dt.timezone.utc
T0 = _dt.datetime(2026, 1, 1, tzinfo=UTC)
T0_US = 1_767_225_600_000_000
MINUTE_US = 60_000_000

#: The schema that autocron-store wrote at version 1 on SQLite, frozen here so
#: this test keeps checking the upgrade of real old files whatever build_tables becomes.
V1_SQLITE = """
CREATE TABLE {p}tasks (
    name VARCHAR(200) NOT NULL, task_id VARCHAR(64) NOT NULL, kind VARCHAR(16) NOT NULL,
    definition TEXT NOT NULL, next_run_us BIGINT, last_run_us BIGINT, run_count INTEGER NOT NULL,
    fail_count INTEGER NOT NULL, paused BOOLEAN NOT NULL, last_status VARCHAR(16),
    updated_at_us BIGINT NOT NULL, PRIMARY KEY (name)
);
CREATE TABLE {p}runs (
    task VARCHAR(200) NOT NULL, scheduled_for_us BIGINT NOT NULL, attempt INTEGER NOT NULL,
    status VARCHAR(16) NOT NULL, started_at_us BIGINT, finished_at_us BIGINT, error TEXT,
    node_id VARCHAR(255), output TEXT, lease_expires_at_us BIGINT,
    CONSTRAINT {p}runs_claim_key PRIMARY KEY (task, scheduled_for_us, attempt)
);
CREATE INDEX {p}runs_scheduled ON {p}runs (scheduled_for_us);
CREATE INDEX {p}runs_leases ON {p}runs (status, lease_expires_at_us);
CREATE TABLE {p}nodes (
    node_id VARCHAR(255) NOT NULL, started_at_us BIGINT NOT NULL, heartbeat_at_us BIGINT NOT NULL,
    PRIMARY KEY (node_id)
);
CREATE TABLE {p}schema_version (
    id INTEGER NOT NULL, version INTEGER NOT NULL, updated_at_us BIGINT NOT NULL, PRIMARY KEY (id)
);
INSERT INTO {p}schema_version VALUES (1, 1, 0);
"""

STATS_INDEXES = {"runs_durations", "runs_lateness"}


def _v1_rows() -> list[tuple[Any, ...]]:
    """Run rows of a version 1 file: 21 successes lasting 0..20 s, started 1 s late, and one failure."""
    rows: list[tuple[Any, ...]] = []
    for i in range(21):
        scheduled = T0_US + i * MINUTE_US
        started = scheduled + 1_000_000
        rows.append(
            ("job", scheduled, 1, "succeeded", started, started + i * 1_000_000, None, "n1", f"out {i}")
        )
    scheduled = T0_US + 30 * MINUTE_US
    rows.append(("job", scheduled, 1, "failed", scheduled, scheduled + 5, "boom", "n1", None))
    return rows


def _write_v1_sqlite(path: Path, prefix: str = "") -> None:
    """An SQLite file exactly as version 1 left it: tables, two indexes, one task and 22 runs."""
    data = build_task("job", command=["true"], every="1m", timezone="UTC").to_dict()
    data.pop("state", None)
    task_id = data.pop("task_id")
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SQLITE.format(p=prefix))
        conn.execute(
            # The prefix is this test's own constant; every value is bound.
            f"INSERT INTO {prefix}tasks VALUES (?, ?, 'command', ?, NULL, ?, 22, 1, 0, 'failed', 0)",  # noqa: S608
            ("job", task_id, json.dumps(data), T0_US + 30 * MINUTE_US),
        )
        conn.executemany(f"INSERT INTO {prefix}runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)", _v1_rows())  # noqa: S608
    conn.close()


def _sqlite_indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    conn.close()
    return {row[0] for row in rows}


def _check_job_stats(store: SqlStore) -> None:
    """The figures _v1_rows gives, the same with or without a window."""
    (job,) = store.stats("job")
    assert (job.runs, job.succeeded, job.failed) == (22, 21, 1)
    assert job.duration_p50 == pytest.approx(10.0)
    assert job.duration_p95 == pytest.approx(19.0)
    assert job.duration_max == pytest.approx(20.0)
    assert job.lateness_p50 == pytest.approx(1.0)
    assert job.last_success == T0 + _dt.timedelta(minutes=20, seconds=21)
    (last,) = store.stats("job", last_n=2)
    assert (last.succeeded, last.failed) == (1, 1)
    assert last.duration_p50 == pytest.approx(20.0)


def test_new_sqlite_database_gets_the_current_version_and_stats_indexes(tmp_path: Path) -> None:
    """A new database is created at the current version with the stats indexes."""
    path = tmp_path / "a.db"
    SqlStore(f"sqlite:///{path}").close()
    assert _sqlite_indexes(path) >= STATS_INDEXES
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 4
    conn.close()


def test_version_1_sqlite_file_migrates_and_keeps_its_data(tmp_path: Path) -> None:
    """A version 1 file is upgraded at open: indexes added, version 2, every task and run kept."""
    path = tmp_path / "old.db"
    _write_v1_sqlite(path)
    assert not STATS_INDEXES & _sqlite_indexes(path)
    store = SqlStore(f"sqlite:///{path}", keep_runs=None, keep_days=None)
    try:
        assert [t.name for t in store.load_tasks()] == ["job"]
        assert store.load_errors == []
        history = store.history("job", 100)
        assert len(history) == 22 and history[0].status is RunStatus.FAILED
        assert history[-1].output == "out 0"
        _check_job_stats(store)
    finally:
        store.close()
    assert _sqlite_indexes(path) >= STATS_INDEXES
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 22
    conn.close()
    reopened = SqlStore(f"sqlite:///{path}", keep_runs=None, keep_days=None)
    _check_job_stats(reopened)
    reopened.close()


def test_version_1_file_with_a_table_prefix_migrates(tmp_path: Path) -> None:
    """The migration names its indexes after the store's table prefix."""
    path = tmp_path / "prefixed.db"
    _write_v1_sqlite(path, prefix="ac_")
    store = SqlStore(f"sqlite:///{path}?prefix=ac_", keep_runs=None, keep_days=None)
    _check_job_stats(store)
    store.close()
    assert {"ac_runs_durations", "ac_runs_lateness"} <= _sqlite_indexes(path)


def test_sqlite_stats_read_the_covering_indexes(tmp_path: Path) -> None:
    """SQLite answers the counts and percentile queries from the stats indexes alone."""
    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}")
    queries = {
        "runs_durations": "SELECT task, status, count(*), max(finished_at_us - started_at_us) FROM runs "
        "GROUP BY task, status",
        "runs_lateness": "SELECT started_at_us - scheduled_for_us FROM runs WHERE task = 'x' AND "
        "started_at_us - scheduled_for_us IS NOT NULL ORDER BY started_at_us - scheduled_for_us LIMIT 2",
    }
    with store._engine.connect() as conn:
        for index, query in queries.items():
            plan = " ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
            assert f"COVERING INDEX {index}" in plan, plan
    store.close()


# -- PostgreSQL and MariaDB: downgrade a fresh database to version 1, then reopen -------------
@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("mysql", marks=pytest.mark.mysql)])  # fmt: skip
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL schema or MariaDB database."""
    yield request.getfixturevalue(f"{request.param}_url")


def _fill(store: SqlStore) -> None:
    for row in _v1_rows():
        task, scheduled, attempt, status, started, finished, error, node, output = row
        us = _dt.timedelta(microseconds=1)
        store.finish_run(
            RunRecord(
                task, T0 + (scheduled - T0_US) * us, attempt, RunStatus(status), T0 + (started - T0_US) * us,
                T0 + (finished - T0_US) * us, error, node, output,
            )
        )  # fmt: skip


def test_version_1_server_database_migrates_and_keeps_its_data(server_url: str) -> None:
    """On PostgreSQL and MariaDB a version 1 database opens as version 2 with its rows."""
    store = SqlStore(server_url, keep_runs=None, keep_days=None)
    _fill(store)
    runs, version = store.tables.runs, store.tables.version
    mariadb = store.dialect != "postgresql"
    with store._engine.begin() as conn:
        if mariadb:
            # What version 1 had: no stats indexes, no generated columns. The duration
            # column stays, as a migration interrupted after its first ALTER would leave it.
            conn.execute(text(f"DROP INDEX runs_durations ON {runs.name}"))
            conn.execute(text(f"DROP INDEX runs_lateness ON {runs.name}"))
            conn.execute(text(f"ALTER TABLE {runs.name} DROP COLUMN lateness_us"))
        conn.execute(version.update().values(version=1))
    store.close()
    reopened = SqlStore(server_url, keep_runs=None, keep_days=None)
    try:
        with reopened._engine.connect() as conn:
            assert conn.execute(select(version.c.version)).scalar() == SCHEMA_VERSION
            assert conn.execute(select(runs.c.task)).all() == [("job",)] * 22
            if mariadb:
                names = {index["name"] for index in inspect(conn).get_indexes(runs.name)}
                assert names >= STATS_INDEXES
                columns = {column["name"] for column in inspect(conn).get_columns(runs.name)}
                assert {"duration_us", "lateness_us"} <= columns
        _check_job_stats(reopened)
    finally:
        reopened.close()


@pytest.mark.mysql
def test_version_2_mariadb_tables_get_a_binary_collation(mysql_url: str) -> None:
    """A version 2 MariaDB database (case-insensitive) opens as version 3: Backup and backup differ."""
    store = SqlStore(mysql_url)
    store.save_task(build_task("Backup", command=["true"], every="1h"))
    with store._engine.begin() as conn:
        for table in store.tables.metadata.sorted_tables:  # what version 2 created on a default server
            conn.execute(
                text(f"ALTER TABLE {table.name} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            )
        conn.execute(store.tables.version.update().values(version=2))
    store.close()
    reopened = SqlStore(mysql_url)
    try:
        reopened.save_task(build_task("backup", command=["false"], every="1h"))
        assert sorted(t.name for t in reopened.load_tasks()) == ["Backup", "backup"]
        with reopened._engine.connect() as conn:
            assert conn.execute(select(reopened.tables.version.c.version)).scalar() == SCHEMA_VERSION == 4
            collations = (
                conn.execute(
                    text(
                        "SELECT DISTINCT table_collation FROM information_schema.tables "
                        "WHERE table_schema = DATABASE()"
                    )
                )
                .scalars()
                .all()
            )
        assert collations == ["utf8mb4_bin"]
    finally:
        reopened.close()


def test_version_1_file_reads_old_runs_as_schedule_and_keeps_new_triggers(tmp_path: Path) -> None:
    """Version 4 adds runs.run_trigger: old rows read as ``schedule``; a backfill run keeps its trigger."""
    from autocron_store._reads import SqliteReader, open_reader

    path = tmp_path / "old.db"
    _write_v1_sqlite(path)
    store = SqlStore(f"sqlite:///{path}", keep_runs=None, keep_days=None)
    try:
        assert {r.trigger for r in store.history("job", 100)} == {"schedule"}
        moment = T0 + _dt.timedelta(days=3)
        record = RunRecord("job", moment, 1, RunStatus.RUNNING, moment, None, None, "n1", None, "backfill")
        assert store.claim_run(record)
        store.finish_run(record.finished(RunStatus.SUCCEEDED, moment))
        assert store.history("job", 1)[0].trigger == "backfill"
    finally:
        store.close()
    reader = open_reader(f"sqlite:///{path}")
    assert isinstance(reader, SqliteReader)
    try:
        newest = reader.history("job", 2)
        assert [r.trigger for r in newest] == ["backfill", "schedule"]
    finally:
        reader.close()


def test_version_3_server_database_gets_the_trigger_column(server_url: str) -> None:
    """On PostgreSQL and MariaDB a version 3 database gains run_trigger; its rows read as ``schedule``."""
    store = SqlStore(server_url, keep_runs=None, keep_days=None)
    _fill(store)
    runs, version = store.tables.runs, store.tables.version
    with store._engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {runs.name} DROP COLUMN run_trigger"))
        conn.execute(version.update().values(version=3))
    store.close()
    reopened = SqlStore(server_url, keep_runs=None, keep_days=None)
    try:
        with reopened._engine.connect() as conn:
            assert conn.execute(select(version.c.version)).scalar() == SCHEMA_VERSION == 4
        assert {r.trigger for r in reopened.history("job", 100)} == {"schedule"}
    finally:
        reopened.close()
