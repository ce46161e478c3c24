"""Run policies: overlap, retries with backoff, timeouts, async runs, callbacks and listeners."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
from pathlib import Path

import pytest

from autocron_core import AutoCron, Event, EventKind, RunStatus
from autocron_core.testing import FakeClock

from .conftest import T0


class Gate:
    """A function that blocks until released and tracks how many calls overlap."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.calls = 0
        self.entered = threading.Semaphore(0)

    def __call__(self) -> None:
        with self.lock:
            self.active += 1
            self.calls += 1
            self.peak = max(self.peak, self.active)
        self.entered.release()
        self.release.wait(10)
        with self.lock:
            self.active -= 1


def test_skip_never_runs_two_instances(scheduler: AutoCron, clock: FakeClock) -> None:
    """overlap_policy=skip: while a run is in flight, further occurrences are recorded skipped."""
    gate = Gate()
    scheduler.add_task("slow", func=gate, every="1s", overlap_policy="skip")
    clock.advance(1)
    assert gate.entered.acquire(timeout=5)
    for _ in range(5):
        clock.advance(1)
        scheduler.settle(timeout=0.2)
    gate.release.set()
    assert scheduler.settle()
    counts = [r.status for r in scheduler.history("slow", 100)]
    assert gate.peak == 1 and gate.calls == 1
    assert counts.count(RunStatus.SKIPPED) == 5 and counts.count(RunStatus.SUCCEEDED) == 1


def test_allow_runs_up_to_max_instances(scheduler: AutoCron, clock: FakeClock) -> None:
    """overlap_policy=allow runs up to max_instances at once and skips beyond that."""
    gate = Gate()
    scheduler.add_task("wide", func=gate, every="1s", overlap_policy="allow", max_instances=2)
    for _ in range(4):
        clock.advance(1)
        scheduler.settle(timeout=0.2)
    assert gate.entered.acquire(timeout=5) and gate.entered.acquire(timeout=5)
    gate.release.set()
    assert scheduler.settle()
    statuses = [r.status for r in scheduler.history("wide", 100)]
    assert gate.peak == 2
    assert statuses.count(RunStatus.SUCCEEDED) == 2 and statuses.count(RunStatus.SKIPPED) == 2


def test_queue_runs_every_occurrence_one_after_another(scheduler: AutoCron, clock: FakeClock) -> None:
    """overlap_policy=queue holds occurrences while busy and runs them all, never concurrently."""
    gate = Gate()
    scheduler.add_task("line", func=gate, every="1s", overlap_policy="queue", misfire_grace_time=None)
    for _ in range(4):
        clock.advance(1)
        scheduler.settle(timeout=0.2)
    gate.release.set()
    assert scheduler.settle()
    records = sorted(scheduler.history("line", 100), key=lambda r: r.scheduled_for)
    assert gate.peak == 1 and gate.calls == 4
    assert [r.status for r in records] == [RunStatus.SUCCEEDED] * 4
    assert [int((r.scheduled_for - T0).total_seconds()) for r in records] == [1, 2, 3, 4]


def test_retries_follow_exponential_backoff_on_the_heap(scheduler: AutoCron, clock: FakeClock) -> None:
    """A failing task is retried after retry_delay * backoff**(k-1), capped by max_retry_delay."""
    attempts: list[float] = []

    def flaky() -> None:
        attempts.append((clock.now() - T0).total_seconds())
        raise RuntimeError("disk full")

    scheduler.add_task(
        "flaky", func=flaky, every="1h", retries=4, retry_delay=10, backoff=2, max_retry_delay=25
    )
    clock.advance(3600)
    assert scheduler.settle()
    for step in (10, 20, 25, 25):
        clock.advance(step - 0.5)
        assert scheduler.settle()
        clock.advance(0.5)
        assert scheduler.settle()
    assert [a - 3600 for a in attempts] == [0, 10, 30, 55, 80]
    records = sorted(scheduler.history("flaky"), key=lambda r: r.attempt)
    assert [r.attempt for r in records] == [1, 2, 3, 4, 5]
    assert all(r.status is RunStatus.FAILED and r.error == "RuntimeError: disk full" for r in records)
    task = scheduler.get_task(name="flaky")
    assert task is not None and task.fail_count == 5 and task.run_count == 5


def test_a_pending_retry_holds_no_worker(clock: FakeClock) -> None:
    """With one worker, other tasks keep running while a retry waits its delay."""
    scheduler = AutoCron(timezone="UTC", clock=clock, max_workers=1)
    scheduler.start(blocking=False)
    try:
        scheduler.add_task("fails", func=lambda: 1 / 0, every="1h", retries=1, retry_delay=600)
        ran: list[int] = []
        scheduler.add_task("other", func=lambda: ran.append(1), every="1s", overlap_policy="queue")
        clock.advance(3600)
        assert scheduler.settle()
        for _ in range(5):
            clock.advance(1)
            assert scheduler.settle()
        assert len(ran) >= 5
    finally:
        scheduler.stop()


def test_retry_succeeds_and_final_events_are_exact(scheduler: AutoCron, clock: FakeClock) -> None:
    """Events: a failed attempt emits retry_scheduled, the final success emits succeeded (no failed)."""
    events: list[tuple[str, int | None]] = []
    scheduler.add_listener(
        lambda e: events.append((e.kind.value, e.attempt)),
        kinds=["started", "succeeded", "failed", "retry_scheduled"],
    )
    calls = iter([ValueError("first"), None])

    def once_flaky() -> None:
        error = next(calls)
        if error:
            raise error

    scheduler.add_task("flaky", func=once_flaky, every="1h", retries=2, retry_delay=5)
    clock.advance(3600)
    assert scheduler.settle()
    clock.advance(5)
    assert scheduler.settle()
    assert events == [("started", 1), ("retry_scheduled", 1), ("started", 2), ("succeeded", 2)]


def test_sync_timeout_abandons_the_thread_and_keeps_capacity() -> None:
    """A sync function over its timeout is recorded timed_out; a new worker replaces the stuck one."""
    scheduler = AutoCron(timezone="UTC", max_workers=1)
    stuck = threading.Event()
    scheduler.add_task("stuck", func=lambda: stuck.wait(30), every="1h", timeout=0.2)
    done = threading.Event()
    scheduler.add_task("next", func=done.set, every="1h")
    try:
        assert scheduler.run_task(name="stuck", wait=True, timeout=10) is False
        (record,) = scheduler.history("stuck")
        assert record.status is RunStatus.TIMED_OUT and "timed out after 0.2s" in (record.error or "")
        assert scheduler.run_task(name="next", wait=True, timeout=10) is True  # the only worker was replaced
    finally:
        stuck.set()
        scheduler.stop()


def test_command_timeout_kills_the_process_group(tmp_path: object) -> None:
    """A command over its timeout is terminated together with its children and recorded timed_out."""
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task(
        "sleepy",
        command=["sh", "-c", "echo started; sleep 30 & echo $! > child; wait"],
        every="1h",
        timeout=0.5,
    )
    os.chdir(str(tmp_path))
    try:
        assert scheduler.run_task(name="sleepy", timeout=20) is False
        (record,) = scheduler.history("sleepy")
        assert record.status is RunStatus.TIMED_OUT
        assert "started" in (record.output or "")
        child = int(Path("child").read_text())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the command's child process survived the timeout")
    finally:
        scheduler.stop()


def test_async_timeout_cancels_the_coroutine() -> None:
    """An async task over its timeout is cancelled and recorded timed_out."""
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("slow", func=slow, every="1h", timeout=0.2)
    try:
        assert scheduler.run_task(name="slow", timeout=10) is False
        assert cancelled.wait(5)
        assert scheduler.history("slow")[0].status is RunStatus.TIMED_OUT
    finally:
        scheduler.stop()


def test_a_thousand_async_runs_need_no_thousand_threads(scheduler: AutoCron, clock: FakeClock) -> None:
    """1,000 concurrent async runs share the one event-loop thread."""
    lock = threading.Lock()
    state = {"active": 0, "peak": 0}
    release = asyncio.Event()
    loop_holder: list[asyncio.AbstractEventLoop] = []

    async def wait_together() -> None:
        loop_holder[:] = [asyncio.get_running_loop()]
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        await release.wait()
        with lock:
            state["active"] -= 1

    for i in range(1000):
        scheduler.add_task(f"a{i}", func=wait_together, at=T0 + dt.timedelta(seconds=1))
    threads_before = threading.active_count()
    clock.advance(1)
    deadline = time.monotonic() + 20
    while state["peak"] < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert state["peak"] == 1000
    assert threading.active_count() - threads_before < 10
    loop_holder[0].call_soon_threadsafe(release.set)
    assert scheduler.settle(timeout=20)
    assert sum(len(scheduler.history(f"a{i}")) for i in range(1000)) == 1000


def test_raising_listener_and_callbacks_change_nothing(
    scheduler: AutoCron, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener or callback that raises is logged; the run is recorded and other listeners still run."""
    seen: list[str] = []

    def bad_listener(event: Event) -> None:
        raise RuntimeError("listener bug")

    scheduler.add_listener(bad_listener)
    scheduler.add_listener(lambda e: seen.append(e.kind.value), kinds=EventKind.SUCCEEDED)
    scheduler.add_task("ok", func=lambda: None, every="1s", on_success=bad_listener)
    clock.advance(1)
    assert scheduler.settle()
    assert seen == ["succeeded"]
    assert scheduler.history("ok")[0].status is RunStatus.SUCCEEDED
    assert "listener bug" in caplog.text


def test_callbacks_receive_the_event(scheduler: AutoCron, clock: FakeClock) -> None:
    """on_success and on_failure whose parameter is named event are called with the run's event."""
    got: list[Event] = []

    def keep(event: Event) -> None:
        got.append(event)

    scheduler.add_task("good", func=lambda: None, every="1s", on_success=keep)
    scheduler.add_task("bad", func=lambda: 1 / 0, every="1s", on_failure=keep)
    clock.advance(1)
    assert scheduler.settle()
    kinds = sorted((e.task_name, e.kind.value) for e in got)
    assert kinds == [("bad", "failed"), ("good", "succeeded")]
    failed = next(e for e in got if e.task_name == "bad")
    assert failed.error == "ZeroDivisionError: division by zero"


def test_more_due_tasks_than_workers_keep_firing(clock: FakeClock) -> None:
    """With one worker and forty tasks every second, every task runs every second."""
    scheduler = AutoCron(timezone="UTC", clock=clock, max_workers=1)
    scheduler.start(blocking=False)
    try:
        for i in range(40):
            scheduler.add_task(f"t{i}", func=lambda: None, every="1s")
        for _ in range(3):
            clock.advance(1)
            assert scheduler.settle()
        assert all(len(scheduler.history(f"t{i}")) == 3 for i in range(40))
    finally:
        scheduler.stop()


def test_recovered_flag_after_a_failed_occurrence(scheduler: AutoCron, clock: FakeClock) -> None:
    """The first success after a failed occurrence is marked recovered."""
    outcomes = iter([True, False, False])
    got: list[bool] = []

    def sometimes() -> None:
        if next(outcomes):
            raise ValueError("no")

    scheduler.add_task("s", func=sometimes, every="1s")
    scheduler.add_listener(lambda e: got.append(e.recovered), kinds="succeeded")
    for _ in range(3):
        clock.advance(1)
        assert scheduler.settle()
    assert got == [True, False]


class StuckGate(Gate):
    """A Gate that also remembers the threads it ran on, so a test can join them."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def __call__(self) -> None:
        self.threads.append(threading.current_thread())
        super().__call__()


def test_timed_out_function_keeps_its_overlap_slot_until_it_returns(
    scheduler: AutoCron, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """overlap_policy=skip: a timed-out function still running blocks the next occurrence until it returns."""
    gate = StuckGate()
    scheduler.add_task("stuck", func=gate, every="10s", timeout=5, overlap_policy="skip")
    clock.advance(10)
    assert gate.entered.acquire(timeout=5)
    clock.advance(5)  # the timeout: recorded at once, the thread runs on
    assert scheduler.settle()
    assert [r.status for r in scheduler.history("stuck")] == [RunStatus.TIMED_OUT]
    clock.advance(5)  # the next occurrence, while the timed-out call still runs
    assert scheduler.settle()
    assert gate.calls == 1 and gate.peak == 1
    gate.release.set()
    gate.threads[0].join(5)  # the worker records the end before its thread exits
    assert "ended" in caplog.text and "instance slot is free again" in caplog.text
    clock.advance(10)  # the slot is free again: this one runs
    assert scheduler.settle()
    statuses = [r.status for r in sorted(scheduler.history("stuck"), key=lambda r: r.scheduled_for)]
    assert statuses == [RunStatus.TIMED_OUT, RunStatus.SKIPPED, RunStatus.SUCCEEDED]
    assert gate.calls == 2 and gate.peak == 1


def test_retry_of_a_timed_out_function_waits_for_its_thread(scheduler: AutoCron, clock: FakeClock) -> None:
    """The retry after a timeout starts only once the timed-out call has returned, never beside it."""
    gate = StuckGate()
    scheduler.add_task("stuck", func=gate, every="1h", timeout=5, retries=1, retry_delay=0)
    clock.advance(3600)
    assert gate.entered.acquire(timeout=5)
    clock.advance(5)
    assert scheduler.settle()
    assert gate.calls == 1  # the retry is due, but the first call still runs
    gate.release.set()
    assert gate.entered.acquire(timeout=5)  # the retry starts once the first call returned
    assert scheduler.settle()
    records = sorted(scheduler.history("stuck"), key=lambda r: r.attempt)
    assert [(r.attempt, r.status) for r in records] == [(1, RunStatus.TIMED_OUT), (2, RunStatus.SUCCEEDED)]
    assert gate.peak == 1
