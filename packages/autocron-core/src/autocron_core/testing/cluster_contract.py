"""The contract every ``ClusterStore`` must keep, as a pytest class.

Subclass it in a package's tests, provide a ``stores`` fixture (three stores
over one shared storage: three nodes, each with a 30 s lease) and the
``expire`` hook that ages claims' leases as a node that stopped heartbeating
long ago would leave them::

    class TestMyClusterStore(ClusterContract):
        @pytest.fixture
        def stores(self, url):
            opened = [MyStore(url, lease=30) for _ in range(3)]
            yield opened
            for store in opened:
                store.close()

        def expire(self, store, *records):
            ...

The suite checks what several nodes rely on: heartbeats renew only the
node's own leases, expired claims of other nodes are reaped once (also when
several nodes reap at once), a late finish never overwrites a reaped claim,
live nodes, shared anchors.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from autocron_core.protocols import ClusterStore
from autocron_core.records import RunRecord, RunStatus

__all__ = ["ClusterContract"]

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


def _claim(store: Any, node: str, minute: int = 0, task: str = "job") -> RunRecord:
    when = T0 + _dt.timedelta(minutes=minute)
    record = RunRecord(task, when, 1, RunStatus.RUNNING, when, None, None, node)
    assert store.claim_run(record)
    return record


def _stored(store: Any, record: RunRecord) -> RunRecord:
    found: list[RunRecord] = [r for r in store.history(record.task, 10**6) if r.key == record.key]
    assert len(found) == 1, found
    return found[0]


class ClusterContract:
    """The guarantees of ``autocron_core.protocols.ClusterStore``, as tests."""

    @pytest.fixture
    def stores(self) -> Iterator[list[Any]]:
        """Three stores over one storage, lease 30 s; subclasses override this fixture."""
        raise NotImplementedError("subclasses of ClusterContract provide a `stores` fixture")

    def expire(self, store: Any, *records: RunRecord) -> None:
        """Make the leases of ``records`` expired, as if their node had died long ago."""
        raise NotImplementedError("subclasses of ClusterContract provide `expire`")

    def test_is_a_cluster_store_with_the_lease_asked_for(self, stores: list[Any]) -> None:
        """Each store is a ClusterStore whose lease_seconds is the lease it was opened with."""
        assert all(isinstance(store, ClusterStore) and store.lease_seconds == 30 for store in stores)

    def test_heartbeat_keeps_only_this_nodes_claims_alive(self, stores: list[Any]) -> None:
        """After heartbeat(a), a's expired claim is renewed (not reaped); b's expired claim is reaped."""
        store = stores[0]
        mine, theirs = _claim(store, "a", 0), _claim(store, "b", 1)
        self.expire(store, mine, theirs)
        store.heartbeat("a")
        reaped = stores[1].reap_abandoned("c")
        assert [r.key for r in reaped] == [theirs.key]
        assert _stored(store, mine).status is RunStatus.RUNNING

    def test_reap_marks_only_other_nodes_expired_claims(self, stores: list[Any]) -> None:
        """Expired claims of other nodes become abandoned; live leases, finished runs and own claims stay."""
        store = stores[0]
        dead = _claim(store, "dead", 0)
        store.finish_run(_claim(store, "dead", 1, task="finished").finished(RunStatus.SUCCEEDED, T0))
        alive = _claim(store, "alive", 2)
        own = _claim(store, "me", 3)
        self.expire(store, dead, own)
        reaped = store.reap_abandoned("me")
        assert [(r.key, r.node_id, r.status) for r in reaped] == [(dead.key, "dead", RunStatus.ABANDONED)]
        assert "taken over by me" in (reaped[0].error or "") and reaped[0].finished_at is not None
        assert _stored(store, dead) == reaped[0]
        assert _stored(store, alive).status is RunStatus.RUNNING
        assert _stored(store, own).status is RunStatus.RUNNING
        assert store.reap_abandoned("me") == []

    def test_reap_takes_only_the_tasks_asked_for(self, stores: list[Any]) -> None:
        """With tasks=, only claims of those tasks are reaped; the others wait for a node that has them."""
        store = stores[0]
        mine, other = _claim(store, "dead", 0, task="mine"), _claim(store, "dead", 0, task="other")
        self.expire(store, mine, other)
        assert [r.task for r in store.reap_abandoned("me", ["mine"])] == ["mine"]
        assert _stored(store, other).status is RunStatus.RUNNING
        assert store.reap_abandoned("me", []) == []

    def test_concurrent_reapers_take_each_claim_exactly_once(self, stores: list[Any]) -> None:
        """Three nodes reaping 60 expired claims at once: each claim is returned by exactly one of them."""
        claims = [_claim(stores[0], "dead", minute) for minute in range(60)]
        self.expire(stores[0], *claims)
        barrier = threading.Barrier(3)
        results: dict[int, list[RunRecord]] = {}

        def reap(index: int) -> None:
            barrier.wait(10)
            results[index] = stores[index].reap_abandoned(f"reaper-{index}")

        threads = [threading.Thread(target=reap, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        keys = [r.key for found in results.values() for r in found]
        assert sorted(keys) == sorted(c.key for c in claims)

    def test_a_late_finish_never_overwrites_a_reaped_claim(self, stores: list[Any]) -> None:
        """A node cut off past its lease finishes after being reaped: the record stays abandoned.

        Its error gains how the run really ended; the retry (attempt 2, the
        reaper's) is untouched.
        """
        old, reaper = stores[0], stores[1]
        claim = _claim(old, "old", 0)
        self.expire(old, claim)
        (reaped,) = reaper.reap_abandoned("new")
        retry = RunRecord("job", claim.scheduled_for, 2, RunStatus.RUNNING, T0, None, None, "new")
        assert reaper.claim_run(retry)
        old.heartbeat("old")  # the cut-off node comes back
        old.finish_run(claim.finished(RunStatus.SUCCEEDED, T0 + _dt.timedelta(seconds=5)))
        stored = _stored(reaper, claim)
        assert stored.status is RunStatus.ABANDONED and stored.finished_at == reaped.finished_at
        assert stored.error == f"{reaped.error}; its node old finished it later: succeeded"
        assert _stored(reaper, retry) == retry

    def test_live_nodes_after_register_and_unregister(self, stores: list[Any]) -> None:
        """register_node makes a node live (again after a restart); unregister_node forgets it."""
        store = stores[0]
        if not callable(getattr(store, "live_nodes", None)):
            pytest.skip("this store does not list live nodes (optional)")
        store.register_node("b")
        store.register_node("a")
        store.register_node("a")
        assert stores[1].live_nodes() == ["a", "b"]
        store.unregister_node("a")
        store.unregister_node("never-started")
        assert stores[2].live_nodes() == ["b"]

    def test_shared_anchor_first_one_stored_wins(self, stores: list[Any]) -> None:
        """Every node gets the first node's anchor for a function task, and it is not a task."""
        assert stores[0].shared_anchor("f", T0) == T0
        assert stores[1].shared_anchor("f", T0 + _dt.timedelta(hours=1)) == T0
        assert stores[2].load_tasks() == []

    def test_shared_anchors_in_a_batch_agree_with_one_by_one(self, stores: list[Any]) -> None:
        """The optional batch form keeps every anchor stored first, stores the new ones (more
        than one statement's worth of names), and one-by-one callers then see them."""
        batch = getattr(stores[0], "shared_anchors", None)
        if not callable(batch):
            pytest.skip("this store has no batch form of shared_anchor (optional)")
        later = T0 + _dt.timedelta(hours=1)
        assert stores[1].shared_anchor("b-0007", T0) == T0  # stored by another node first
        names = [f"b-{i:04d}" for i in range(1200)]
        shared = batch({name: later for name in names})
        assert shared["b-0007"] == T0
        assert {name for name, when in shared.items() if when == later} == set(names) - {"b-0007"}
        assert stores[2].shared_anchor("b-1199", T0) == later
        assert batch({"b-0007": later, "new": later}) == {"b-0007": T0, "new": later}
        assert stores[2].load_tasks() == []
