"""The cluster agent: heartbeats, shared anchors, and retrying what a dead node left behind."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest

from autocron_core import AutoCron, MemoryStore, RunRecord, RunStatus
from autocron_core.protocols import ClusterStore
from autocron_core.testing import FakeClock

from .conftest import T0


class SharedMemoryStore(MemoryStore):
    """A one-process stand-in for a ClusterStore, to test the core side of clustering."""

    lease_seconds = 0.3

    def __init__(self) -> None:
        super().__init__()
        self.beats: list[str] = []
        self.anchors: dict[str, dt.datetime] = {}
        self.dead: list[RunRecord] = []
        self.nodes: set[str] = set()
        self.beat = threading.Event()
        self.reaped = threading.Event()

    def register_node(self, node_id: str) -> None:
        self.nodes.add(node_id)

    def unregister_node(self, node_id: str) -> None:
        self.nodes.discard(node_id)

    def heartbeat(self, node_id: str) -> None:
        self.beats.append(node_id)
        self.beat.set()

    def reap_abandoned(self, node_id: str, tasks: object = None) -> list[RunRecord]:
        self.asked_for = tasks
        reaped, self.dead = self.dead, []
        for record in reaped:
            self.finish_run(record._replace(status=RunStatus.ABANDONED))
        if reaped:
            self.reaped.set()
        return reaped

    def shared_anchor(self, name: str, anchor: dt.datetime) -> dt.datetime:
        return self.anchors.setdefault(name, anchor)


def test_a_store_with_cluster_operations_is_a_cluster_store() -> None:
    """The protocol check tells a cluster store from a plain one."""
    assert isinstance(SharedMemoryStore(), ClusterStore)
    assert not isinstance(MemoryStore(), ClusterStore)


def test_interval_anchor_comes_from_the_store(clock: FakeClock) -> None:
    """A second node counts an interval task from the first node's anchor, not its own start."""
    store = SharedMemoryStore()
    store.anchors["tick"] = T0 - dt.timedelta(seconds=7)
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="b")
    scheduler.add_task("tick", func=lambda: None, every="10s")
    scheduler.start(blocking=False)
    try:
        task = scheduler.get_task(name="tick")
        assert task is not None and task.next_run == T0 + dt.timedelta(seconds=3)
        scheduler.add_task("late", func=lambda: None, every="10s")  # added while running: asked at once
        assert store.anchors["late"] == T0
    finally:
        scheduler.stop()


class BatchAnchorStore(SharedMemoryStore):
    """Counts how the scheduler asks for anchors: one by one, or in batches."""

    def __init__(self) -> None:
        super().__init__()
        self.single: list[str] = []
        self.batches: list[list[str]] = []

    def shared_anchor(self, name: str, anchor: dt.datetime) -> dt.datetime:
        self.single.append(name)
        return super().shared_anchor(name, anchor)

    def shared_anchors(self, anchors: dict[str, dt.datetime]) -> dict[str, dt.datetime]:
        self.batches.append(sorted(anchors))
        return {name: self.anchors.setdefault(name, when) for name, when in anchors.items()}


def test_anchors_of_tasks_added_before_start_are_shared_in_one_batch(clock: FakeClock) -> None:
    """A node starting with many interval tasks asks the store once, not once per task; a task
    removed or rescheduled before start() is not anchored, and every task lands on the shared grid."""
    store = BatchAnchorStore()
    for i in range(50):
        store.anchors[f"t{i}"] = T0 - dt.timedelta(seconds=i)  # the first node's anchors
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="b")
    for i in range(200):
        scheduler.add_task(f"t{i}", func=lambda: None, every="60s")
    scheduler.remove_task(name="t199")
    scheduler.reschedule("t198", every="30s")
    assert store.single == [] and store.batches == []  # nothing asked before start()
    scheduler.start(blocking=False)
    try:
        assert store.single == []
        assert store.batches == [sorted(f"t{i}" for i in range(198))]  # t198 got its own anchor
        first = scheduler.get_task(name="t7")
        assert first is not None and first.next_run == T0 + dt.timedelta(seconds=53)  # T0 - 7 s + 60 s
        new = scheduler.get_task(name="t120")
        assert (
            new is not None and new.next_run == T0 + dt.timedelta(seconds=60) and store.anchors["t120"] == T0
        )
    finally:
        scheduler.stop()


def test_a_store_failing_at_start_leaves_the_anchors_to_ask_again(clock: FakeClock) -> None:
    """start() raises the store's error before scheduling anything, and a second start() succeeds."""
    from autocron_core.errors import StoreError

    class FlakyStore(BatchAnchorStore):
        fail = True

        def shared_anchors(self, anchors: dict[str, dt.datetime]) -> dict[str, dt.datetime]:
            if self.fail:
                self.fail = False
                raise StoreError("the database is down")
            return super().shared_anchors(anchors)

    store = FlakyStore()
    store.anchors["job"] = T0 - dt.timedelta(seconds=5)
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="b")
    scheduler.add_task("job", func=lambda: None, every="60s")
    with pytest.raises(StoreError):
        scheduler.start(blocking=False)
    assert not scheduler.running
    scheduler.start(blocking=False)
    try:
        task = scheduler.get_task(name="job")
        assert task is not None and task.next_run == T0 + dt.timedelta(seconds=55)
    finally:
        scheduler.stop()


def test_node_heartbeats_and_retries_an_abandoned_occurrence(clock: FakeClock) -> None:
    """A claim left by a dead node is reaped and retried here as the next attempt, once."""
    store = SharedMemoryStore()
    ran = threading.Event()
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="alive")
    scheduler.add_task("job", func=ran.set, every="1h", retries=2)
    occurrence = T0 - dt.timedelta(minutes=1)
    orphan = RunRecord("job", occurrence, 1, RunStatus.RUNNING, occurrence, None, None, "dead-node")
    store.claim_run(orphan)
    store.dead.append(orphan)
    scheduler.start(blocking=False)
    try:
        assert store.beat.wait(5)
        assert ran.wait(5)
        assert scheduler.settle()
        records = sorted(scheduler.history("job"), key=lambda r: r.attempt)
        assert [(r.attempt, r.status, r.node_id) for r in records] == [
            (1, RunStatus.ABANDONED, "dead-node"),
            (2, RunStatus.SUCCEEDED, "alive"),
        ]
        assert "alive" in store.nodes and "alive" in store.beats
    finally:
        scheduler.stop()
    assert "alive" not in store.nodes


def test_no_retry_of_an_abandoned_occurrence_without_retries_left(clock: FakeClock) -> None:
    """An abandoned claim of a task with no retries is recorded and left alone."""
    store = SharedMemoryStore()
    calls: list[int] = []
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="alive")
    scheduler.add_task("job", func=lambda: calls.append(1), every="1h", retries=0)
    orphan = RunRecord("job", T0, 1, RunStatus.RUNNING, T0, None, None, "dead-node")
    store.claim_run(orphan)
    store.dead.append(orphan)
    scheduler.start(blocking=False)
    try:
        assert store.reaped.wait(5)
        assert scheduler.settle()
        assert calls == []
        assert [r.status for r in scheduler.history("job")] == [RunStatus.ABANDONED]
    finally:
        scheduler.stop()


def test_the_agent_reaps_only_tasks_this_node_has(clock: FakeClock) -> None:
    """A node asks the store only for claims of tasks it can retry."""
    store = SharedMemoryStore()
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="n")
    scheduler.add_task("mine", func=lambda: None, every="1h")
    scheduler.start(blocking=False)
    try:
        assert store.beat.wait(5)
        deadline = threading.Event()
        deadline.wait(0.2)
        assert list(store.asked_for) == ["mine"]  # type: ignore[call-overload]
    finally:
        scheduler.stop()


def test_an_attempt_whose_claim_failed_is_not_retried(clock: FakeClock) -> None:
    """If claiming fails (database down), the attempt may run elsewhere: no retry here."""

    class DownStore(SharedMemoryStore):
        def claim_run(self, record: RunRecord) -> bool:
            raise ConnectionError("database unreachable")

    store = DownStore()
    calls: list[int] = []
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="n")
    scheduler.add_task("job", func=lambda: calls.append(1), every="10s", retries=3, retry_delay=1)
    scheduler.start(blocking=False)
    try:
        clock.advance(10)
        assert scheduler.settle()
        clock.advance(5)
        assert scheduler.settle()
        assert calls == []
        task = scheduler.get_task(name="job")
        assert task is not None and task.fail_count == 1
    finally:
        scheduler.stop()


def test_a_node_at_its_instance_limit_leaves_the_occurrence_to_others(clock: FakeClock) -> None:
    """In a cluster, a busy node records no 'skipped' claim that would stop idle nodes running it."""
    store = SharedMemoryStore()
    release = threading.Event()
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="busy")
    scheduler.add_task("slow", func=lambda: release.wait(10), every="1s", overlap_policy="skip")
    scheduler.start(blocking=False)
    try:
        clock.advance(1)
        scheduler.settle(timeout=0.2)
        clock.advance(1)
        scheduler.settle(timeout=0.2)
        release.set()
        assert scheduler.settle()
        statuses = sorted(r.status.value for r in store.history("slow"))
        assert statuses == ["succeeded"]  # the second occurrence was left unclaimed
    finally:
        scheduler.stop()


def test_a_change_notice_makes_the_agent_sync_at_once(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the store signals a definition change, the node picks it up without waiting to poll."""
    from autocron_core import _cluster

    monkeypatch.setattr(_cluster, "SYNC_INTERVAL", 3600.0)  # polling alone would take an hour

    class WatchedStore(SharedMemoryStore):
        persistent = True
        notice: Any = None

        def watch(self, callback: Any) -> Any:
            WatchedStore.notice = callback
            return lambda: None

        def save_state(self, task: Any) -> None:
            pass

    store = WatchedStore()
    scheduler = AutoCron(timezone="UTC", clock=clock, store=store, node_id="n")
    scheduler.start(blocking=False)
    try:
        from autocron_core.task import build_task

        store.save_task(build_task("from-elsewhere", command="true", every="1h"))
        assert WatchedStore.notice is not None
        WatchedStore.notice()
        deadline = time.monotonic() + 5
        while scheduler.get_task(name="from-elsewhere") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert scheduler.get_task(name="from-elsewhere") is not None
    finally:
        scheduler.stop()
