"""Issue 17 (calendars, overlap, reschedule) through the real stores: SQL, YAML/JSON files, two nodes."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autocron_core import AutoCron, RunRecord, RunStatus
from autocron_core.exclusions import Excluding
from autocron_core.testing import FakeClock
from autocron_store.sql import SqlStore

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind (servers skip when not configured)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'issue17b.db'}"
    value: str = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")
    return value


@pytest.fixture
def store(url: str) -> Iterator[SqlStore]:
    """One SQL store on the fresh database."""
    opened = SqlStore(url)
    yield opened
    opened.close()


def test_exclusions_and_new_policies_round_trip_through_sql(store: SqlStore) -> None:
    """A task with a calendar, an anchored interval and buffer_one reads back equal from every SQL store."""
    scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0), store=store)
    scheduler.add_task(
        "report",
        command="true",
        every="2h",
        timezone="Europe/London",
        exclude=["2026-12-24..2026-12-26", "holidays:GB"],
        business_days=True,
        overlap_policy="buffer_one",
    )
    scheduler.add_task("kill", command="sleep 1", cron="*/5 * * * *", overlap_policy="terminate_other")
    (report, kill) = sorted(store.load_tasks(), key=lambda t: t.name, reverse=True)
    original = scheduler.get_task(name="report")
    assert original is not None
    assert isinstance(report.schedule, Excluding) and report.schedule == original.schedule
    assert report.policy.overlap_policy == "buffer_one"
    assert kill.policy.overlap_policy == "terminate_other"


def test_cancelled_runs_are_stored_and_read_back(store: SqlStore) -> None:
    """A run record with the new status 'cancelled' is written and read back as such."""
    claim = RunRecord("job", T0, 1, RunStatus.RUNNING, T0, None, None, "node-a")
    assert store.claim_run(claim)
    store.finish_run(
        claim.finished(RunStatus.CANCELLED, T0 + _dt.timedelta(seconds=3), error="cancelled for X")
    )
    (record,) = store.history("job", 10)
    assert record.status is RunStatus.CANCELLED and record.error == "cancelled for X"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_tasks_keeps_the_calendar(tmp_path: Path, suffix: str) -> None:
    """save_tasks/load_tasks keep exclusions (YAML and JSON), and the loaded task fires the same days."""
    first = AutoCron(timezone="UTC", clock=FakeClock(T0))
    first.add_task("job", func="os:getcwd", cron="0 9 * * *", exclude=["SAT", "2026-01-07"], timezone="UTC")
    path = first.save_tasks(tmp_path / f"tasks{suffix}")
    second = AutoCron(timezone="UTC", clock=FakeClock(T0))
    assert second.load_tasks(path) == 1
    task, before = second.get_task(name="job"), first.get_task(name="job")
    assert task is not None and before is not None and task.schedule == before.schedule
    assert "2026-01-07" in Path(path).read_text()


def test_reschedule_from_another_process_is_taken_in_place(tmp_path: Path) -> None:
    """A scheduler that syncs with the store takes another's reschedule without replacing its task."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    clock = FakeClock(T0)
    daemon = AutoCron(timezone="UTC", clock=clock, store=url)
    daemon.add_task("job", command="true", every="1h")
    task = daemon.get_task(name="job")
    cli = AutoCron(timezone="UTC", clock=clock, store=url)
    cli.reschedule("job", cron="30 12 * * *")
    cli.close()
    assert daemon.sync_with_store() == (1, 0)
    assert daemon.get_task(name="job") is task
    assert task is not None and task.schedule.kind == "cron"
    assert task.next_run == _dt.datetime(2026, 1, 5, 12, 30, tzinfo=_dt.timezone.utc)
    daemon.close()


def test_reschedule_reaches_a_running_node(postgres_url: str) -> None:
    """On PostgreSQL, a reschedule saved by one process reaches a running node; it keeps its task object."""
    daemon = AutoCron(timezone="UTC", store=postgres_url, node_id="daemon")
    daemon.add_task("shared", command="true", every="1h")
    task = daemon.get_task(name="shared")
    daemon.start(blocking=False)
    try:
        cli = AutoCron(timezone="UTC", store=postgres_url, node_id="cli")
        cli.reschedule("shared", cron="0 3 * * *", exclude="SUN")
        cli.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (task is None or task.schedule.kind != "excluding"):
            time.sleep(0.05)
        assert daemon.get_task(name="shared") is task
        assert task is not None and task.schedule.describe() == "at 03:00 (UTC), except SUN"
        assert task.next_run is not None and task.next_run.hour == 3
    finally:
        daemon.close()
