"""Events the scheduler emits, and the listener registry that delivers them."""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterable
from enum import Enum

from ._lazylog import LazyLogger
from .records import RunRecord

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from .task import Task

    Listener = Callable[["Event"], Any]
else:
    from ._tuples import NamedTuple

__all__ = ["Event", "EventKind", "Listeners"]

logger = LazyLogger("autocron.events")


class EventKind(str, Enum):
    """What happened."""

    ADDED = "added"
    REMOVED = "removed"
    PAUSED = "paused"
    RESUMED = "resumed"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRY_SCHEDULED = "retry_scheduled"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    MISSED = "missed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"

    # str's hash, not Enum's Python-level one: the hot path looks kinds up in a
    # dict for every run, and equal strings then find the member too.
    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value


class Event(NamedTuple):
    """One thing that happened to a task.

    Attributes:
        kind: what happened.
        task_name: the task's name.
        time: when it happened (aware, UTC).
        task: the task object, when it still exists.
        record: the run record, for run events.
        scheduled_for: the occurrence, for run events.
        attempt: the attempt number, for run events.
        error: the error text, for failures and timeouts.
        retry_in: seconds until the retry, for ``retry_scheduled``.
        recovered: for ``succeeded``, whether the previous occurrence had failed.
    """

    kind: EventKind
    task_name: str
    time: _dt.datetime
    task: Task | None = None
    record: RunRecord | None = None
    scheduled_for: _dt.datetime | None = None
    attempt: int | None = None
    error: str | None = None
    retry_in: float | None = None
    recovered: bool = False


class Listeners:
    """Listeners by event kind. A listener that raises is logged and never spreads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Kinds with at least one listener. The scheduler looks a kind up here on its
        # hot path; this one dict is changed in place, never replaced.
        self.by_kind: dict[EventKind, tuple[Listener, ...]] = {}

    def add(
        self, callback: Listener, kinds: Iterable[EventKind | str] | EventKind | str | None = None
    ) -> None:
        """Call ``callback(event)`` for the given kinds (all when ``None``).

        Raises:
            TypeError: callback is not callable.
            ValueError: a kind is not an ``EventKind``.
        """
        if not callable(callback):
            raise TypeError(f"callback={callback!r}: expected a callable taking one Event")
        if kinds is None:
            wanted = list(EventKind)
        elif isinstance(kinds, (str, EventKind)):
            wanted = [EventKind(kinds)]
        else:
            try:
                wanted = [EventKind(k) for k in kinds]
            except ValueError:
                known = ", ".join(k.value for k in EventKind)
                raise ValueError(f"kinds={kinds!r}: expected event kinds among {known}") from None
        with self._lock:
            for kind in wanted:
                self.by_kind[kind] = (*self.by_kind.get(kind, ()), callback)

    def remove(self, callback: Listener) -> bool:
        """Stop calling ``callback``; returns whether it was registered."""
        found = False
        with self._lock:
            for kind, callbacks in list(self.by_kind.items()):
                kept = tuple(c for c in callbacks if c is not callback and c != callback)
                found = found or len(kept) != len(callbacks)
                if kept:
                    self.by_kind[kind] = kept
                else:
                    del self.by_kind[kind]
        return found

    def wants(self, kind: EventKind) -> bool:
        """Whether anyone listens to ``kind`` (lets the hot path skip building events)."""
        return kind in self.by_kind

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to its listeners, in the calling thread."""
        for callback in self.by_kind.get(event.kind, ()):
            try:
                callback(event)
            except Exception:
                logger.exception(
                    "listener %r raised on %s event of task %r", callback, event.kind, event.task_name
                )
