"""A burst taken out of the heap at once (``_drain``) fires in exactly the order of popping
one entry at a time, and loses or repeats nothing."""

from __future__ import annotations

import datetime as dt
import heapq
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, _drain
from autocron_core import _engine as engine_module
from autocron_core.testing import FakeClock

T0 = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
T0_US = int(T0.timestamp()) * 1_000_000


def _noop() -> None:
    pass


def _is_heap(heap: list[Any]) -> bool:
    return all(heap[(i - 1) // 2] <= heap[i] for i in range(1, len(heap)))


@settings(max_examples=300, deadline=None)
@given(
    fires=st.lists(st.integers(0, 40), max_size=3000),
    now=st.integers(-1, 41),
    min_heap=st.sampled_from([0, 16, 1024]),
)
def test_drain_takes_exactly_the_due_entries_in_pop_order(fires: list[int], now: int, min_heap: int) -> None:
    heap: list[tuple[int, int, object]] = []
    for seq, fire in enumerate(fires):
        heapq.heappush(heap, (fire, seq, object()))
    before = list(heap)
    popped_one_by_one = []
    reference = list(heap)
    while reference and reference[0][0] <= now:
        popped_one_by_one.append(heapq.heappop(reference))

    original = _drain.MIN_HEAP
    _drain.MIN_HEAP = min_heap
    try:
        ready = _drain.drain_due(heap, now)
    finally:
        _drain.MIN_HEAP = original

    if ready is None:
        assert heap == before  # left as it was: popping goes on one by one
        return
    assert ready[::-1] == popped_one_by_one  # the next one last
    assert _is_heap(heap)
    assert sorted(heap) == sorted(reference)
    assert all(fire > now for fire, _, _ in heap)


def test_a_small_or_mostly_future_heap_is_never_drained() -> None:
    heap = [(fire, seq, None) for seq, fire in enumerate(range(5000))]  # already a heap
    assert _drain.drain_due(heap, 10) is None  # 11 of 5,000 due: pops are cheaper
    small = [(0, seq, None) for seq in range(100)]
    assert _drain.drain_due(small, 0) is None  # under MIN_HEAP
    everything = [(0, seq, None) for seq in range(5000)]
    ready = _drain.drain_due(everything, 0)
    assert ready is not None and len(ready) == 5000 and everything == []


# -- the engine: a drained burst fires in the order of one-by-one pops ----------------------

_TASKS = st.lists(
    st.one_of(
        st.tuples(st.just("at"), st.integers(1, 30)),  # a one-shot, seconds after T0
        st.tuples(st.just("every"), st.integers(1, 7)),  # an interval with a backlog (coalesce off)
    ),
    min_size=1,
    max_size=60,
)


def _dispatch_order(tasks: list[tuple[str, int]], advance: int, drain: bool) -> list[tuple[str, int]]:
    """The (task, occurrence) pairs the engine fires when ``advance`` seconds pass at once."""
    clock = FakeClock(T0)
    scheduler = AutoCron(timezone="UTC", clock=clock)
    fired: list[tuple[str, int]] = []
    on_due = engine_module.Engine._on_due

    def recording(self: Any, task: Any, now_us: int) -> None:
        fired.append((task.name, task.next_run_us))
        on_due(self, task, now_us)

    scheduler._on_due = recording.__get__(scheduler)  # type: ignore[method-assign]
    if not drain:
        scheduler_drain = engine_module.drain_due
        engine_module.drain_due = lambda heap, now: None  # type: ignore[assignment]
    try:
        for i, (kind, value) in enumerate(tasks):
            if kind == "at":
                when = T0 + dt.timedelta(seconds=value)
                scheduler.add_task(f"t{i}", func=_noop, at=when, misfire_grace_time=None)
            else:
                scheduler.add_task(f"t{i}", func=_noop, every=value, coalesce=False, misfire_grace_time=None)
        scheduler.start(blocking=False)
        with scheduler._lock:  # the loop thread waits on the fake clock, which stays at T0
            scheduler.run_due(T0_US + advance * 1_000_000)
            assert not scheduler._ready
    finally:
        if not drain:
            engine_module.drain_due = scheduler_drain
        scheduler.stop()
    return fired


@settings(
    max_examples=60,
    deadline=None,
    # The fixture only sets the same two constants for every example.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(tasks=_TASKS, advance=st.integers(0, 40))
def test_drained_bursts_fire_in_one_by_one_order(
    tasks: list[tuple[str, int]], advance: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Drain even tiny heaps, at the first due leaf, so every example takes the bulk path.
    monkeypatch.setattr(_drain, "MIN_HEAP", 0)
    monkeypatch.setattr(_drain, "ENOUGH", 1)
    with_drain = _dispatch_order(tasks, advance, drain=True)
    without = _dispatch_order(tasks, advance, drain=False)
    assert with_drain == without
    # Each occurrence at most once, and backlogs (pushed during the burst) included.
    assert len(set(with_drain)) == len(with_drain)


def test_ten_thousand_due_at_once_all_run_once() -> None:
    """The benchmark's burst: every one-shot task runs exactly once, recorded."""
    clock = FakeClock(T0)
    scheduler = AutoCron(timezone="UTC", clock=clock)
    when = T0 + dt.timedelta(seconds=5)
    for i in range(10_000):
        scheduler.add_task(f"t{i}", func=_noop, at=when)
    scheduler.start(blocking=False)
    try:
        clock.advance(5)
        assert scheduler.settle(60)
        tasks = [scheduler.get_task(name=f"t{i}") for i in range(10_000)]
        assert [(t.run_count, t.last_status) for t in tasks if t] == [(1, "succeeded")] * 10_000
        records = [scheduler.history(f"t{i}") for i in range(10_000)]
        assert all(len(r) == 1 and r[0].status.value == "succeeded" for r in records)
    finally:
        scheduler.stop()


def test_a_clock_set_back_returns_drained_entries_to_the_heap() -> None:
    clock = FakeClock(T0)
    scheduler = AutoCron(timezone="UTC", clock=clock)
    for i in range(3):
        scheduler.add_task(f"t{i}", func=_noop, at=T0 + dt.timedelta(seconds=10 + i))
    scheduler.start(blocking=False)
    try:
        with scheduler._lock:
            entries = sorted(scheduler._heap, reverse=True)
            scheduler._heap.clear()
            scheduler._ready = list(entries)  # as a drain at T0 + 12 s left them
            assert scheduler._dispatch_batch(T0_US + 5_000_000, 64) == (0, False)  # the clock went back
            assert scheduler._ready == []
            assert sorted(scheduler._heap) == sorted(entries) and _is_heap(scheduler._heap)
        clock.advance(12)
        assert scheduler.settle(10)
        assert [len(scheduler.history(f"t{i}")) for i in range(3)] == [1, 1, 1]
    finally:
        scheduler.stop()
