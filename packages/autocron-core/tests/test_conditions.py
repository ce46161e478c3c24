"""Conditions (``when=``): evaluated at fire time; false skips with a record, raising fails the run."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from autocron_core import AutoCron, ConditionContext, Event, TaskError
from autocron_core.task import build_task
from autocron_core.testing import FakeClock


def is_business_hours(context: ConditionContext) -> bool:
    """True from 09:00 to 17:00 in the task's time zone."""
    return 9 <= context.scheduled_for.hour < 17


def test_false_condition_records_a_skip_naming_it(scheduler: AutoCron, clock: FakeClock) -> None:
    """A false condition skips the occurrence: a skipped record and event name the condition; nothing runs."""
    ran: list[int] = []
    events: list[Event] = []
    scheduler.add_listener(events.append, kinds=["skipped"])
    scheduler.add_task("job", func=lambda: ran.append(1), every="1h", when=lambda: False)
    clock.advance(3600)
    assert scheduler.settle()
    (record,) = scheduler.history("job")
    assert (record.status.value, record.error) == ("skipped", "condition '<lambda>' was false")
    assert ran == []
    assert [e.error for e in events] == ["condition '<lambda>' was false"]
    task = scheduler.get_task(name="job")
    assert task.fail_count == 0 and not task.failing  # a skip is no failure


def test_condition_gets_the_run_context_in_the_task_zone(clock: FakeClock) -> None:
    """A one-argument condition gets task name, occurrence (task's zone), attempt and trigger."""
    seen: list[ConditionContext] = []

    def check(context: ConditionContext) -> bool:
        seen.append(context)
        return is_business_hours(context)

    scheduler = AutoCron(timezone="Asia/Tokyo", clock=clock)  # 12:00 UTC is 21:00 in Tokyo
    scheduler.start(blocking=False)
    try:
        scheduler.add_task("job", func=lambda: None, every="1h", when=check)
        clock.advance(3600)
        assert scheduler.settle()
        clock.advance(1)  # a manual run is keyed by now: not the occurrence that just ran
        assert scheduler.run_task(name="job", timeout=10) is False  # skipped: not a success
    finally:
        scheduler.stop(timeout=5)
    first, manual = seen
    assert (first.task_name, first.attempt, first.trigger) == ("job", 1, "schedule")
    assert first.scheduled_for.hour == 22 and str(first.scheduled_for.tzinfo) == "Asia/Tokyo"
    assert manual.trigger == "manual"
    assert first.task.name == "job"
    assert [r.error for r in scheduler.history("job")] == ["condition 'check' was false"] * 2


def test_true_condition_runs_and_zero_argument_callables_work(scheduler: AutoCron, clock: FakeClock) -> None:
    """A zero-argument condition that returns True lets the run go ahead."""
    ran: list[int] = []
    scheduler.add_task("job", func=lambda: ran.append(1), every="1h", when=lambda: True)
    clock.advance(3600)
    assert scheduler.settle()
    assert [r.status.value for r in scheduler.history("job")] == ["succeeded"]
    assert ran == [1]


def test_raising_condition_is_a_failed_run_retried_by_policy(scheduler: AutoCron, clock: FakeClock) -> None:
    """A condition that raises fails the attempt with its text; retries apply; no dead loop."""
    calls: list[int] = []

    def broken() -> bool:
        calls.append(1)
        raise LookupError("calendar service down")

    scheduler.add_task("job", func=lambda: None, every="1h", when=broken, retries=1, retry_delay=10)
    clock.advance(3600)
    assert scheduler.settle()
    clock.advance(10)
    assert scheduler.settle()
    records = sorted(scheduler.history("job"), key=lambda r: r.attempt)
    assert [(r.attempt, r.status.value) for r in records] == [(1, "failed"), (2, "failed")]
    assert records[0].error == "LookupError: calendar service down"
    assert calls == [1, 1]
    clock.advance(60)
    assert scheduler.settle()
    assert calls == [1, 1]  # nothing more until the next occurrence


def test_condition_applies_to_async_tasks(scheduler: AutoCron, clock: FakeClock) -> None:
    """An async task's condition is evaluated too."""
    ran: list[int] = []

    async def job() -> None:
        await asyncio.sleep(0)
        ran.append(1)

    scheduler.add_task("job", func=job, every="1h", when=lambda: False)
    clock.advance(3600)
    assert scheduler.settle()
    assert [r.status.value for r in scheduler.history("job")] == ["skipped"]
    assert ran == []


def test_condition_by_reference_is_persisted_a_lambda_is_not() -> None:
    """when= as "module:function" round-trips through to_dict; a lambda cannot be saved."""
    task = build_task("t", func="os:getpid", every="1h", when="os.path:exists")
    assert task.to_dict()["when"] == "os.path:exists"
    assert task.flow is not None and task.flow.when_takes_context
    lam = build_task("t", func="os:getpid", every="1h", when=lambda: True)
    with pytest.raises(TaskError, match="when="):
        lam.to_dict()


@pytest.mark.parametrize("value", [3, "no_colon", "nosuchmodule_xyz:f", "os:no_such_function", "os:sep"])
def test_bad_condition_is_refused_naming_when(value: object) -> None:
    """A condition that is not a callable or an importable function reference is refused."""
    with pytest.raises(TaskError) as caught:
        build_task("t", func="os:getpid", every="1h", when=value)
    assert caught.value.field == "when"


def test_condition_with_a_backfill_sees_its_trigger(clock: FakeClock) -> None:
    """A backfill's runs pass through the condition, with trigger 'backfill'."""
    triggers: list[str] = []

    def note(context: ConditionContext) -> bool:
        triggers.append(context.trigger)
        return context.scheduled_for.hour % 2 == 0

    scheduler = AutoCron(timezone="UTC", clock=clock)
    scheduler.add_task("job", func=lambda: None, cron="0 * * * *", when=note)
    result = scheduler.backfill("job", dt.datetime(2026, 1, 1, 0, 0), dt.datetime(2026, 1, 1, 4, 0))
    assert triggers == ["backfill"] * 4
    assert [r.status.value for r in result.records] == ["succeeded", "skipped", "succeeded", "skipped"]
