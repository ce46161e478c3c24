"""Task dependencies (``after=``) and pause-on-failure: what happens when a run's outcome is final.

The trigger is the stored run record, never process memory alone: a
downstream task decides from its upstream tasks' records and its own latest
record in the store, and keys the occurrence it fires by a value every node
computes alike (the finish time of the upstream success that satisfied it;
or, with a schedule of its own, the window's occurrence). Every node that
learns of the success (its own finish, a store sync) computes the same key,
and the store's exactly-once claim of ``(task, scheduled_for)`` lets one run.

Rules (also in docs/schedules.md):

* The *mark* of a downstream task is the ``scheduled_for`` of its newest
  record of any status (a run, a skip, a manual run), or, before it has one,
  the moment it was added to this scheduler. An upstream's *outcome* is its
  newest final record finished after the mark: a success, or a failure after
  its retries (``failed``, ``timed_out``, ``abandoned``). Skipped and missed
  upstream occurrences ran nothing and do not count.
* ``after_policy="all"``: when every upstream's outcome is a success, the task
  fires, keyed by the latest of their finish times. When an upstream's outcome
  is a failure, the task records ``skipped`` (``upstream 'extract' failed``)
  keyed by that failure's finish time; the mark moves past it.
* ``after_policy="any"``: one success fires it; a failure records ``skipped``
  only when no upstream has succeeded since the mark.
* With a schedule of its own, each occurrence W opens a window that lasts until
  the next occurrence: the task fires once, keyed by W, at W or later, as soon
  as the rule above holds; a failure records W ``skipped``; a window that
  closes unsatisfied is recorded ``skipped`` when the next one opens.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from ._lazylog import LazyLogger
from .errors import TaskError
from .policy import BUFFERING
from .records import RunRecord, RunStatus
from .schedules import from_utc_us, to_utc_us

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from ._engine import Engine
    from .task import Task

__all__ = ["FlowTracker", "check_removable", "check_upstream", "cycle_path", "link", "unlink"]

logger = LazyLogger("autocron.dependencies")

#: Records read per upstream task when deciding (newest first).
HISTORY_DEPTH = 50
_FAILED = ("failed", "timed_out", "abandoned")


def cycle_path(edges: Mapping[str, tuple[str, ...]], start: str) -> list[str] | None:
    """A path ``start -> ... -> start`` along ``edges`` (task -> its upstream names), or ``None``."""
    stack: list[tuple[str, int]] = [(start, 0)]
    path = [start]
    seen: set[str] = set()
    while stack:
        node, index = stack[-1]
        ups = edges.get(node, ())
        if index >= len(ups):
            stack.pop()
            path.pop()
            seen.add(node)
            continue
        stack[-1] = (node, index + 1)
        nxt = ups[index]
        if nxt == start:
            return [*path, start]
        if nxt in seen or nxt in path:
            continue
        stack.append((nxt, 0))
        path.append(nxt)
    return None


def check_upstream(tasks: Mapping[str, Task], task: Task) -> None:
    """Refuse ``after=`` names that are unknown, or that would close a cycle.

    Raises:
        TaskError: naming the unknown task, or the cycle as ``a -> b -> a``.
    """
    flow = task.flow
    if flow is None:
        return
    for name in flow.after:
        if name == task.name:
            raise TaskError("after", name, f"another task (a task cannot wait for itself: {name} -> {name})")
        if name not in tasks:
            raise TaskError(
                "after", name, "the name of a task of this scheduler (add the upstream task first)"
            )
    edges = {name: (t.flow.after if t.flow is not None else ()) for name, t in tasks.items()}
    edges[task.name] = flow.after
    path = cycle_path(edges, task.name)
    if path is not None:
        raise TaskError(
            "after", list(flow.after), "no cycle of dependencies (found " + " -> ".join(path) + ")"
        )


def link(downstream: dict[str, tuple[str, ...]], task: Task) -> None:
    """Record ``task`` as a dependant of each of its upstream tasks."""
    if task.flow is None:
        return
    for name in task.flow.after:
        current = downstream.get(name, ())
        if task.name not in current:
            downstream[name] = (*current, task.name)


def unlink(downstream: dict[str, tuple[str, ...]], task: Task) -> None:
    """Forget ``task`` as a dependant."""
    if task.flow is None:
        return
    for name in task.flow.after:
        kept = tuple(n for n in downstream.get(name, ()) if n != task.name)
        if kept:
            downstream[name] = kept
        else:
            downstream.pop(name, None)


def check_removable(tasks: Mapping[str, Task], downstream: Mapping[str, tuple[str, ...]], name: str) -> None:
    """Refuse to remove a task other tasks wait for.

    Raises:
        TaskError: naming the dependants.
    """
    dependants = [n for n in downstream.get(name, ()) if n in tasks and n != name]
    if dependants:
        raise TaskError(
            "name",
            name,
            "a task no other task depends on (remove or change its dependants first: "
            + ", ".join(repr(n) for n in dependants)
            + ")",
        )


class _Outcome:
    __slots__ = ("finished_us", "name", "succeeded")

    def __init__(self, name: str, succeeded: bool, finished_us: int) -> None:
        self.name = name
        self.succeeded = succeeded
        self.finished_us = finished_us


class FlowTracker:
    """One scheduler's dependency windows and decisions, and its pause-on-failure hook."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # One decision at a time: two upstream tasks finishing together must not
        # both fire their common downstream task on stale marks.
        self._decide = threading.Lock()
        #: Open windows: downstream name -> the occurrence (µs) that opened it.
        self._windows: dict[str, int] = {}
        # Guards _windows alone, held for a statement or two: the loop thread opens windows
        # and must never wait behind a decision, which reads the store.
        self._window_lock = threading.Lock()
        #: The newest key this process fired or skipped, per task (the store may lag behind).
        self._marks: dict[str, int] = {}
        #: When each task was first seen here: the mark before it has any record.
        self._seen: dict[str, int] = {}

    # -- entry points ---------------------------------------------------------
    def note_added(self, name: str, now_us: int) -> None:
        """A task with ``after=`` joined: before it has a record, upstream runs after now count."""
        self._seen.setdefault(name, now_us)

    def open_window(self, task: Task, scheduled_us: int) -> None:
        """A windowed task's occurrence came (engine lock held): open its window, decide soon."""
        self._seen.setdefault(task.name, scheduled_us)
        with self._window_lock:
            previous = self._windows.get(task.name)
            self._windows[task.name] = scheduled_us
        if previous is not None and previous != scheduled_us:
            missing = ", ".join(repr(n) for n in task.flow.after) if task.flow else ""
            self._engine._record_simple(
                task,
                previous,
                RunStatus.SKIPPED,
                f"the window closed before upstream {missing} succeeded",
                trigger="dependency",
            )
        self._submit(self.decide, task.name)

    def forget(self, name: str) -> None:
        """A task was removed: drop its open window and marks (a new task may take its name)."""
        with self._window_lock:
            self._windows.pop(name, None)
        self._marks.pop(name, None)
        self._seen.pop(name, None)

    def final_outcome(self, task: Task, record: RunRecord, failed: bool) -> None:
        """An occurrence of ``task`` ended for good (no retry follows): pause it if it failed too
        often, and let its dependants decide."""
        flow = task.flow
        if failed and flow is not None and flow.pause_after_failures is not None:
            # Here, before the run's waiter is set: `autocron run` (a process that exits when
            # the run ends) pauses the task as surely as a daemon does.
            self._guarded(self._maybe_pause, task, record)
        dependants = self._engine._downstream.get(task.name, ())
        if not self._engine._scheduling:
            # Only a started scheduler fires dependants: a short-lived process (`autocron run`)
            # leaves them to the daemon, which reads the outcome from the store.
            dependants = ()
        for name in dependants:
            self._submit(self.decide, name, record)
        if dependants and callable(getattr(self._engine._store, "announce_change", None)):
            self._submit(self._announce, task)

    def _announce(self, task: Task) -> None:
        """Tell the other nodes (PostgreSQL NOTIFY) once the outcome is written: they decide too."""
        engine = self._engine
        engine.flush_writes()
        engine._store.announce_change()  # type: ignore[attr-defined]

    def decide_all(self) -> None:
        """Decide every task with ``after=`` (after a store sync: upstream runs of other nodes)."""
        engine = self._engine
        with engine._lock:
            names = sorted({n for names in engine._downstream.values() for n in names})
        for name in names:
            self.decide(name)

    # -- internals -------------------------------------------------------------
    def _submit(self, job: Any, *args: Any) -> None:
        try:
            self._engine._pool.submit(lambda: self._guarded(job, *args))
        except RuntimeError:  # the pool is shut (stop()): nothing new starts
            logger.debug("scheduler stopping: %s%r dropped", job.__name__, args)

    @staticmethod
    def _guarded(job: Any, *args: Any) -> None:
        try:
            job(*args)
        except Exception:
            about = getattr(args[0], "name", args[0]) if args else "(every task with after=)"
            logger.exception("task %r: dependency or pause handling failed", about)

    def _maybe_pause(self, task: Task, record: RunRecord) -> None:
        from ._pausenote import AUTOCRON, consecutive_failures, failure_note

        engine = self._engine
        flow = task.flow
        if flow is None or flow.pause_after_failures is None or task.paused:
            return
        engine.flush_writes()
        # Enough records for N occurrences of every attempt, plus skips in between.
        depth = flow.pause_after_failures * (task.policy.retries + 1) + 50
        history = engine._store.history(task.name, depth)
        if not any(r.key == record.key for r in history):
            history = [record, *history]  # its write may still be on the way
        else:
            history = [record if r.key == record.key else r for r in history]
        streak = consecutive_failures(history, task.resumed_at)
        if streak < flow.pause_after_failures:
            return
        note = failure_note(streak, record.error)
        scheduler: Any = engine  # AutoCron: pause_task lives on the public class
        if engine._tasks.get(task.name) is not task:
            return
        logger.warning("task %r: %s", task.name, note)
        scheduler.pause_task(task.name, note=note, by=AUTOCRON)
        notifications = engine._notifications
        if (task.notify or notifications.defaults) and "failure" in task.notify_on:
            from .events import Event, EventKind

            notifications.dispatch(
                task, Event(EventKind.PAUSED, task.name, engine._clock.now(), task, record, error=note)
            )

    def _outcome(self, name: str, mark_us: int, fresh: RunRecord | None) -> _Outcome | None:
        """The newest final outcome of upstream ``name`` finished after ``mark_us``."""
        engine = self._engine
        upstream = engine._tasks.get(name)
        retries = upstream.policy.retries if upstream is not None else 0
        records = list(engine._store.history(name, HISTORY_DEPTH))
        if fresh is not None and fresh.task == name:
            records = [fresh, *(r for r in records if r.key != fresh.key)]
        best: _Outcome | None = None
        for record in records:
            status = record.status.value
            if record.finished_at is None:
                continue
            if status == "succeeded":
                succeeded = True
            elif status in _FAILED and record.attempt > retries:
                succeeded = False
            else:
                continue  # running, skipped, missed, or a failure a retry follows
            finished = to_utc_us(record.finished_at)
            if finished <= mark_us:
                continue
            if best is None or finished > best.finished_us:
                best = _Outcome(name, succeeded, finished)
        return best

    def _close_window(self, name: str, window: int | None) -> None:
        """Forget ``name``'s open window if it is still ``window`` (a newer one may have opened)."""
        with self._window_lock:
            if self._windows.get(name) == window:
                del self._windows[name]

    def _mark(self, task: Task) -> int:
        engine = self._engine
        newest = engine._store.history(task.name, 1)
        mark = (
            to_utc_us(newest[0].scheduled_for)
            if newest
            else self._seen.setdefault(task.name, engine._clock.now_us())
        )
        return max(mark, self._marks.get(task.name, mark))

    def decide(self, name: str, fresh: RunRecord | None = None) -> None:
        """Fire, skip or keep waiting: the downstream task ``name`` looks at its upstream records."""
        engine = self._engine
        task = engine._tasks.get(name)
        flow = task.flow if task is not None else None
        if task is None or flow is None or not flow.after or task.paused or not engine._scheduling:
            return
        windowed = task.schedule.kind != "after"
        with self._decide:
            with self._window_lock:
                window = self._windows.get(name)
            if windowed and window is None:
                return  # no window open: the schedule has not come yet
            if fresh is None or engine._writer is not None:
                engine.flush_writes()  # this node's finished runs are in the store before it is read
            mark = self._mark(task)
            if windowed and window is not None and mark >= window:
                self._close_window(name, window)  # this window has its record already
                return
            outcomes = [self._outcome(up, mark, fresh) for up in flow.after]
            wins = [o for o in outcomes if o is not None and o.succeeded]
            losses = [o for o in outcomes if o is not None and not o.succeeded]
            if flow.after_policy == "any":
                fire = bool(wins)
                lost = losses if not wins else []
            else:
                lost = losses
                fire = not losses and len(wins) == len(flow.after)
            if not fire and not lost:
                return
            if lost:
                first = min(lost, key=lambda o: o.finished_us)
                key = window if windowed and window is not None else first.finished_us
                why = f"upstream {first.name!r} failed"
            else:
                key = window if windowed and window is not None else max(o.finished_us for o in wins)
                why = ""
            self._marks[name] = key
            if windowed:
                self._close_window(name, window)
        with engine._lock:
            if engine._tasks.get(name) is not task or engine._closed:
                return
            if lost:
                engine._record_simple(task, key, RunStatus.SKIPPED, why, trigger="dependency")
            else:
                logger.info(
                    "task %r: upstream %s satisfied; firing %s", name, ", ".join(flow.after), from_utc_us(key)
                )
                admit(engine, task, key, "dependency")


def admit(engine: Engine, task: Task, scheduled_us: int, trigger: str) -> None:
    """Start an occurrence now under the task's overlap policy (engine lock held), as a
    scheduled one would: ``skip`` records it skipped while an instance runs, ``allow`` starts
    up to ``max_instances``, the buffering and cancelling policies go through ``_overlap``."""
    policy = task.policy
    if task.running and task.running >= policy.instance_limit:
        if policy.overlap_policy in BUFFERING:
            from ._overlap import on_busy

            why = on_busy(engine, task, scheduled_us, trigger)
        else:
            why = f"{task.running} instance(s) still running (overlap_policy={policy.overlap_policy})"
        if why is not None:
            engine._record_simple(task, scheduled_us, RunStatus.SKIPPED, why, trigger=trigger)
        return
    engine._start(task, scheduled_us, 1, None, trigger)


def upstream_first(tasks: list[Task]) -> list[Task]:
    """``tasks`` reordered so that each comes after the upstream tasks it names among them
    (a config file may list a task before the one it waits for); otherwise in their order.
    A cycle is left as it is: ``add`` then refuses it, naming the path."""
    by_name = {task.name: task for task in tasks}
    ordered: list[Task] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(task: Task) -> None:
        if task.name in placed or task.name in visiting:
            return
        visiting.add(task.name)
        for name in task.flow.after if task.flow is not None else ():
            upstream = by_name.get(name)
            if upstream is not None:
                place(upstream)
        visiting.discard(task.name)
        placed.add(task.name)
        ordered.append(task)

    for task in tasks:
        place(task)
    return ordered
