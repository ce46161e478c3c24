"""RedisStore as a ClusterStore: the cluster contract, and what is Redis's own (server clock, fencing).

Several ``RedisStore`` objects on one prefix stand for several nodes. A lease
is made to expire by setting its score in ``<prefix>:running`` to the past,
as a node that stopped heartbeating long ago would leave it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import Any

import pytest

from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import to_utc_us
from autocron_core.testing.cluster_contract import ClusterContract
from autocron_store import RedisStore
from autocron_store._redis_keys import sort_key

pytestmark = pytest.mark.redis

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


@pytest.fixture
def stores(redis_url: str) -> Iterator[list[RedisStore]]:
    """Three stores on one prefix: three nodes."""
    opened = [RedisStore(redis_url, lease=30) for _ in range(3)]
    yield opened
    for store in opened:
        store.close()


def _member(record: RunRecord) -> str:
    return f"{sort_key(to_utc_us(record.scheduled_for), record.attempt)}:{record.task}"


def _claim(store: RedisStore, node: str, minute: int = 0, task: str = "job") -> RunRecord:
    when = T0 + _dt.timedelta(minutes=minute)
    record = RunRecord(task, when, 1, RunStatus.RUNNING, when, None, None, node)
    assert store.claim_run(record)
    return record


def _lease_ms(store: RedisStore, record: RunRecord) -> float | None:
    score: Any = store.client.zscore(f"{store.keys}running", _member(record))
    return None if score is None else float(score)


def _expire(store: RedisStore, *records: RunRecord) -> None:
    """Age the claims' leases as if their node had stopped heartbeating long ago."""
    for record in records:
        store.client.zadd(f"{store.keys}running", {_member(record): 1}, xx=True)


class TestRedisCluster(ClusterContract):
    """The ClusterStore contract on Redis (three stores on one key prefix)."""

    @pytest.fixture
    def stores(self, redis_url: str) -> Iterator[list[RedisStore]]:
        """Three stores on one prefix: three nodes."""
        opened = [RedisStore(redis_url, lease=30) for _ in range(3)]
        yield opened
        for store in opened:
            store.close()

    def expire(self, store: Any, *records: RunRecord) -> None:
        _expire(store, *records)


def _server_ms(store: RedisStore) -> float:
    seconds, micros = store.client.time()
    return seconds * 1000 + micros / 1000


def _stored(store: RedisStore, record: RunRecord) -> RunRecord:
    (found,) = [r for r in store.history(record.task, 10**6) if r.key == record.key]
    return found


def test_a_running_claim_gets_a_lease_on_the_server_clock(stores: list[RedisStore]) -> None:
    """claim_run sets the lease to the server's now + lease; finishing the claim drops it."""
    store = stores[0]
    before = _server_ms(store)
    record = _claim(store, "a")
    after = _server_ms(store)
    lease = _lease_ms(store, record)
    assert lease is not None and before + 30_000 - 1 <= lease <= after + 30_000 + 1
    store.finish_run(record.finished(RunStatus.SUCCEEDED, T0))
    assert _lease_ms(store, record) is None


def test_heartbeat_renews_only_this_nodes_running_leases(stores: list[RedisStore]) -> None:
    """heartbeat(node) records the node and pushes its own leases forward, nobody else's."""
    store = stores[0]
    mine, theirs = _claim(store, "a", 0), _claim(store, "b", 1)
    _expire(store, mine, theirs)
    store.heartbeat("a")
    assert (_lease_ms(store, mine) or 0) > _server_ms(store)
    assert _lease_ms(store, theirs) == 1
    assert store.live_nodes() == ["a"]


def test_register_live_nodes_and_unregister(stores: list[RedisStore]) -> None:
    """register_node makes a node live (again after a restart); unregister_node forgets it."""
    store = stores[0]
    store.register_node("b")
    store.register_node("a")
    store.register_node("a")
    assert stores[1].live_nodes() == ["a", "b"]
    store.unregister_node("a")
    store.unregister_node("never-started")
    assert stores[2].live_nodes() == ["b"]
    store.client.zadd(f"{store.keys}nodes", {"b": 1})  # its last heartbeat long ago
    assert store.live_nodes() == []


def test_a_late_finish_after_reaping_never_overwrites_the_abandoned_record(stores: list[RedisStore]) -> None:
    """Fencing: a node cut off past its lease finishes after being reaped; the record stays abandoned.

    Its error says how the run really ended, its retry (attempt 2, claimed by
    the reaper) is untouched, and a heartbeat of the cut-off node renews nothing.
    """
    old, reaper = stores[0], stores[1]
    claim = _claim(old, "old", 0)
    _expire(old, claim)
    (reaped,) = reaper.reap_abandoned("new")
    retry = RunRecord("job", claim.scheduled_for, 2, RunStatus.RUNNING, T0, None, None, "new")
    assert reaper.claim_run(retry)
    old.heartbeat("old")  # the cut-off node comes back: its reaped claim stays reaped
    assert _lease_ms(old, claim) is None
    old.finish_run(claim.finished(RunStatus.SUCCEEDED, T0 + _dt.timedelta(seconds=5), output="done"))
    stored = _stored(reaper, claim)
    assert stored.status is RunStatus.ABANDONED and stored.finished_at == reaped.finished_at
    assert stored.error == f"{reaped.error}; its node old finished it later: succeeded"
    assert stored.output == "done"
    assert _stored(reaper, retry) == retry
    (stats,) = reaper.stats()
    assert (stats.succeeded, stats.abandoned) == (0, 1)


def test_a_finish_is_refused_over_a_claim_that_is_not_this_nodes(stores: list[RedisStore]) -> None:
    """Fencing token: the key holds a newer claim (the server lost the old one): never written over."""
    old, successor = stores[0], stores[1]
    claim = _claim(old, "old", 0)
    # The server lost the claim (no persistence) and the successor claimed the key afresh.
    old.client.delete(f"{old.keys}run:job:{sort_key(to_utc_us(claim.scheduled_for), 1)}")
    newer = claim._replace(node_id="new")
    assert successor.claim_run(newer)
    old.finish_run(claim.finished(RunStatus.FAILED, T0, error="boom"))
    assert _stored(successor, claim) == newer
    successor.finish_run(newer.finished(RunStatus.SUCCEEDED, T0))
    assert _stored(successor, claim).status is RunStatus.SUCCEEDED


def test_a_claim_retried_after_a_lost_reply_is_recognised_as_its_own(stores: list[RedisStore]) -> None:
    """The claim script, told it is a retry, reports the key it had already taken as claimed."""
    store = stores[0]
    record = _claim(store, "a", 0)
    fields = ["job", sort_key(to_utc_us(record.scheduled_for), 1), "running", '"a"']
    started = str(to_utc_us(record.started_at or T0))
    args = [30_000, "1", 1, *fields, started, "null", "", "0", 0]
    assert store._run("CLAIM", args) != [0]
    args[6] = '"b"'  # another node's retry does not get it
    assert store._run("CLAIM", args) == [0]
