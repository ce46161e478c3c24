"""Run records: what happened to one attempt at one occurrence of a task."""

from __future__ import annotations

import datetime as _dt
from enum import Enum

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from ._tuples import NamedTuple


__all__ = ["TRIGGERS", "RunRecord", "RunStatus"]

#: What started an occurrence (``RunRecord.trigger``): its schedule, a person (``run_task``,
#: ``autocron run``), a backfill, or its upstream tasks (``after=``).
TRIGGERS = ("schedule", "manual", "backfill", "dependency")


class RunStatus(str, Enum):
    """The outcome of a run. ``running`` is the claim's state while it is in flight."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    MISSED = "missed"
    ABANDONED = "abandoned"
    #: Stopped by ``overlap_policy="cancel_other"``/``"terminate_other"`` for a newer occurrence.
    CANCELLED = "cancelled"

    __hash__ = str.__hash__  # as EventKind: C-level, and consistent with ==

    def __str__(self) -> str:
        return self.value


class RunRecord(NamedTuple):
    """One attempt at one occurrence of a task.

    An immutable value (a ``NamedTuple``: cheap to build on the hot path and
    free of the import cost of dataclasses). ``(task, scheduled_for, attempt)``
    identifies a record: a store keeps at most
    one per key, which is what lets several nodes claim an occurrence exactly once.

    Attributes:
        task: the task's name.
        scheduled_for: the occurrence this attempt belongs to (aware, UTC).
        attempt: 1 for the first try, k+1 for the k-th retry.
        status: see ``RunStatus``.
        started_at: when the attempt began (``None`` for skipped and missed ones).
        finished_at: when it ended (``None`` while running).
        error: the error text (exception, exit code, timeout), if any.
        node_id: the scheduler that ran it.
        output: the last lines of a script's or command's output.
        trigger: what started the occurrence, one of ``TRIGGERS``.
    """

    task: str
    scheduled_for: _dt.datetime
    attempt: int = 1
    status: RunStatus = RunStatus.RUNNING
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    error: str | None = None
    node_id: str | None = None
    output: str | None = None
    trigger: str = "schedule"

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def key(self) -> tuple[str, _dt.datetime, int]:
        """The identity a store keeps unique."""
        return (self.task, self.scheduled_for, self.attempt)

    def finished(self, status: RunStatus, finished_at: _dt.datetime, **changes: Any) -> RunRecord:
        """A copy with the final status and finish time."""
        return self._replace(status=status, finished_at=finished_at, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISO times), as the CLI's ``--json`` prints it."""

        def iso(moment: _dt.datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "task": self.task,
            "scheduled_for": iso(self.scheduled_for),
            "attempt": self.attempt,
            "status": self.status.value,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration": self.duration,
            "error": self.error,
            "node_id": self.node_id,
            "output": self.output,
            "trigger": self.trigger,
        }
