"""The read-only SQLite reader answers exactly as SqlStore does, from indexes, without SQLAlchemy."""

from __future__ import annotations

import datetime as _dt
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import RunRecord, RunStatus, build_task
from autocron_core.errors import StoreError
from autocron_store import SqlStore
from autocron_store._cluster_sql import ANCHOR_KIND
from autocron_store._reads import _ANCHOR_KIND, READABLE_VERSIONS, SqliteReader, open_reader
from autocron_store._schema import SCHEMA_VERSION

T0 = _dt.datetime(2026, 3, 1, tzinfo=_dt.timezone.utc)
_DONE = [s for s in RunStatus if s is not RunStatus.RUNNING]


def _store(path: Path, prefix: str = "") -> SqlStore:
    query = f"?prefix={prefix}" if prefix else ""
    return SqlStore(f"sqlite:///{path}{query}", keep_runs=None, keep_days=None)


def _reader(path: Path, prefix: str = "") -> SqliteReader:
    query = f"?prefix={prefix}" if prefix else ""
    reader = open_reader(f"sqlite:///{path}{query}")
    assert reader is not None
    return reader


def _fill(store: SqlStore, tasks: int = 3, runs: int = 40) -> None:
    for t in range(tasks):
        store.save_task(build_task(f"job-{t}", command=["true"], every="1m", timezone="UTC"))
        for i in range(runs):
            scheduled = T0 + _dt.timedelta(minutes=i)
            started = scheduled + _dt.timedelta(seconds=(i * 7 + t) % 5)
            status = _DONE[(i + t) % len(_DONE)]
            finished = started + _dt.timedelta(seconds=(i * 13 + t) % 31)
            store.claim_run(
                RunRecord(f"job-{t}", scheduled, 1, status, started, finished, "boom", "n1", "out")
            )


def _same(store: SqlStore, reader: SqliteReader) -> None:
    """Every read gives the same answer through both."""
    assert [t.to_dict() for t in reader.load_tasks()] == [t.to_dict() for t in store.load_tasks()]
    assert reader.load_errors == store.load_errors
    for name in (None, "job-0", "job-2", "nobody"):
        for limit in (1, 7, 1000):
            assert reader.history(name, limit) == store.history(name, limit)
    since = T0 + _dt.timedelta(minutes=11)
    for kwargs in ({}, {"since": since}, {"last_n": 5}, {"last_n": 1, "since": since}, {"last_n": 0}):
        assert reader.stats(**kwargs) == store.stats(**kwargs), kwargs
        assert reader.stats("job-1", **kwargs) == store.stats("job-1", **kwargs), kwargs
    assert reader.stats("nobody") == store.stats("nobody")


def test_reader_matches_the_sql_store(tmp_path: Path) -> None:
    """`autocron list`, `history` and `stats` show what they showed through SqlStore."""
    store = _store(tmp_path / "a.db")
    _fill(store)
    store.save_task(build_task("london", command=["true"], every="1h", timezone="Europe/London"))
    _same(store, _reader(tmp_path / "a.db"))
    store.close()


def test_reader_with_a_table_prefix(tmp_path: Path) -> None:
    """A store whose tables carry a prefix (?prefix=) reads the same through the reader."""
    store = _store(tmp_path / "p.db", prefix="ac_")
    _fill(store, tasks=2, runs=10)
    _same(store, _reader(tmp_path / "p.db", prefix="ac_"))
    store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    runs=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "Ä", "a b"]),
            st.integers(0, 500),  # minute of the occurrence
            st.integers(1, 3),  # attempt
            st.sampled_from(_DONE),
            st.none() | st.integers(0, 10**6),  # lateness, ms (None: never started)
            st.none() | st.integers(0, 10**8),  # duration, ms (None: no finish)
        ),
        max_size=60,
    ),
    last_n=st.none() | st.integers(1, 30),
    since_minute=st.none() | st.integers(0, 500),
)
def test_reader_stats_and_history_equal_the_store_for_any_history(
    tmp_path_factory: pytest.TempPathFactory,
    runs: list[tuple[Any, ...]],
    last_n: int | None,
    since_minute: int | None,
) -> None:
    """Whatever the history holds, stats and history read the same through both paths."""
    path = tmp_path_factory.mktemp("prop") / "h.db"
    store = _store(path)
    for task, minute, attempt, status, late_ms, took_ms in runs:
        scheduled = T0 + _dt.timedelta(minutes=minute)
        started = None if late_ms is None else scheduled + _dt.timedelta(milliseconds=late_ms)
        finished = (
            None if started is None or took_ms is None else started + _dt.timedelta(milliseconds=took_ms)
        )
        store.claim_run(RunRecord(task, scheduled, attempt, status, started, finished, None, "n", None))
    reader = _reader(path)
    since = None if since_minute is None else T0 + _dt.timedelta(minutes=since_minute)
    try:
        assert reader.stats(since=since, last_n=last_n) == store.stats(since=since, last_n=last_n)
        assert reader.stats("a", since=since, last_n=last_n) == store.stats("a", since=since, last_n=last_n)
        assert reader.history(None, 25) == store.history(None, 25)
        assert reader.history("a", 25) == store.history("a", 25)
    finally:
        reader.close()
        store.close()


def test_broken_task_rows_are_reported_as_the_store_does(tmp_path: Path) -> None:
    """A task row that cannot be rebuilt is listed in load_errors, the others still load."""
    store = _store(tmp_path / "b.db")
    _fill(store, tasks=2, runs=1)
    with sqlite3.connect(tmp_path / "b.db") as conn:
        conn.execute("UPDATE tasks SET definition = '{garbled' WHERE name = 'job-1'")
    reader = _reader(tmp_path / "b.db")
    assert [t.name for t in reader.load_tasks()] == [t.name for t in store.load_tasks()] == ["job-0"]
    assert [n for n, _ in reader.load_errors] == [n for n, _ in store.load_errors] == ["job-1"]
    store.close()


def test_reader_uses_the_indexes(tmp_path: Path) -> None:
    """History and percentile reads seek the claim key and the stats indexes: no table scan."""
    _store(tmp_path / "i.db").close()
    reader = _reader(tmp_path / "i.db")
    plans: list[str] = []
    conn = reader._conn
    assert conn is not None
    real = conn

    class Spy:
        def execute(self, sql: str, params: Any = ()) -> Any:
            if sql.lstrip().upper().startswith("SELECT") and "sqlite_master" not in sql:
                rows = real.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
                plans.append(f"{sql}\n  -> " + " / ".join(str(r[-1]) for r in rows))
            return real.execute(sql, params)

    reader._conn = Spy()  # type: ignore[assignment]
    reader.history("job", 5)
    reader.history(None, 5)
    reader.stats()  # no runs: no percentile queries; ask for them directly below
    from autocron_store._reads import _Queries

    queries = _Queries(Spy(), '"runs"', None)  # type: ignore[arg-type]
    queries.values("job", True, False, 0, 2, None)
    queries.values("job", False, True, 0, 2, None)
    queries.bound_of("job", 3)
    queries.values("job", False, True, 0, 2, (1, 1))  # a last_n window: a key range of the task
    joined = "\n".join(plans)
    assert "INDEX sqlite_autoindex_runs_1 (task=?)" in plans[0], plans[0]
    assert "USING INDEX runs_scheduled" in plans[1], plans[1]
    assert "COVERING INDEX runs_durations" in plans[2], plans[2]
    assert "COVERING INDEX runs_durations (task=? AND status=?)" in plans[3], plans[3]
    assert "COVERING INDEX runs_lateness (task=?)" in plans[4], plans[4]
    assert "INDEX sqlite_autoindex_runs_1 (task=?)" in plans[5], plans[5]
    assert "SEARCH runs USING INDEX sqlite_autoindex_runs_1 (task=? AND" in plans[6], plans[6]
    assert "SCAN runs\n" not in joined + "\n" and not any(p.endswith("SCAN runs") for p in plans), joined


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql://u@h/db",
        "tasks.yaml",
        "sqlite:///{d}/missing.db",
        "sqlite:///{d}/not-sqlite.db",
        "sqlite:///{d}/old.db",
        "sqlite:///{d}/old.db?timeout=3",
        "sqlite:///{d}/old.db?keep_runs=lots",
    ],
)
def test_reader_leaves_what_it_cannot_vouch_for_to_sql_store(tmp_path: Path, url: str) -> None:
    """Memory, servers, missing, foreign or older databases and driver options open a SqlStore instead."""
    (tmp_path / "not-sqlite.db").write_text("hello")
    if "old.db" in url:
        store = _store(tmp_path / "old.db")
        store.close()
        with sqlite3.connect(tmp_path / "old.db") as conn:
            conn.execute("UPDATE schema_version SET version = 2")
    assert open_reader(url.format(d=tmp_path)) is None
    assert not (tmp_path / "missing.db").exists()  # the reader never creates a database


def test_reader_writes_nothing(tmp_path: Path) -> None:
    """The reader opens the file read-only: a stray write fails, the store is unchanged."""
    store = _store(tmp_path / "r.db")
    _fill(store, tasks=1, runs=2)
    reader = _reader(tmp_path / "r.db")
    assert reader._conn is not None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._conn.execute("DELETE FROM runs")
    assert len(store.history(None, 100)) == 2
    reader.close()
    reader.close()
    with pytest.raises(StoreError, match="closed"):
        reader.history()
    store.close()


def test_reader_knows_the_current_schema() -> None:
    """The reader is kept in step with the schema and the anchor rows' kind."""
    assert SCHEMA_VERSION in READABLE_VERSIONS
    assert _ANCHOR_KIND == ANCHOR_KIND


def test_reader_imports_no_sqlalchemy(tmp_path: Path) -> None:
    """Reading tasks, history and stats through the reader loads no SQLAlchemy."""
    store = _store(tmp_path / "s.db")
    _fill(store, tasks=1, runs=3)
    store.close()
    url = f"sqlite:///{tmp_path / 's.db'}"
    code = (
        "import sys\nfrom autocron_store._reads import open_reader\n"
        f"r = open_reader({url!r})\n"
        "assert r is not None\nr.load_tasks(); r.history('job-0', 5); r.stats()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'yaml')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
