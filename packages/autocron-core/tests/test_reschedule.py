"""Dynamic schedules: AutoCron.reschedule() and a function returning Reschedule(...)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest

from autocron_core import AutoCron, EventKind, Reschedule, RunStatus, ScheduleError, TaskError
from autocron_core.exclusions import Excluding
from autocron_core.schedules import Interval
from autocron_core.testing import FakeClock

from .conftest import T0


def test_reschedule_changes_the_next_fire_and_keeps_history(scheduler: AutoCron, clock: FakeClock) -> None:
    """After two runs every minute, every=10m: counts and history stay, the next fire is now + 10m."""
    scheduler.add_task("job", func=lambda: None, every="1m")
    for _ in range(2):
        clock.advance(60)
        assert scheduler.settle()
    events: list[EventKind] = []
    scheduler.add_listener(lambda e: events.append(e.kind), kinds=[EventKind.RESCHEDULED])
    clock.advance(30)
    task = scheduler.reschedule("job", every="10m")
    assert task.run_count == 2 and len(scheduler.history("job")) == 2
    assert task.next_run == T0 + dt.timedelta(seconds=150 + 600)
    assert events == [EventKind.RESCHEDULED]
    clock.advance(599)
    assert scheduler.settle()
    assert task.run_count == 2
    clock.advance(1)
    assert scheduler.settle()
    assert task.run_count == 3


def test_reschedule_keeps_a_running_instance(scheduler: AutoCron, clock: FakeClock) -> None:
    """A run in flight finishes and is recorded; the overlap count still sees it after the change."""
    started, release = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(10)

    scheduler.add_task("slow", func=slow, every="1m")
    clock.advance(60)
    assert started.wait(10)
    task = scheduler.reschedule("slow", every="30s")
    assert task.running == 1
    clock.advance(30)  # due under the new schedule while the first still runs: skipped
    scheduler.settle(timeout=0.2)
    release.set()
    assert scheduler.settle()
    got = sorted((r.scheduled_for, r.status) for r in scheduler.history("slow"))
    assert got == [
        (T0 + dt.timedelta(seconds=60), RunStatus.SUCCEEDED),
        (T0 + dt.timedelta(seconds=90), RunStatus.SKIPPED),
    ]


def test_reschedule_to_cron_timezone_and_exclusions() -> None:
    """cron= with timezone= and exclude=; a later timezone= alone re-reads the cron; exclude=[] removes."""
    scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0))  # T0: Monday 2026-01-05 12:00 UTC
    scheduler.add_task("job", command="true", every="1h")
    task = scheduler.reschedule("job", cron="0 9 * * *", timezone="America/New_York", exclude="MON")
    assert isinstance(task.schedule, Excluding)
    assert task.next_run == dt.datetime(2026, 1, 6, 9, tzinfo=task.timezone)  # 07:00 there: Monday skipped
    task = scheduler.reschedule("job", timezone="Asia/Tokyo")  # 21:00 on Monday there
    assert task.next_run is not None and task.next_run.isoformat() == "2026-01-06T09:00:00+09:00"
    assert task.schedule.describe().endswith("except MON")  # the calendar stays
    task = scheduler.reschedule("job", exclude="TUE")
    assert task.next_run is not None and task.next_run.isoformat() == "2026-01-07T09:00:00+09:00"
    task = scheduler.reschedule("job", exclude=[])
    assert task.next_run is not None and task.next_run.isoformat() == "2026-01-06T09:00:00+09:00"
    task = scheduler.reschedule("job", business_days=True)
    assert task.to_dict()["exclude"] == ["SAT", "SUN"]


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({}, ScheduleError, "reschedule"),
        ({"every": "0s"}, ScheduleError, "every"),
        ({"every": float("inf")}, ScheduleError, "every"),
        ({"every": "5m", "cron": "* * * * *"}, ScheduleError, "schedule"),
        ({"cron": "61 * * * *"}, ScheduleError, "cron"),
        ({"at": "2020-01-01T00:00"}, ScheduleError, "at"),
        ({"at": "9999-12-31T23:59"}, ScheduleError, "at"),
        ({"timezone": "Mars/Olympus"}, ScheduleError, "timezone"),
        ({"exclude": "2026-02-30"}, ScheduleError, "exclude"),
        ({"business_days": "yes"}, ScheduleError, "business_days"),
    ],
)
def test_bad_reschedule_changes_nothing(
    changes: dict[str, object], error: type[Exception], field: str
) -> None:
    """Each bad value raises an error naming the field, and the schedule and next run stay."""
    scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0))
    scheduler.add_task("job", command="true", every="1h")
    task = scheduler.get_task(name="job")
    assert task is not None
    before = (task.schedule, task.next_run_us, task.timezone)
    with pytest.raises(error) as info:
        scheduler.reschedule("job", **changes)  # type: ignore[arg-type]
    assert getattr(info.value, "field", None) == field
    assert (task.schedule, task.next_run_us, task.timezone) == before


def test_reschedule_an_unknown_task() -> None:
    """An unknown name is a TaskError."""
    with pytest.raises(TaskError, match="name"):
        AutoCron(timezone="UTC", clock=FakeClock(T0)).reschedule("nope", every="1m")


def test_function_returns_reschedule(scheduler: AutoCron, clock: FakeClock) -> None:
    """return Reschedule(every=...) sets the next schedule from the run's end; the run succeeds."""
    calls: list[dt.datetime] = []

    def job() -> Reschedule | None:
        calls.append(clock.now())
        return Reschedule(every="10m") if len(calls) == 1 else None

    scheduler.add_task("job", func=job, every="1m")
    clock.advance(60)
    assert scheduler.settle()
    task = scheduler.get_task(name="job")
    assert task is not None and isinstance(task.schedule, Interval) and task.schedule.seconds == 600
    assert task.next_run == T0 + dt.timedelta(seconds=660)
    (record,) = scheduler.history("job")
    assert record.status is RunStatus.SUCCEEDED


def test_bad_reschedule_return_fails_the_run_and_keeps_the_schedule(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """A bad Reschedule value records the run failed with the validation error; the old schedule stays."""
    calls: list[int] = []

    def job() -> Reschedule:
        calls.append(1)
        return Reschedule(cron="99 * * * *")

    scheduler.add_task("job", func=job, every="1m", retries=2, retry_delay=0)
    task = scheduler.get_task(name="job")
    assert task is not None
    old = task.schedule
    clock.advance(60)
    assert scheduler.settle()
    (record,) = scheduler.history("job")
    assert record.status is RunStatus.FAILED
    assert "Reschedule(cron='99 * * * *')" in (record.error or "") and "cron=" in (record.error or "")
    assert task.schedule == old and task.next_run == T0 + dt.timedelta(seconds=120)
    assert calls == [1]  # not retried: the function ran, and would only return the same value


def test_async_function_returns_reschedule(scheduler: AutoCron, clock: FakeClock) -> None:
    """An async function's returned Reschedule applies as a sync one's."""

    async def job() -> Reschedule:
        await asyncio.sleep(0)
        return Reschedule(cron="0 15 * * *")

    scheduler.add_task("job", func=job, every="1m")
    clock.advance(60)
    assert scheduler.settle()
    task = scheduler.get_task(name="job")
    assert task is not None and task.schedule.kind == "cron"
    assert task.next_run == dt.datetime(2026, 1, 5, 15, tzinfo=dt.timezone.utc)
