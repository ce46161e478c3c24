"""Stores filled with a known run history, shared by the dashboard's tests."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autocron_core import MemoryStore, RunRecord, RunStatus, Task, build_task

UTC = _dt.timezone.utc
#: The first occurrence of every crafted history.
T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
#: "Now" for the dashboards under test: after the last crafted run.
NOW = T0 + _dt.timedelta(hours=2)


def record(
    task: str,
    index: int,
    status: RunStatus,
    duration: float = 1.0,
    late: float = 0.0,
    error: str | None = None,
    output: str | None = None,
    every: float = 60.0,
    attempt: int = 1,
) -> RunRecord:
    """The ``index``-th occurrence of ``task`` (every ``every`` seconds from T0) with this outcome."""
    scheduled = T0 + _dt.timedelta(seconds=every * index)
    if status in (RunStatus.SKIPPED, RunStatus.MISSED):
        return RunRecord(task, scheduled, attempt, status, None, scheduled, error or status.value, "node-1")
    started = scheduled + _dt.timedelta(seconds=late)
    finished = started + _dt.timedelta(seconds=duration)
    return RunRecord(task, scheduled, attempt, status, started, finished, error, "node-1", output)


def write(store: Any, records: list[RunRecord]) -> None:
    """Store records the way the scheduler does: claim while running, then finish."""
    for rec in records:
        if rec.started_at is None:
            assert store.claim_run(rec)
            continue
        assert store.claim_run(
            rec._replace(status=RunStatus.RUNNING, finished_at=None, error=None, output=None)
        )
        store.finish_run(rec)


def define(store: Any, name: str, every: str = "1m", paused: bool = False, **options: Any) -> Task:
    """Save a command task's definition with a next run an hour after NOW."""
    task = build_task(name, command=["true"], every=every, timezone="UTC", **options)
    task.paused = paused
    task.next_run_us = int((NOW + _dt.timedelta(minutes=1)).timestamp() * 1_000_000)
    store.save_task(task)
    return task


def fill_known_history(store: Any) -> None:
    """The history the overview tests assert on.

    * ``backup``: 21 successes lasting 1..21 s (p50 11 s, p95 20 s, max 21 s).
    * ``flaky``: S F S F F F (newest last): a streak of 3 failures.
    * ``sluggish``: 5 successes starting 30 s late.
    * ``overlapper``: 5 successes of 90 s on a 1-minute interval, 5 skipped occurrences.
    * ``resting``: paused, 3 successes.
    * ``fresh``: defined, never run.
    """
    S, F, K = RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED
    define(store, "backup")
    write(store, [record("backup", i, S, duration=float(i + 1)) for i in range(21)])
    define(store, "flaky")
    write(
        store,
        [
            record(
                "flaky",
                i,
                status,
                duration=2.0,
                error=None if status is S else f"ValueError: boom {i}\nTraceback line",
            )
            for i, status in enumerate([S, F, S, F, F, F])
        ],
    )
    define(store, "sluggish")
    write(store, [record("sluggish", i, S, duration=1.0, late=30.0) for i in range(5)])
    define(store, "overlapper")
    write(store, [record("overlapper", i, S if i % 2 == 0 else K, duration=90.0) for i in range(10)])
    define(store, "resting", paused=True)
    write(store, [record("resting", i, S) for i in range(3)])
    define(store, "fresh")


def _sql_store(path: Path) -> Any:
    try:
        from autocron_store import SqlStore  # type: ignore[attr-defined]
    except ImportError:
        pytest.skip("autocron_store.SqlStore is not available yet")
    # keep_days=None: the crafted history is dated 2026-01-05 and must not age out under the test.
    return SqlStore(f"sqlite:///{path}", keep_days=None)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty store: the in-memory one, and the SQL store on SQLite when it is installed."""
    made = MemoryStore() if request.param == "memory" else _sql_store(tmp_path / "dash.db")
    yield made
    made.close()


@pytest.fixture
def known(store: Any) -> Any:
    """A store holding ``fill_known_history``."""
    fill_known_history(store)
    return store
