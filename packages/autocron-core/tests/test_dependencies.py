"""Task dependencies (``after=``): firing, skipping on failure, windows (DST included), graph checks."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, TaskError
from autocron_core._dependencies import cycle_path, upstream_first
from autocron_core.decorator import reset_global_scheduler, schedule
from autocron_core.task import build_task
from autocron_core.testing import FakeClock

UTC = dt.timezone.utc


def ok() -> None:
    """An upstream or downstream body that succeeds."""


def boom() -> None:
    """An upstream body that fails."""
    raise RuntimeError("disk full")


def _records(scheduler: AutoCron, name: str) -> list[tuple[dt.datetime, str, str, str | None]]:
    """(occurrence, status, trigger, error) of a task's records, oldest first."""
    rows = scheduler.history(name, 1000)
    return sorted((r.scheduled_for, r.status.value, r.trigger, r.error) for r in rows)


def test_downstream_runs_after_upstream_success_keyed_by_its_finish(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """A task with after= and no schedule runs once per upstream success, keyed by its finish time."""
    scheduler.add_task("extract", func=ok, every="1h")
    scheduler.add_task("load", func=ok, after="extract")
    assert scheduler.get_task(name="load").next_run is None
    clock.advance(3600)
    assert scheduler.settle()
    assert _records(scheduler, "load") == [(clock.now(), "succeeded", "dependency", None)]
    clock.advance(1800)
    assert scheduler.settle()
    assert len(_records(scheduler, "load")) == 1  # nothing new upstream: nothing runs
    clock.advance(1800)
    assert scheduler.settle()
    assert [r[1] for r in _records(scheduler, "load")] == ["succeeded", "succeeded"]


def test_failed_upstream_records_a_skip_naming_it(scheduler: AutoCron, clock: FakeClock) -> None:
    """A failed upstream does not fire the downstream: it records skipped 'upstream ... failed'."""
    ran: list[int] = []
    scheduler.add_task("extract", func=boom, every="1h")
    scheduler.add_task("load", func=lambda: ran.append(1), after="extract")
    clock.advance(3600)
    assert scheduler.settle()
    assert _records(scheduler, "load") == [
        (clock.now(), "skipped", "dependency", "upstream 'extract' failed")
    ]
    assert ran == []


def test_retried_upstream_fires_only_after_its_final_attempt(scheduler: AutoCron, clock: FakeClock) -> None:
    """A failed attempt that a retry follows decides nothing; the retry's success fires the downstream."""
    attempts: list[int] = []

    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")

    scheduler.add_task("extract", func=flaky, every="1h", retries=1, retry_delay=30)
    scheduler.add_task("load", func=ok, after="extract")
    clock.advance(3600)
    assert scheduler.settle()
    assert _records(scheduler, "load") == []
    clock.advance(30)
    assert scheduler.settle()
    assert [r[1] for r in _records(scheduler, "load")] == ["succeeded"]


def test_all_policy_waits_for_every_upstream_any_policy_for_one(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """after_policy='all' waits for both upstream tasks; 'any' fires on the first."""
    scheduler.add_task("a", func=ok, at=clock.now() + dt.timedelta(minutes=1))
    scheduler.add_task("b", func=ok, at=clock.now() + dt.timedelta(minutes=2))
    scheduler.add_task("both", func=ok, after=["a", "b"])
    scheduler.add_task("either", func=ok, after=["a", "b"], after_policy="any")
    clock.advance(60)
    assert scheduler.settle()
    assert _records(scheduler, "both") == []
    assert len(_records(scheduler, "either")) == 1
    clock.advance(60)
    assert scheduler.settle()
    assert [r[0] for r in _records(scheduler, "both")] == [clock.now()]
    assert len(_records(scheduler, "either")) == 2  # b's success is new since either's last run


def _model(policy: str, count: int, events: list[tuple[int, bool]]) -> list[str]:
    """The documented rule, step by step: what the downstream records after each upstream outcome."""
    outcomes: dict[int, bool] = {}
    expected: list[str] = []
    for upstream, succeeded in events:
        outcomes[upstream] = succeeded
        if policy == "any":
            expected.append("succeeded" if succeeded else "skipped")
            outcomes.clear()
        elif not succeeded:
            expected.append("skipped")
            outcomes.clear()
        elif len(outcomes) == count and all(outcomes.values()):
            expected.append("succeeded")
            outcomes.clear()
    return expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    policy=st.sampled_from(["all", "any"]),
    count=st.integers(1, 3),
    events=st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=8),
)
def test_downstream_fires_iff_its_policy_holds(
    policy: str, count: int, events: list[tuple[int, bool]]
) -> None:
    """Random upstream successes and failures: the downstream runs or skips exactly as the rule says."""
    events = [(u % count, s) for u, s in events]
    clock = FakeClock(dt.datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    scheduler = AutoCron(timezone="UTC", clock=clock, max_workers=2)
    outcome = {"next": True}

    def upstream_body() -> None:
        if not outcome["next"]:
            raise RuntimeError("no")

    names = [f"up{i}" for i in range(count)]
    try:
        for name in names:
            scheduler.add_task(name, func=upstream_body, at="2030-01-01T00:00")
        scheduler.add_task("down", func=ok, after=names, after_policy=policy)
        scheduler.start(blocking=False)
        for upstream, succeeded in events:
            clock.advance(1)
            outcome["next"] = succeeded
            scheduler.run_task(name=names[upstream], timeout=10)
            assert scheduler.settle()
        assert [r[1] for r in _records(scheduler, "down")] == _model(policy, count, events)
    finally:
        scheduler.stop(timeout=5)


def test_cron_window_waits_for_upstream_and_crosses_spring_forward() -> None:
    """cron + after: each window (Europe/London, through the 2026-03-29 gap) fires once, at its
    opening when the upstream already succeeded since the last window, else at the success."""
    clock = FakeClock(dt.datetime(2026, 3, 27, 23, 0, tzinfo=UTC))
    scheduler = AutoCron(timezone="Europe/London", clock=clock, max_workers=2)
    outcome = {"ok": True}

    def extract() -> None:
        if not outcome["ok"]:
            raise RuntimeError("source down")

    scheduler.add_task("extract", func=extract, at="2030-01-01T00:00")
    scheduler.add_task("report", func=ok, cron="30 1 * * *", after="extract")
    scheduler.start(blocking=False)

    def to(moment: dt.datetime) -> None:
        clock.advance((moment - clock.now()).total_seconds())
        assert scheduler.settle()

    try:
        # 28 March: extract at 00:10 UTC, the window opens at 01:30 GMT (= UTC) and fires at once.
        to(dt.datetime(2026, 3, 28, 0, 10, tzinfo=UTC))
        scheduler.run_task(name="extract", timeout=10)
        to(dt.datetime(2026, 3, 28, 1, 30, tzinfo=UTC))
        # 29 March: 01:30 does not exist in London; the window opens at 02:00 BST = 01:00 UTC.
        to(dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
        scheduler.run_task(name="extract", timeout=10)
        to(dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
        assert len(_records(scheduler, "report")) == 1  # the window of the 29th is not open yet
        to(dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
        # 30 March: the window opens at 01:30 BST = 00:30 UTC with no new success; it fires at 05:00.
        to(dt.datetime(2026, 3, 30, 0, 30, tzinfo=UTC))
        to(dt.datetime(2026, 3, 30, 5, 0, tzinfo=UTC))
        scheduler.run_task(name="extract", timeout=10)
        assert scheduler.settle()
        # 31 March: extract fails before the window: the window is recorded skipped.
        to(dt.datetime(2026, 3, 31, 0, 0, tzinfo=UTC))
        outcome["ok"] = False
        scheduler.run_task(name="extract", timeout=10)
        to(dt.datetime(2026, 3, 31, 0, 30, tzinfo=UTC))
        # 1 April: nothing upstream; the window lapses and is recorded when the next one opens.
        to(dt.datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
        to(dt.datetime(2026, 4, 2, 0, 30, tzinfo=UTC))
        records = _records(scheduler, "report")
    finally:
        scheduler.stop(timeout=5)
    assert [(r[0], r[1]) for r in records] == [
        (dt.datetime(2026, 3, 28, 1, 30, tzinfo=UTC), "succeeded"),
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "succeeded"),
        (dt.datetime(2026, 3, 30, 0, 30, tzinfo=UTC), "succeeded"),
        (dt.datetime(2026, 3, 31, 0, 30, tzinfo=UTC), "skipped"),
        (dt.datetime(2026, 4, 1, 0, 30, tzinfo=UTC), "skipped"),
    ]
    assert records[3][3] == "upstream 'extract' failed"
    assert records[4][3] == "the window closed before upstream 'extract' succeeded"
    # The window of 2 April is open (no success yet): nothing recorded for it.


def test_unknown_upstream_and_cycles_are_refused_naming_the_path(scheduler: AutoCron) -> None:
    """Unknown names and cycles fail at add_task, naming the name or the path; nothing is added."""
    with pytest.raises(TaskError, match="'nope'"):
        scheduler.add_task("a", func=ok, after="nope")
    with pytest.raises(TaskError, match="a -> a"):
        scheduler.add_task("a", func=ok, after="a")
    assert scheduler.task_names() == []


def test_a_cycle_through_a_restored_graph_names_the_path() -> None:
    """cycle_path finds a -> b -> c -> a; an acyclic graph has none."""
    edges = {"a": ("b",), "b": ("c",), "c": ("a",)}
    assert cycle_path(edges, "a") == ["a", "b", "c", "a"]
    assert cycle_path({"a": ("b",), "b": ("c",), "c": ()}, "a") is None


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_graphs_cycles_refused_acyclic_accepted(data: st.DataObject) -> None:
    """Adding tasks of a random graph in a random order: a task is refused exactly when its
    edges would close a cycle or name a task not added yet, and the error names a real path."""
    count = data.draw(st.integers(2, 6))
    edges = {i: sorted(set(data.draw(st.lists(st.integers(0, count - 1), max_size=3)))) for i in range(count)}
    scheduler = AutoCron(timezone="UTC", clock=FakeClock())
    added: set[int] = set()
    for i in data.draw(st.permutations(range(count))):
        ups = [f"t{j}" for j in edges[i]]
        unknown = [j for j in edges[i] if j not in added and j != i]
        reachable = _reaches(edges, added | {i}, start=i)
        try:
            scheduler.add_task(f"t{i}", func=ok, every="1h", after=ups or None)
        except TaskError as exc:
            assert unknown or i in edges[i] or reachable, exc
            if "cycle" in str(exc):
                path = str(exc).split("found ")[1].rstrip(")").split(" -> ")
                assert path[0] == path[-1] == f"t{i}"
                for a, b in itertools.pairwise(path):
                    assert int(b[1:]) in edges[int(a[1:])]
            continue
        assert not unknown and i not in edges[i] and not reachable
        added.add(i)


def _reaches(edges: dict[int, list[int]], nodes: set[int], start: int) -> bool:
    """Whether ``start`` reaches itself through edges among ``nodes``."""
    todo = [j for j in edges[start] if j in nodes]
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if node == start:
            return True
        if node in seen:
            continue
        seen.add(node)
        todo.extend(j for j in edges[node] if j in nodes)
    return False


def test_removing_an_upstream_others_depend_on_is_refused(scheduler: AutoCron) -> None:
    """remove_task of an upstream names its dependants and changes nothing; after them it works."""
    scheduler.add_task("extract", func=ok, every="1h")
    scheduler.add_task("load", func=ok, after="extract")
    scheduler.add_task("report", func=ok, cron="0 6 * * *", after=["extract", "load"])
    with pytest.raises(TaskError, match="'load', 'report'"):
        scheduler.remove_task(name="extract")
    assert scheduler.task_names() == ["extract", "load", "report"]
    assert scheduler.remove_task(name="report") and scheduler.remove_task(name="load")
    assert scheduler.remove_task(name="extract")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"after": ""}, "after"),
        ({"after": []}, "after"),
        ({"after": 3}, "after"),
        ({"after": ["ok\n"]}, "after"),
        ({"after": ["x" * 201]}, "after"),
        ({"after": "x", "after_policy": "most"}, "after_policy"),
        ({"after_policy": "any", "every": "1m"}, "after_policy"),
        ({"after": "x", "after_policy": None}, "after_policy"),
    ],
)
def test_bad_after_options_name_the_field(options: dict[str, object], field: str) -> None:
    """Bad after=/after_policy= values fail with a TaskError naming the option."""
    with pytest.raises(TaskError) as caught:
        build_task("t", func=ok, **options)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_decorator_and_config_accept_after() -> None:
    """@schedule(after=...) and a config file listing the downstream first both wire the dependency."""
    reset_global_scheduler()
    try:

        @schedule(every="1h", name="deco_up")
        def up() -> None: ...

        @schedule(after="deco_up", name="deco_down")
        def down() -> None: ...

        from autocron_core.decorator import get_global_scheduler

        task = get_global_scheduler().get_task(name="deco_down")
        assert task is not None and task.flow is not None and task.flow.after == ("deco_up",)
    finally:
        reset_global_scheduler()
    config = {
        "tasks": [
            {"name": "load", "func": "os:getpid", "after": ["extract"]},
            {"name": "extract", "func": "os:getpid", "every": "1h"},
        ]
    }
    scheduler = AutoCron.from_config(config, clock=FakeClock())
    assert scheduler.task_names() == ["extract", "load"]


def test_upstream_first_orders_a_file_and_leaves_cycles_to_add() -> None:
    """upstream_first puts each task after the upstream tasks it names."""
    tasks = [
        build_task("c", func=ok, after=["b"]),
        build_task("b", func=ok, after=["a"]),
        build_task("a", func=ok, every="1m"),
    ]
    assert [t.name for t in upstream_first(tasks)] == ["a", "b", "c"]


def test_config_with_an_unknown_upstream_or_a_cycle_is_a_config_error() -> None:
    """from_config names a missing upstream, or the cycle's path, as a ConfigError on after."""
    from autocron_core import ConfigError

    missing = {"tasks": [{"name": "a", "func": "os:getpid", "after": "b"}]}
    with pytest.raises(ConfigError, match="after='b'"):
        AutoCron.from_config(missing, clock=FakeClock())
    cycle = {
        "tasks": [
            {"name": "a", "func": "os:getpid", "after": "b"},
            {"name": "b", "func": "os:getpid", "after": "a"},
        ]
    }
    with pytest.raises(ConfigError, match=r"(a -> b -> a|b -> a -> b)"):
        AutoCron.from_config(cycle, clock=FakeClock())


def test_validate_config_reports_a_cycle_once() -> None:
    """validate_config lists a cycle among the file's tasks as one problem naming the path."""
    from autocron_core import validate_config

    cycle = {
        "tasks": [
            {"name": "a", "func": "os:getpid", "after": "b"},
            {"name": "b", "func": "os:getpid", "after": "a"},
            {"name": "c", "func": "os:getpid", "every": "1h"},
        ]
    }
    (problem,) = validate_config(cycle)
    assert "a -> b -> a" in str(problem) and problem.field == "after"


def test_only_a_started_scheduler_fires_dependants_and_it_decides_at_start(clock: FakeClock) -> None:
    """An upstream success while stopped (as in `autocron run`) fires nothing there; start() decides it."""
    scheduler = AutoCron(timezone="UTC", clock=clock)
    scheduler.add_task("extract", func=ok, at="2030-01-01T00:00")
    scheduler.add_task("load", func=ok, after="extract")
    clock.advance(1)
    assert scheduler.run_task(name="extract", timeout=10)
    assert scheduler.wait_idle(10)
    assert _records(scheduler, "load") == []
    scheduler.start(blocking=False)
    try:
        assert scheduler.settle()
        assert [(r[1], r[2]) for r in _records(scheduler, "load")] == [("succeeded", "dependency")]
    finally:
        scheduler.stop(timeout=5)


def test_a_task_added_again_under_a_removed_name_starts_afresh(scheduler: AutoCron, clock: FakeClock) -> None:
    """Removing a windowed task forgets its open window: a new task of that name opens its own."""
    scheduler.add_task("extract", func=ok, at="2030-01-01T00:00")
    scheduler.add_task("report", func=ok, every="1h", after="extract")
    clock.advance(3600)
    assert scheduler.settle()  # a window is open, waiting for extract
    assert scheduler.remove_task(name="report")
    scheduler.add_task("report", func=ok, every="1h", after="extract")
    clock.advance(60)
    scheduler.run_task(name="extract", timeout=10)
    assert scheduler.settle()
    assert _records(scheduler, "report") == []  # the old window is gone; the new one opens at its hour
    clock.advance(3540)
    assert scheduler.settle()
    assert [r[1] for r in _records(scheduler, "report")] == ["succeeded"]


def _eventually(check: object, what: str, seconds: float = 20.0) -> None:
    """Wait (polling, generous on a loaded machine) until ``check()`` is true."""
    import threading
    import time

    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.01)


def test_dependency_occurrences_follow_buffer_one_as_scheduled_ones_do(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """While the downstream runs, the next upstream success waits (buffer_one keeps one) and the one
    after is recorded skipped; the waiting one runs when the first ends."""
    import threading

    gate, started = threading.Event(), []

    def slow() -> None:
        started.append(1)
        gate.wait(20)

    scheduler.add_task("extract", func=ok, every="1m")
    scheduler.add_task("load", func=slow, after="extract", overlap_policy="buffer_one")

    def extract_done(count: int) -> bool:
        return sum(r[1] == "succeeded" for r in _records(scheduler, "extract")) >= count

    clock.advance(60)
    _eventually(lambda: len(started) == 1, "the first load to start")
    clock.advance(60)
    _eventually(lambda: extract_done(2), "the second extract")
    clock.advance(60)
    _eventually(lambda: any(r[1] == "skipped" for r in _records(scheduler, "load")), "a skipped load")
    assert len(started) == 1
    gate.set()
    _eventually(lambda: len(started) == 2, "the buffered load to start")
    assert scheduler.settle()
    rows = _records(scheduler, "load")
    assert sorted(r[1] for r in rows) == ["skipped", "succeeded", "succeeded"]
    assert {r[2] for r in rows} == {"dependency"}
    (skipped,) = [r for r in rows if r[1] == "skipped"]
    assert "already waiting (overlap_policy=buffer_one keeps one)" in (skipped[3] or "")
