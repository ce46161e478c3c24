"""The scheduler loop never dies from one task's fault, and says so when it dies anyway
(issue 15, fault 2); timed-out threads are bounded (issue 15, "Also")."""

from __future__ import annotations

import datetime as dt
import queue
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron
from autocron_core import _engine as engine_module
from autocron_core.events import Event, EventKind
from autocron_core.schedules import Schedule
from autocron_core.task import Task, build_task
from autocron_core.testing import FakeClock

T0 = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)


class _Custom(Exception):
    """An exception type no validator has heard of."""


class _CustomBase(BaseException):
    """Not even an Exception."""


EXCEPTION_TYPES = (
    ValueError, OverflowError, RecursionError, MemoryError, KeyError, ZeroDivisionError, TypeError,
    AttributeError, RuntimeError, AssertionError, StopIteration, LookupError, OSError, _Custom,
    _CustomBase, SystemExit, GeneratorExit,
)  # fmt: skip


class Breaks(Schedule):
    """Every minute on the minute, until asked about ``breaks_at`` or later: then it raises."""

    def __init__(self, error: type[BaseException], breaks_at: dt.datetime) -> None:
        self.error = error
        self.breaks_at = breaks_at

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        if moment >= self.breaks_at:
            raise self.error("the schedule broke")
        return moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)

    def describe(self) -> str:
        return "every minute, until it breaks"


def job() -> None:
    """A task body that does nothing."""


def _statuses(scheduler: AutoCron, name: str) -> list[str]:
    return [record.status.value for record in reversed(scheduler.history(name))]


def test_a_schedule_that_raises_is_recorded_and_the_others_keep_firing(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """A task whose next fire time raises gets a failed run record naming the error; other tasks go on."""
    scheduler.add_task(name="breaks", func=job, every=Breaks(ZeroDivisionError, T0 + dt.timedelta(minutes=1)))
    scheduler.add_task(name="steady", func=job, every="1m")
    for _ in range(3):
        clock.advance(60)
        assert scheduler.settle(5)
    assert _statuses(scheduler, "steady") == ["succeeded"] * 3
    (record,) = scheduler.history("breaks")
    assert record.status.value == "failed"
    assert "ZeroDivisionError" in (record.error or "") and "the schedule broke" in (record.error or "")
    broken = scheduler.get_task(name="breaks")
    assert broken.last_status == "failed" and broken.next_run is None
    assert scheduler.health()["loop_alive"] and scheduler.health()["healthy"]


class _LoopKiller(BaseException):
    """Stands for anything that escapes the loop (a task's own faults no longer can)."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the killed loop
def test_health_reports_a_dead_loop_as_unhealthy(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the loop thread dies, health() says healthy=False and what killed it, while running stays true."""
    died = threading.Event()

    def die(self: AutoCron, now_us: int) -> int:
        died.set()
        raise _LoopKiller("killed for the test")

    monkeypatch.setattr(engine_module.Engine, "run_due", die)
    scheduler = AutoCron(timezone="UTC", clock=clock)
    scheduler.start(blocking=False)
    try:
        assert died.wait(5)
        thread = scheduler._loop_thread
        assert thread is not None
        thread.join(5)
        health = scheduler.health()
        assert health["running"] is True
        assert health["loop_alive"] is False
        assert health["healthy"] is False
        assert "_LoopKiller: killed for the test" in health["loop_error"]
    finally:
        monkeypatch.undo()
        scheduler.stop(timeout=5)


def test_a_task_that_raises_system_exit_is_recorded_failed(scheduler: AutoCron, clock: FakeClock) -> None:
    """sys.exit() inside a task function records a failed run; the task fires again next time."""

    def exits() -> None:
        raise SystemExit(3)

    scheduler.add_task(name="exits", func=exits, every="1m")
    for _ in range(2):
        clock.advance(60)
        assert scheduler.settle(5)
    assert _statuses(scheduler, "exits") == ["failed", "failed"]
    assert "SystemExit: 3" in (scheduler.history("exits")[0].error or "")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(error=st.sampled_from(EXCEPTION_TYPES), where=st.sampled_from(["schedule", "execute"]))
def test_no_exception_of_one_task_stops_another_from_firing(error: type[BaseException], where: str) -> None:
    """Whatever one task raises, from its schedule or its execute(), a second task keeps firing
    every minute and the loop stays alive and healthy."""
    clock = FakeClock(T0)
    scheduler = AutoCron(timezone="UTC", clock=clock, max_workers=2)
    if where == "schedule":
        scheduler.add_task(name="bad", func=job, every=Breaks(error, T0 + dt.timedelta(minutes=1)))
    else:

        class Raises(Task):
            def execute(self) -> None:
                raise error("execute broke")

        scheduler.add(build_task("bad", func=job, every="1m", task_class=Raises))
    scheduler.add_task(name="good", func=job, every="1m")
    scheduler.start(blocking=False)
    try:
        for _ in range(3):
            clock.advance(60)
            assert scheduler.settle(5)
        assert _statuses(scheduler, "good") == ["succeeded"] * 3
        assert scheduler.health()["healthy"] and scheduler.health()["loop_alive"]
        if not (where == "schedule" and error is OverflowError):  # that one means "no next run"
            assert "failed" in _statuses(scheduler, "bad")
    finally:
        scheduler.stop(timeout=5)


# -- timed-out threads ---------------------------------------------------------------


class _Events:
    """Collects the scheduler's events for one task, to wait on them in order."""

    def __init__(self, scheduler: AutoCron, name: str) -> None:
        self.name = name
        self.queue: queue.Queue[Event] = queue.Queue()
        self.pending: list[Event] = []
        scheduler.add_listener(self._add)

    def _add(self, event: Event) -> None:
        if event.task_name == self.name:
            self.queue.put(event)

    def next(self, *kinds: EventKind) -> Event:
        """The first event not taken yet of one of ``kinds`` (others stay for later calls:
        a timed-out run is recorded on a thread of its own, so events of one step come in
        either order)."""
        while True:
            for index, event in enumerate(self.pending):
                if event.kind in kinds:
                    return self.pending.pop(index)
            self.pending.append(self.queue.get(timeout=10))


def test_timed_out_threads_of_one_task_are_capped_and_the_skip_says_why(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """With overlap_policy=allow, a function that hangs past its timeout leaves at most
    MAX_ABANDONED_PER_TASK threads; the next occurrence is recorded skipped, naming safe_mode."""
    release = threading.Event()
    started_threads: set[int] = set()

    def hangs() -> None:
        started_threads.add(threading.get_ident())
        release.wait(30)

    events = _Events(scheduler, "hangs")
    scheduler.add_task(
        name="hangs", func=hangs, every="1s", timeout=0.5, overlap_policy="allow", max_instances=10
    )
    limit = engine_module.MAX_ABANDONED_PER_TASK
    try:
        for step in range(1, limit + 2):
            clock.advance(1)
            if step > 1:  # the previous attempt's timeout passed first: its thread is given up
                events.next(EventKind.TIMED_OUT)
            if step <= limit:
                assert events.next(EventKind.STARTED, EventKind.SKIPPED).kind is EventKind.STARTED
        skipped = events.next(EventKind.STARTED, EventKind.SKIPPED)
        assert skipped.kind is EventKind.SKIPPED
        assert skipped.record is not None and skipped.record.status.value == "skipped"
        assert "safe_mode" in (skipped.error or "") and f"{limit} per task" in (skipped.error or "")
        assert len(started_threads) == limit
    finally:
        release.set()
    scheduler.wait_idle(10)


def test_timed_out_threads_are_capped_across_tasks(
    scheduler: AutoCron, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once MAX_ABANDONED threads hang in all, a third task with a timeout is skipped, while a task
    without a timeout (which can never leave a thread) still runs."""
    monkeypatch.setattr(engine_module, "MAX_ABANDONED", 2)
    release = threading.Event()

    def hangs() -> None:
        release.wait(30)

    watch = {name: _Events(scheduler, name) for name in ("a", "b", "c", "free")}
    for name in ("a", "b"):
        scheduler.add_task(name=name, func=hangs, every="10s", timeout=1)
    try:
        clock.advance(10)
        for name in ("a", "b"):
            watch[name].next(EventKind.STARTED)
        clock.advance(2)
        for name in ("a", "b"):
            watch[name].next(EventKind.TIMED_OUT)
        scheduler.add_task(name="c", func=hangs, every="10s", timeout=1)
        scheduler.add_task(name="free", func=job, every="10s")
        clock.advance(10)  # their first occurrences, 10 s after they were added
        assert "2 in all" in (watch["c"].next(EventKind.STARTED, EventKind.SKIPPED).error or "")
        assert watch["free"].next(EventKind.SUCCEEDED, EventKind.SKIPPED).kind is EventKind.SUCCEEDED
    finally:
        release.set()
    scheduler.wait_idle(10)
