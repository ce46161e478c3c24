"""When tasks fire: fixed rate, misfires, coalescing, wall-clock jumps, one-offs and windows."""

from __future__ import annotations

import datetime as dt
import threading
import time

from autocron_core import AutoCron, RunStatus
from autocron_core.testing import FakeClock

from .conftest import T0

S = dt.timedelta(seconds=1)


def statuses(scheduler: AutoCron, name: str) -> list[tuple[int, str]]:
    """(seconds after T0, status) of a task's records, oldest first."""
    return sorted(
        (int((r.scheduled_for - T0).total_seconds()), r.status.value) for r in scheduler.history(name, 1000)
    )


def test_interval_fires_at_fixed_rate(scheduler: AutoCron, clock: FakeClock) -> None:
    """Occurrences are anchor + k*interval, each recorded once, however long the run took."""
    scheduler.add_task("tick", func=lambda: None, every="10s")
    for _ in range(3):
        clock.advance(10)
        assert scheduler.settle()
    assert statuses(scheduler, "tick") == [(10, "succeeded"), (20, "succeeded"), (30, "succeeded")]
    task = scheduler.get_task(name="tick")
    assert task is not None and task.next_run == T0 + 40 * S and task.run_count == 3


def test_nothing_fires_before_it_is_due(scheduler: AutoCron, clock: FakeClock) -> None:
    """A task due in 10 s does not run when 9.9 s have passed."""
    scheduler.add_task("tick", func=lambda: None, every="10s")
    clock.advance(9.9)
    assert scheduler.settle()
    assert scheduler.history("tick") == []


def test_coalesce_runs_a_backlog_once(scheduler: AutoCron, clock: FakeClock) -> None:
    """After the machine slept through 10 occurrences, coalesce runs the latest once and records one miss."""
    scheduler.add_task("tick", func=lambda: None, every="10s", misfire_grace_time=5)
    clock.jump(100)  # the wall clock leaps, as after a suspend
    assert scheduler.settle()
    records = statuses(scheduler, "tick")
    assert records == [(10, "missed"), (100, "succeeded")]
    missed = next(r for r in scheduler.history("tick") if r.status is RunStatus.MISSED)
    assert "9 occurrence(s)" in (missed.error or "")


def test_without_coalesce_each_occurrence_follows_the_grace_time(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """coalesce=False: occurrences later than the grace time are missed, the rest run, each once."""
    scheduler.add_task(
        "tick", func=lambda: None, every="10s", misfire_grace_time=25, coalesce=False, overlap_policy="queue"
    )
    clock.jump(100)
    assert scheduler.settle()
    records = statuses(scheduler, "tick")
    assert records == [(s, "missed") for s in range(10, 80, 10)] + [
        (80, "succeeded"),
        (90, "succeeded"),
        (100, "succeeded"),
    ]


def test_misfire_grace_none_runs_however_late(scheduler: AutoCron, clock: FakeClock) -> None:
    """misfire_grace_time=None never misses: a late occurrence still runs."""
    scheduler.add_task("nightly", func=lambda: None, every="1h", misfire_grace_time=None, coalesce=True)
    clock.jump(3 * 3600 + 5)
    assert scheduler.settle()
    assert statuses(scheduler, "nightly") == [(3600, "missed"), (3 * 3600, "succeeded")]


def test_backward_wall_clock_jump_never_runs_an_occurrence_twice(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """When the clock steps back an hour, nothing reruns; firing resumes when time catches up."""
    scheduler.add_task("tick", func=lambda: None, every="10s")
    clock.advance(10)
    assert scheduler.settle()
    clock.jump(-3600)
    clock.advance(30)
    assert scheduler.settle()
    assert statuses(scheduler, "tick") == [(10, "succeeded")]
    clock.jump(3600 - 30 + 10)
    assert scheduler.settle()
    assert statuses(scheduler, "tick") == [(10, "succeeded"), (20, "succeeded")]


def test_at_fires_once(scheduler: AutoCron, clock: FakeClock) -> None:
    """An at= task runs once and then has no next run."""
    scheduler.add_task("once", func=lambda: None, at=T0 + 30 * S)
    clock.advance(30)
    assert scheduler.settle()
    clock.advance(3600)
    assert scheduler.settle()
    assert statuses(scheduler, "once") == [(30, "succeeded")]
    task = scheduler.get_task(name="once")
    assert task is not None and task.next_run is None


def test_start_at_and_end_at_bound_the_occurrences(scheduler: AutoCron, clock: FakeClock) -> None:
    """Occurrences before start_at and after end_at do not happen."""
    scheduler.add_task(
        "window",
        func=lambda: None,
        every="10s",
        start_at=T0 + 25 * S,
        end_at=T0 + 50 * S,
        overlap_policy="queue",
        misfire_grace_time=None,
        coalesce=False,
    )
    for _ in range(8):
        clock.advance(10)
        assert scheduler.settle()
    assert statuses(scheduler, "window") == [(30, "succeeded"), (40, "succeeded"), (50, "succeeded")]


def test_cron_task_fires_in_its_zone(clock: FakeClock) -> None:
    """A cron task fires at the wall time of its own zone."""
    scheduler = AutoCron(timezone="America/New_York", clock=clock)
    scheduler.start(blocking=False)
    try:
        scheduler.add_task("morning", func=lambda: None, cron="30 7 * * *")
        task = scheduler.get_task(name="morning")
        assert task is not None and task.next_run is not None
        assert task.next_run.astimezone(dt.timezone.utc) == dt.datetime(
            2026, 1, 5, 12, 30, tzinfo=dt.timezone.utc
        )
        clock.set(dt.datetime(2026, 1, 5, 12, 30, tzinfo=dt.timezone.utc))
        assert scheduler.settle()
        assert [r.status for r in scheduler.history("morning")] == [RunStatus.SUCCEEDED]
    finally:
        scheduler.stop()


def test_jitter_delays_within_bound_but_keeps_the_occurrence(scheduler: AutoCron, clock: FakeClock) -> None:
    """With jitter, the run starts up to jitter seconds late but is recorded for its nominal occurrence."""
    scheduler.add_task("spread", func=lambda: None, every="60s", jitter=20)
    clock.advance(60)
    scheduler.settle()
    clock.advance(20)
    assert scheduler.settle()
    (record,) = scheduler.history("spread")
    assert record.scheduled_for == T0 + 60 * S
    assert record.started_at is not None and T0 + 60 * S <= record.started_at <= T0 + 80 * S


def test_idle_loop_sleeps_until_the_earliest_due_time() -> None:
    """With 10,000 tasks due in an hour the loop thread does not wake: no polling tick."""
    scheduler = AutoCron(timezone="UTC")
    for i in range(10_000):
        scheduler.add_task(f"t{i}", func=lambda: None, every="1h")
    scheduler.start(blocking=False)
    try:
        time.sleep(0.05)
        first = scheduler.heartbeat_us
        cpu = time.thread_time()
        time.sleep(0.5)
        assert scheduler.heartbeat_us == first
        assert time.thread_time() - cpu < 0.05
    finally:
        scheduler.stop()


def test_adding_a_sooner_task_wakes_the_loop() -> None:
    """A task added while the loop sleeps for an hour still fires on time."""
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("later", func=lambda: None, every="1h")
    done = threading.Event()
    with scheduler:
        scheduler.add_task("soon", func=done.set, every=0.05)
        assert done.wait(5)
