"""Overlap policies beyond skip/allow/queue: buffer_one, buffer_all, cancel_other, terminate_other."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, EventKind, RunStatus, TaskError
from autocron_core.task import build_task
from autocron_core.testing import FakeClock

from .conftest import T0
from .test_scheduler_policies import Gate

posix_only = pytest.mark.skipif(os.name == "nt", reason="process groups and signals are POSIX here")


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll ``condition`` until it holds or a generous deadline passes (a loaded machine is slow)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def statuses(scheduler: AutoCron, name: str) -> list[RunStatus]:
    """The statuses of a task's records, oldest first."""
    return [r.status for r in reversed(scheduler.history(name, 1000))]


def live_process(scheduler: AutoCron, name: str) -> int | None:
    """The pid of the task's running process, once it has one."""
    task = scheduler.get_task(name=name)
    runs = scheduler._live.get(task, []) if task is not None else []
    return runs[0].process.pid if runs and runs[0].process is not None else None


def alive(pid: int) -> bool:
    """Whether a process still exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


# -- buffer_one and buffer_all ---------------------------------------------------


def test_buffer_one_keeps_one_waiting_and_skips_the_rest(scheduler: AutoCron, clock: FakeClock) -> None:
    """buffer_one: while a run is busy one occurrence waits; further ones are skipped with a reason."""
    gate = Gate()
    scheduler.add_task("slow", func=gate, every="1s", overlap_policy="buffer_one")
    clock.advance(1)
    assert gate.entered.acquire(timeout=10)
    for _ in range(4):
        clock.advance(1)
        scheduler.settle(timeout=0.2)
    task = scheduler.get_task(name="slow")
    assert task is not None and task._backlog is not None and len(task._backlog) == 1
    gate.release.set()
    assert gate.entered.acquire(timeout=10)  # the one that waited runs
    assert scheduler.settle()
    records = scheduler.history("slow", 100)
    skipped = [r for r in records if r.status is RunStatus.SKIPPED]
    assert gate.calls == 2 and gate.peak == 1
    assert len(skipped) == 3
    assert all("already waiting (overlap_policy=buffer_one" in (r.error or "") for r in skipped)
    # The run that waited is the first occurrence that found the task busy.
    ran = sorted(r.scheduled_for for r in records if r.status is RunStatus.SUCCEEDED)
    assert ran[1] == T0.replace(second=2)


def test_buffer_all_is_queue_and_is_stored_as_queue() -> None:
    """buffer_all is an alias of queue: same behaviour, stored and shown as queue."""
    task = build_task("q", command="true", every="1m", overlap_policy="buffer_all", max_instances=2)
    assert task.policy.overlap_policy == "queue" and task.policy.instance_limit == 2
    assert task.to_dict()["overlap_policy"] == "queue"


def test_buffer_all_queues_like_queue(scheduler: AutoCron, clock: FakeClock) -> None:
    """buffer_all holds every occurrence while busy and runs each in turn."""
    gate = Gate()
    scheduler.add_task("slow", func=gate, every="1s", overlap_policy="buffer_all")
    clock.advance(1)
    assert gate.entered.acquire(timeout=10)
    for _ in range(3):
        clock.advance(1)
        scheduler.settle(timeout=0.2)
    gate.release.set()
    assert wait_for(lambda: gate.calls == 4)
    assert scheduler.settle()
    assert gate.peak == 1 and statuses(scheduler, "slow").count(RunStatus.SUCCEEDED) == 4


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["cancel_other", "terminate_other"])
def test_cancelling_a_sync_function_is_refused(policy: str) -> None:
    """A sync function cannot be cancelled: the policy is refused at add time, naming safe_mode."""
    scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0))
    with pytest.raises(TaskError, match="safe_mode=True") as info:
        scheduler.add_task("sync", func=lambda: None, every="1m", overlap_policy=policy)
    assert info.value.field == "overlap_policy" and scheduler.list_tasks() == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"overlap_policy": "cancel"}, "overlap_policy"),
        ({"overlap_policy": "CANCEL_OTHER"}, "overlap_policy"),
        ({"overlap_policy": "-skip"}, "overlap_policy"),
        ({"overlap_policy": "cancel_other", "max_instances": 2}, "max_instances"),
    ],
)
def test_bad_overlap_options_are_refused(options: dict[str, object], field: str) -> None:
    """Unknown policies and a second instance for a cancelling policy are refused, naming the field."""
    with pytest.raises(TaskError) as info:
        build_task("x", command="true", every="1m", **options)
    assert info.value.field == field


# -- cancel_other / terminate_other with processes -------------------------------------


@posix_only
def test_cancel_other_stops_a_command_and_starts_the_new_one(scheduler: AutoCron, clock: FakeClock) -> None:
    """cancel_other: the running command's group gets SIGTERM, is recorded cancelled, the new one starts."""
    scheduler.add_task("long", command=["sleep", "60"], every="1s", overlap_policy="cancel_other")
    clock.advance(1)
    assert wait_for(lambda: live_process(scheduler, "long") is not None)
    first = live_process(scheduler, "long")
    assert first is not None
    clock.advance(1)
    scheduler.settle(timeout=0.2)
    assert wait_for(lambda: RunStatus.CANCELLED in statuses(scheduler, "long"))
    assert wait_for(lambda: live_process(scheduler, "long") not in (None, first))
    assert not alive(first)
    (cancelled,) = [r for r in scheduler.history("long") if r.status is RunStatus.CANCELLED]
    assert cancelled.scheduled_for == T0.replace(second=1)
    assert "cancelled for the occurrence of 2026-01-05T12:00:02" in (cancelled.error or "")
    task = scheduler.get_task(name="long")
    assert task is not None and task.running == 1 and task.fail_count == 0
    _terminate(scheduler, "long")


def _terminate(scheduler: AutoCron, name: str) -> None:
    """End the task's running process at the end of a test (SIGKILL to its group)."""
    pid = live_process(scheduler, name)
    if pid is not None:
        os.killpg(pid, 9)
    assert scheduler.wait_idle(20)


TRAPS_TERM = ["sh", "-c", "trap '' TERM; sleep 60"]  # ignores SIGTERM; sleep inherits the ignore


@posix_only
def test_terminate_other_kills_at_once(scheduler: AutoCron, clock: FakeClock) -> None:
    """terminate_other sends SIGKILL at once: even a command that ignores SIGTERM ends."""
    scheduler.add_task("stubborn", command=TRAPS_TERM, every="1s", overlap_policy="terminate_other")
    clock.advance(1)
    assert wait_for(lambda: live_process(scheduler, "stubborn") is not None)
    first = live_process(scheduler, "stubborn")
    clock.advance(1)
    scheduler.settle(timeout=0.2)
    assert wait_for(lambda: RunStatus.CANCELLED in statuses(scheduler, "stubborn"))
    assert first is not None and wait_for(lambda: not alive(first))
    _terminate(scheduler, "stubborn")


@posix_only
def test_cancel_other_kills_after_the_grace_period(
    scheduler: AutoCron, clock: FakeClock, tmp_path: Path
) -> None:
    """cancel_other: a command that ignores SIGTERM is killed KILL_GRACE seconds later, not before."""
    ready = tmp_path / "ready"
    command = ["sh", "-c", f"trap '' TERM; touch '{ready}'; sleep 60"]
    scheduler.add_task("stubborn", command=command, every="1h", overlap_policy="cancel_other")
    clock.advance(3600)
    assert wait_for(lambda: live_process(scheduler, "stubborn") is not None and ready.exists())
    first = live_process(scheduler, "stubborn")
    assert first is not None
    clock.advance(3600)
    scheduler.settle(timeout=0.2)  # SIGTERM sent (and ignored)
    assert alive(first) and RunStatus.CANCELLED not in statuses(scheduler, "stubborn")
    clock.advance(5)  # KILL_GRACE
    scheduler.settle(timeout=0.2)
    assert wait_for(lambda: RunStatus.CANCELLED in statuses(scheduler, "stubborn"))
    assert wait_for(lambda: not alive(first))
    _terminate(scheduler, "stubborn")


JOBS = """
import time

def nap():
    time.sleep(60)
"""


@pytest.fixture
def jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A module of job functions importable by name, for safe mode's child process."""
    (tmp_path / "h17b_jobs.py").write_text(textwrap.dedent(JOBS))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("h17b_jobs")
    sys.modules.pop("h17b_jobs", None)


@posix_only
def test_cancel_other_with_safe_mode_kills_the_child(
    scheduler: AutoCron, clock: FakeClock, jobs: ModuleType
) -> None:
    """A sync function in safe_mode may use cancel_other: its child process is stopped."""
    scheduler.add_task("napper", func=jobs.nap, every="1s", overlap_policy="cancel_other", safe_mode=True)
    clock.advance(1)
    assert wait_for(lambda: live_process(scheduler, "napper") is not None)
    first = live_process(scheduler, "napper")
    clock.advance(1)
    scheduler.settle(timeout=0.2)
    assert wait_for(lambda: RunStatus.CANCELLED in statuses(scheduler, "napper"))
    assert first is not None and wait_for(lambda: not alive(first))
    _terminate(scheduler, "napper")


# -- cancel_other with async functions, and the property tests --------------------------


class AsyncSleeper:
    """An async job that sleeps until cancelled, counting how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.calls = 0

    async def run(self) -> None:
        with self.lock:
            self.active += 1
            self.calls += 1
            self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(600)
        finally:
            with self.lock:
                self.active -= 1


def test_cancel_other_cancels_an_async_run(scheduler: AutoCron, clock: FakeClock) -> None:
    """cancel_other cancels the running coroutine, records it cancelled, then starts the new one."""
    job = AsyncSleeper()
    events: list[EventKind] = []
    scheduler.add_listener(lambda e: events.append(e.kind), kinds=[EventKind.CANCELLED, EventKind.FAILED])
    scheduler.add_task("sleeper", func=job.run, every="1s", overlap_policy="cancel_other", retries=3)
    clock.advance(1)
    assert wait_for(lambda: job.calls == 1)
    clock.advance(1)
    scheduler.settle(timeout=0.2)
    assert wait_for(lambda: job.calls == 2 and job.active == 1)
    assert wait_for(lambda: statuses(scheduler, "sleeper") == [RunStatus.CANCELLED, RunStatus.RUNNING])
    assert job.peak == 1
    assert events == [EventKind.CANCELLED]  # not a failure, and not retried
    task = scheduler.get_task(name="sleeper")
    assert task is not None and task.last_status == "cancelled" and not task.failing
    scheduler.stop(wait=True, timeout=0.5)  # the sleeper never ends: stop() cancels it


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.integers(1, 3), min_size=1, max_size=6), hard=st.booleans())
def test_property_cancel_other_never_leaves_two_instances_running(steps: list[int], hard: bool) -> None:
    """Whatever the clock does, at most one instance runs, and the newest occurrence is the one running."""
    clock = FakeClock(T0)
    scheduler = AutoCron(timezone="UTC", clock=clock, max_workers=2)
    job = AsyncSleeper()
    policy = "terminate_other" if hard else "cancel_other"
    scheduler.add_task("sleeper", func=job.run, every="1s", overlap_policy=policy, misfire_grace_time=None)
    scheduler.start(blocking=False)
    try:
        for step in steps:
            clock.advance(step)
            scheduler.settle(timeout=0.05)
            assert wait_for(lambda: job.active == 1 and scheduler._in_flight == 1)
            assert job.peak == 1
        ran = [r for r in scheduler.history("sleeper", 1000) if r.status is RunStatus.RUNNING]
        assert len(ran) == 1 and ran[0].scheduled_for == clock.now().replace(microsecond=0)
    finally:
        scheduler.stop(wait=True, timeout=0.5)  # the sleeper never ends: stop() cancels it
    assert job.peak == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.integers(1, 3), min_size=1, max_size=8))
def test_property_buffer_one_never_queues_two(steps: list[int]) -> None:
    """While the first run is busy, never more than one occurrence waits; each later one is skipped."""
    clock = FakeClock(T0)
    scheduler = AutoCron(timezone="UTC", clock=clock, max_workers=2)
    gate = Gate()
    scheduler.add_task(
        "slow", func=gate, every="1s", overlap_policy="buffer_one", coalesce=False, misfire_grace_time=None
    )
    task = scheduler.get_task(name="slow")
    assert task is not None
    scheduler.start(blocking=False)
    try:
        clock.advance(1)
        assert gate.entered.acquire(timeout=10)
        for step in steps:
            clock.advance(step)
            scheduler.settle(timeout=0.05)
            assert len(task._backlog or ()) <= 1
        gate.release.set()
        assert scheduler.settle(timeout=20)
        occurrences = 1 + sum(steps)
        records = scheduler.history("slow", 1000)
        assert gate.calls == 2 and gate.peak == 1
        assert sum(r.status is RunStatus.SKIPPED for r in records) == occurrences - 2
    finally:
        gate.release.set()
        scheduler.stop(wait=True, timeout=10)
