"""Cluster nodes split the occurrences between them, and take over a silent node's share."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, MemoryStore
from autocron_core._engine import TAKEOVER_DELAY, Engine
from autocron_core.testing import FakeClock

from .conftest import T0

_names = st.text(min_size=1, max_size=40)
_nodes = st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=6, unique=True)
_moments = st.integers(min_value=-(2**62), max_value=2**62)


@settings(max_examples=300, deadline=None)
@given(nodes=_nodes, name=_names, scheduled_us=_moments)
def test_every_occurrence_has_exactly_one_owner(nodes: list[str], name: str, scheduled_us: int) -> None:
    """Nodes that agree on who is alive agree on one owner for each occurrence."""
    owners = []
    for node in nodes:
        engine = SimpleNamespace(_node_id=node, _peers=None)
        Engine.set_peers(engine, list(reversed(nodes)))  # type: ignore[arg-type]
        if Engine._owns(engine, name, scheduled_us):  # type: ignore[arg-type]
            owners.append(node)
    assert len(owners) == 1


def _scheduler(store: MemoryStore, clock: FakeClock, node: str, ran: list[tuple[str, str]]) -> AutoCron:
    lock = threading.Lock()

    def body(name: str) -> None:
        with lock:
            ran.append((node, name))

    scheduler = AutoCron(timezone="UTC", store=store, clock=clock, node_id=node, log_level=None)
    for i in range(40):
        scheduler.add_task(f"t{i}", func=body, args=(f"t{i}",), at=T0 + dt.timedelta(seconds=5))
    return scheduler


def test_two_live_nodes_each_start_their_own_share_at_once() -> None:
    """Two nodes split a burst between them: each runs its share on time, nothing runs twice."""
    clock, store, ran = FakeClock(T0), MemoryStore(), []
    a, b = _scheduler(store, clock, "node-a", ran), _scheduler(store, clock, "node-b", ran)
    for scheduler in (a, b):
        scheduler.set_peers(["node-a", "node-b"])
        scheduler.start(blocking=False)
    try:
        clock.advance(5)
        assert a.settle() and b.settle()
        by_node = {node: sorted(name for n, name in ran if n == node) for node in ("node-a", "node-b")}
        assert by_node["node-a"] and by_node["node-b"], "both nodes got a share"
        assert sorted(name for _, name in ran) == sorted(f"t{i}" for i in range(40))
        clock.advance(TAKEOVER_DELAY + 1)  # the other node's share is claimed already: nothing more runs
        assert a.settle() and b.settle()
        assert len(ran) == 40
    finally:
        a.close()
        b.close()


def test_a_silent_nodes_share_is_taken_over_after_the_delay() -> None:
    """A node whose peer never claims its share runs that share TAKEOVER_DELAY later, once."""
    clock, store, ran = FakeClock(T0), MemoryStore(), []
    b = _scheduler(store, clock, "node-b", ran)
    b.set_peers(["node-a", "node-b"])  # node-a is listed alive but claims nothing
    b.start(blocking=False)
    try:
        clock.advance(5)
        assert b.settle()
        own = len(ran)
        assert 0 < own < 40, "only its own share ran on time"
        clock.advance(TAKEOVER_DELAY)
        assert b.settle()
        assert sorted(name for _, name in ran) == sorted(f"t{i}" for i in range(40))
    finally:
        b.close()
