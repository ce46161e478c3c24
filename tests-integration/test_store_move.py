"""Moving from PostgreSQL to Redis: the copy docs/distributed.md shows keeps tasks, history and stats.

After the copy, a scheduler given the Redis URL instead of the PostgreSQL one
(the one thing a user changes) loads the same tasks with the same state.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from autocron_core import AutoCron
from autocron_core.records import RunRecord, RunStatus
from autocron_store import RedisStore, SqlStore

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

T0 = _dt.datetime(2026, 3, 1, 8, 0, tzinfo=_dt.timezone.utc)


def test_tasks_history_and_stats_move_from_postgres_to_redis(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """load_tasks/save_task and finish_runs(history) copy everything; the Redis URL then serves the same."""
    script = tmp_path / "job.py"
    script.write_text("print('job')\n", encoding="utf-8")
    defining = AutoCron(timezone="UTC", store=postgres_url, log_level=None)
    defining.add_task("backup", command=["true"], every="1h", retries=2)
    defining.add_task("report", script=str(script), cron="0 6 * * 1-5", timezone="Europe/Paris")
    defining.pause_task("report")
    defining.close()
    old = SqlStore(postgres_url)
    statuses = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SUCCEEDED, RunStatus.ABANDONED]
    for hour in range(40):
        when = T0 + _dt.timedelta(hours=hour)
        start = when + _dt.timedelta(milliseconds=hour * 7)
        record = RunRecord("backup", when, 1, RunStatus.RUNNING, start, None, None, "n1")
        assert old.claim_run(record)
        old.finish_run(record.finished(statuses[hour % 4], start + _dt.timedelta(seconds=hour % 9 + 1)))

    new = RedisStore(redis_url)
    try:
        for task in old.load_tasks():
            new.save_task(task)
        new.finish_runs(old.history(None, limit=10**9))

        assert [t.to_dict() for t in new.load_tasks()] == [t.to_dict() for t in old.load_tasks()]
        assert new.history(None, 10**9) == old.history(None, 10**9)
        (mine,) = new.stats("backup")
        (theirs,) = old.stats("backup")
        assert mine == theirs
        (window,) = new.stats("backup", last_n=10)
        (expected,) = old.stats("backup", last_n=10)
        for field, value in expected._asdict().items():  # percentiles differ in the last float bit
            assert getattr(window, field) == (pytest.approx(value) if isinstance(value, float) else value)
        moved = AutoCron(timezone="UTC", store=redis_url, log_level=None)
        try:
            assert sorted(moved.list_tasks(), key=lambda t: t.name)[1].paused
            assert [t.name for t in moved.list_tasks()] == ["backup", "report"]
        finally:
            moved.close()
    finally:
        new.close()
        old.close()
