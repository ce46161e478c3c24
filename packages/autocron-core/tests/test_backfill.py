"""backfill(): a past range's occurrences, in order, once each, recorded as backfill runs."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, TaskError
from autocron_core.testing import FakeClock

UTC = dt.timezone.utc


def _scheduler(clock: FakeClock, zone: str = "UTC") -> AutoCron:
    return AutoCron(timezone=zone, clock=clock, max_workers=4)


def test_backfill_runs_each_occurrence_in_order_as_backfill(clock: FakeClock) -> None:
    """Occurrences of [start, end) run oldest first, each recorded with trigger 'backfill'."""
    seen: list[int] = []
    scheduler = _scheduler(clock)
    scheduler.add_task("hourly", func=lambda: seen.append(len(seen)), cron="0 * * * *")
    result = scheduler.backfill("hourly", "2026-01-01T00:00", "2026-01-01T05:00")
    assert [t.hour for t in result.occurrences] == [0, 1, 2, 3, 4]
    assert result.started == result.occurrences and result.already_recorded == ()
    assert [(r.scheduled_for.hour, r.status.value, r.trigger) for r in result.records] == [
        (h, "succeeded", "backfill") for h in range(5)
    ]
    assert seen == [0, 1, 2, 3, 4] and result.succeeded == 5 and result.failed == 0


def test_second_backfill_runs_nothing_already_recorded(clock: FakeClock) -> None:
    """Backfilling a range again runs only its occurrences without a record."""
    runs: list[int] = []
    scheduler = _scheduler(clock)
    scheduler.add_task("hourly", func=lambda: runs.append(1), cron="0 * * * *")
    scheduler.backfill("hourly", "2026-01-01T00:00", "2026-01-01T03:00")
    again = scheduler.backfill("hourly", "2026-01-01T00:00", "2026-01-01T04:00")
    assert [t.hour for t in again.already_recorded] == [0, 1, 2]
    assert [t.hour for t in again.started] == [3]
    assert len(runs) == 4


def test_dry_run_lists_and_runs_nothing(clock: FakeClock) -> None:
    """dry_run lists the occurrences and which are recorded, and starts none."""
    runs: list[int] = []
    scheduler = _scheduler(clock)
    scheduler.add_task("daily", func=lambda: runs.append(1), cron="0 6 * * *")
    result = scheduler.backfill("daily", "2026-01-01", "2026-01-08", dry_run=True)
    assert len(result.occurrences) == 7 and result.dry_run and result.started == ()
    assert runs == [] and scheduler.history("daily") == []


def test_naive_bounds_are_read_in_the_task_zone(clock: FakeClock) -> None:
    """A naive --from/--to is the task's wall time (Europe/Paris here, not UTC)."""
    scheduler = _scheduler(clock, zone="Europe/Paris")
    scheduler.add_task("nine", func=lambda: None, cron="0 9 * * *")
    result = scheduler.backfill("nine", "2026-06-01T08:30", "2026-06-01T09:30", dry_run=True)
    (only,) = result.occurrences
    assert only.astimezone(UTC) == dt.datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(("policy", "instances"), [("skip", 1), ("allow", 2), ("queue", 3)])
def test_overlap_policy_bounds_how_many_run_at_once(clock: FakeClock, policy: str, instances: int) -> None:
    """The overlap policy bounds concurrency: skip runs them one after another, allow and queue up to
    max_instances; none is skipped."""
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def job() -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        threading.Event().wait(0.02)
        with lock:
            state["now"] -= 1

    scheduler = _scheduler(clock)
    scheduler.add_task("job", func=job, every="1h", overlap_policy=policy, max_instances=instances)
    anchor = scheduler.get_task(name="job").schedule.anchor
    assert anchor is not None
    result = scheduler.backfill("job", anchor - dt.timedelta(hours=6), anchor)
    assert len(result.started) == 6 and result.succeeded == 6
    assert state["max"] == instances
    scheduler.stop(timeout=5)


@pytest.mark.parametrize(
    ("start", "end", "field", "fragment"),
    [
        ("2026-01-02", "2026-01-01", "end", "a time after start"),
        ("2026-01-01", "2026-01-01", "end", "a time after start"),
        (float("nan"), "2026-01-01", "start", "not inf or NaN"),
        ("2026-01-01", float("inf"), "end", "not inf or NaN"),
        ("soon", "2026-01-01", "start", "ISO 8601"),
        ("2026-01-01\n", "2026-01-02", "start", "ISO 8601"),
        ("2026-01-01\x85", "2026-01-02", "start", "ISO 8601"),
        (3, "2026-01-02", "start", "a datetime"),
        ("2000-01-01", "2026-01-01", "end", "at most 10,000 occurrences"),
    ],
)
def test_bad_ranges_are_refused(
    clock: FakeClock, start: object, end: object, field: str, fragment: str
) -> None:
    """Bad bounds or too large a range: a TaskError naming the field, and nothing run."""
    scheduler = _scheduler(clock)
    scheduler.add_task("hourly", func=lambda: None, cron="0 * * * *")
    with pytest.raises(TaskError, match=fragment) as caught:
        scheduler.backfill("hourly", start, end)
    assert caught.value.field == field
    assert scheduler.history("hourly") == []


def test_limit_can_be_raised_and_is_validated(clock: FakeClock) -> None:
    """limit= raises the bound on occurrences; a bad limit is refused."""
    scheduler = _scheduler(clock)
    scheduler.add_task("minutely", func=lambda: None, every="1m")
    anchor = scheduler.get_task(name="minutely").schedule.anchor
    assert anchor is not None
    start = anchor - dt.timedelta(days=8)
    with pytest.raises(TaskError, match="10,000"):
        scheduler.backfill("minutely", start, anchor, dry_run=True)
    assert (
        len(scheduler.backfill("minutely", start, anchor, dry_run=True, limit=20_000).occurrences) == 11_520
    )
    for bad in (0, -1, True, 1.5, 10**9):
        with pytest.raises(TaskError) as caught:
            scheduler.backfill("minutely", start, anchor, dry_run=True, limit=bad)  # type: ignore[arg-type]
        assert caught.value.field == "limit"


def test_year_9999_and_tasks_without_a_schedule(clock: FakeClock) -> None:
    """A range up to the end of year 9999 is accepted; an after-only task has nothing to backfill."""
    scheduler = _scheduler(clock)
    scheduler.add_task("hourly", func=lambda: None, every="1h")
    # Occurrences end where every schedule ends (schedules.LATEST, 9999-12-30 UTC); the bound itself is fine.
    result = scheduler.backfill("hourly", "9999-12-29T00:00", "9999-12-31T23:59:59.999999", dry_run=True)
    assert len(result.occurrences) == 25
    assert result.occurrences[-1] == dt.datetime(9999, 12, 30, tzinfo=UTC)
    scheduler.add_task("after_it", func=lambda: None, after="hourly")
    with pytest.raises(TaskError, match="schedule of its own"):
        scheduler.backfill("after_it", "2026-01-01", "2026-01-02")
    with pytest.raises(TaskError, match="ghost"):
        scheduler.backfill("ghost", "2026-01-01", "2026-01-02")


@settings(max_examples=30, deadline=None)
@given(text=st.text(min_size=1, max_size=30))
def test_arbitrary_text_bounds_never_run_or_crash(text: str) -> None:
    """Any text as a bound is either a time or a TaskError; it never raises anything else."""
    scheduler = AutoCron(timezone="UTC", clock=FakeClock())
    scheduler.add_task("daily", func=lambda: None, cron="0 0 * * *")
    try:
        scheduler.backfill("daily", text, "2026-01-01T00:00", dry_run=True)
    except TaskError as exc:
        assert exc.field in ("start", "end")
