"""The scheduler's public API: lifecycle, pause/resume/remove, run now, events, the decorator."""

from __future__ import annotations

import threading
import time

import pytest

from autocron_core import (
    AutoCron,
    EventKind,
    TaskError,
    get_global_scheduler,
    reset_global_scheduler,
    schedule,
    start_scheduler,
)
from autocron_core.testing import FakeClock


def test_run_task_works_before_start_with_retries() -> None:
    """run_task runs now, with retries, whether or not the scheduler was started."""
    calls: list[int] = []

    def second_time_lucky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first try fails")

    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("lucky", func=second_time_lucky, every="1h", retries=1, retry_delay=0.05)
    try:
        assert scheduler.run_task(name="lucky") is True
        assert len(calls) == 2 and not scheduler.running
        assert scheduler.run_task(name="lucky", wait=False) is True
    finally:
        scheduler.stop()


def test_run_task_unknown_name_is_an_error() -> None:
    """Naming a task that does not exist raises TaskError naming it."""
    with pytest.raises(TaskError, match="ghost"):
        AutoCron().run_task(name="ghost")


def test_pause_resume_remove(scheduler: AutoCron, clock: FakeClock) -> None:
    """A paused task does not fire; resumed, it fires from its next occurrence; removed, never again."""
    kinds: list[str] = []
    scheduler.add_listener(
        lambda e: kinds.append(e.kind.value), kinds=["added", "paused", "resumed", "removed"]
    )
    scheduler.add_task("t", func=lambda: None, every="10s")
    scheduler.pause_task("t")
    clock.advance(30)
    assert scheduler.settle()
    assert scheduler.history("t") == []
    scheduler.resume_task("t")
    clock.advance(10)
    assert scheduler.settle()
    assert len(scheduler.history("t")) == 1
    assert scheduler.remove_task(name="t") is True
    assert scheduler.remove_task(name="t") is False
    clock.advance(60)
    assert scheduler.settle()
    assert len(scheduler.history("t")) == 1
    assert kinds == ["added", "paused", "resumed", "removed"]


def test_get_and_list_tasks_expose_state(scheduler: AutoCron, clock: FakeClock) -> None:
    """Tasks expose id, name, schedule, next and last run, counts, paused and tags."""
    task_id = scheduler.add_task("t", func=lambda: None, every="10s", tags=["a"])
    clock.advance(10)
    assert scheduler.settle()
    task = scheduler.get_task(task_id)
    assert task is not None and task is scheduler.get_task(name="t")
    assert (task.task_id, task.name, task.run_count, task.fail_count, task.paused, task.tags) == (
        task_id,
        "t",
        1,
        0,
        False,
        ("a",),
    )
    assert task.last_run is not None and task.next_run is not None and task.next_run > task.last_run
    assert [t.name for t in scheduler.list_tasks()] == ["t"]


def test_start_blocking_returns_after_stop_from_a_task() -> None:
    """start(blocking=True) runs until stop() is called (here by the task itself)."""
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("stopper", func=lambda: threading.Thread(target=scheduler.stop).start(), every=0.05)
    started = time.monotonic()
    scheduler.start(blocking=True)
    assert not scheduler.running
    assert time.monotonic() - started < 10


def test_stop_waits_for_running_runs_up_to_the_timeout() -> None:
    """stop(wait=True, timeout) waits for a run in flight and reports whether it finished."""
    release = threading.Event()
    entered = threading.Event()

    def slow() -> None:
        entered.set()
        release.wait(10)

    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("slow", func=slow, every="1h")
    scheduler.run_task(name="slow", wait=False)
    assert entered.wait(5)
    assert scheduler.stop(wait=True, timeout=0.2) is False
    release.set()


def test_context_manager_starts_and_stops() -> None:
    """'with AutoCron() as s' runs the scheduler inside the block only."""
    fired = threading.Event()
    with AutoCron(timezone="UTC") as scheduler:
        scheduler.add_task("quick", func=fired.set, every=0.05)
        assert scheduler.running
        assert fired.wait(5)
    assert not scheduler.running


def test_events_for_added_started_succeeded(scheduler: AutoCron, clock: FakeClock) -> None:
    """Listeners can subscribe to all kinds; remove_listener stops delivery."""
    seen: list[EventKind] = []
    scheduler.add_listener(seen.append)  # type: ignore[arg-type]
    scheduler.add_listener(lambda e: None, kinds=None)
    scheduler.add_task("t", func=lambda: None, every="1s")
    clock.advance(1)
    assert scheduler.settle()
    assert [e.kind for e in seen] == [EventKind.ADDED, EventKind.STARTED, EventKind.SUCCEEDED]  # type: ignore[attr-defined]
    assert scheduler.remove_listener(seen.append) is True  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="event kinds"):
        scheduler.add_listener(print, kinds=["exploded"])


def test_history_is_bounded_in_memory(clock: FakeClock) -> None:
    """The in-memory store keeps at most history_limit records per task."""
    from autocron_core import MemoryStore

    scheduler = AutoCron(timezone="UTC", clock=clock, store=MemoryStore(history_limit=5))
    scheduler.start(blocking=False)
    try:
        scheduler.add_task("t", func=lambda: None, every="1s")
        for _ in range(8):
            clock.advance(1)
            assert scheduler.settle()
        records = scheduler.history("t", limit=100)
        assert len(records) == 5
        assert records[0].scheduled_for > records[-1].scheduled_for  # newest first
    finally:
        scheduler.stop()


def test_decorator_registers_and_leaves_the_function_callable() -> None:
    """@schedule registers on the global scheduler with add_task's options and returns the function."""
    reset_global_scheduler()
    try:

        @schedule(every="5m", retries=2, name="inbox", tags=["mail"])
        def sync_inbox() -> str:
            return "synced"

        assert sync_inbox() == "synced"
        task = get_global_scheduler().get_task(name="inbox")
        assert task is not None and task.policy.retries == 2 and task.tags == ("mail",)
        with pytest.raises(TaskError):
            schedule(every="5m", retries=-1)(lambda: None)
        assert start_scheduler(blocking=False).running
    finally:
        reset_global_scheduler()


def test_max_workers_is_validated() -> None:
    """max_workers must be a whole number of at least one."""
    with pytest.raises(TaskError) as info:
        AutoCron(max_workers=0)
    assert info.value.field == "max_workers"


def test_timeouts_still_apply_during_a_graceful_stop() -> None:
    """stop(wait=True) waits for a run, but the run's own timeout still ends it."""
    entered = threading.Event()
    never = threading.Event()

    def stuck() -> None:
        entered.set()
        never.wait(30)

    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("stuck", func=stuck, every="1h", timeout=0.3)
    scheduler.start(blocking=False)
    scheduler.run_task(name="stuck", wait=False)
    assert entered.wait(5)
    started = time.monotonic()
    assert scheduler.stop(wait=True, timeout=20) is True
    assert time.monotonic() - started < 10
    assert scheduler.history("stuck")[0].status.value == "timed_out"
    never.set()


def test_a_scheduler_never_started_writes_no_state_back(tmp_path: object) -> None:
    """Closing a scheduler that only read the store (as the CLI does) leaves stored state alone."""
    from autocron_core import MemoryStore

    class CountingStore(MemoryStore):
        persistent = True
        saves = 0

        def save_state(self, task: object) -> None:
            CountingStore.saves += 1

    scheduler = AutoCron(timezone="UTC", store=CountingStore())
    scheduler.add_task("t", command="true", every="1h")
    scheduler.stop()
    assert CountingStore.saves == 0
