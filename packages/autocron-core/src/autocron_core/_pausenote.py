"""Pause notes and pause-on-failure: who paused a task, why, when, and the failure streak.

The note travels in the task's definition (``to_dict()["pause"]``), so every
store keeps it without a schema change, and a pause made by the CLI reaches a
running daemon like any other change of definition.

The failure streak is counted from the stored run records, not from memory:
every node of a cluster, and a restarted scheduler, reach the same count.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping

from .errors import TaskError

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from .records import RunRecord
    from .task import Task

__all__ = [
    "AUTOCRON",
    "MAX_NOTE",
    "PauseState",
    "apply_pause_block",
    "check_note",
    "consecutive_failures",
    "failure_note",
    "pause_block",
]

#: ``paused_by`` of a pause made by the scheduler itself (``pause_after_failures``).
AUTOCRON = "autocron"
#: Longest note and ``by`` accepted, in characters (the error text is cut to fit).
MAX_NOTE = 1000
MAX_BY = 200
_FAILED = frozenset({"failed", "timed_out", "abandoned"})


class PauseState:
    """A task's pause note, who paused it, when, and when it was last resumed.

    ``Task`` keeps one only once any of them is set (its ``pause_note``,
    ``paused_by``, ``paused_at`` and ``resumed_at`` properties read through it).
    """

    __slots__ = ("at", "by", "note", "resumed_at")

    def __init__(self) -> None:
        self.note: str | None = None
        self.by: str | None = None
        self.at: _dt.datetime | None = None
        self.resumed_at: _dt.datetime | None = None


def _text_problem(text: str) -> str | None:
    import unicodedata

    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            return f"no control characters (found U+{ord(char):04X})"
    return None


def check_note(field: str, value: Any, limit: int = MAX_NOTE) -> str | None:
    """``value`` as a note (or a ``by`` name): ``None``, or text without control characters.

    Raises:
        TaskError: not text, too long, or holding control characters.
    """
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise TaskError(field, value, f"text of at most {limit} characters, or None")
    problem = _text_problem(value)
    if problem is not None:
        raise TaskError(field, value, problem)
    return value


def pause_block(task: Task) -> dict[str, Any]:
    """The ``pause`` entry of a task's definition (empty when there is nothing to keep)."""
    block: dict[str, Any] = {}
    if task.pause_note is not None:
        block["note"] = task.pause_note
    if task.paused_by is not None:
        block["by"] = task.paused_by
    if task.paused_at is not None:
        block["at"] = task.paused_at.isoformat()
    if task.resumed_at is not None:
        block["resumed_at"] = task.resumed_at.isoformat()
    return block


def _moment(field: str, value: Any) -> _dt.datetime | None:
    if value is None:
        return None
    try:
        moment = _dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise TaskError(field, value, "an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise TaskError(field, value, "an ISO 8601 time with its UTC offset")
    return moment


def apply_pause_block(task: Task, block: Any) -> None:
    """Set a task's note, ``paused_by``, ``paused_at`` and ``resumed_at`` from a stored ``pause`` entry.

    Raises:
        TaskError: the entry is not a mapping of valid values.
    """
    if not isinstance(block, Mapping):
        raise TaskError("pause", block, "a mapping with note, by, at and resumed_at")
    unknown = sorted(set(block) - {"note", "by", "at", "resumed_at"})
    if unknown:
        raise TaskError("pause", unknown[0], "one of note, by, at, resumed_at")
    task.pause_note = check_note("pause.note", block.get("note"))
    task.paused_by = check_note("pause.by", block.get("by"), MAX_BY)
    task.paused_at = _moment("pause.at", block.get("at"))
    task.resumed_at = _moment("pause.resumed_at", block.get("resumed_at"))


def consecutive_failures(records: Iterable[RunRecord], since: _dt.datetime | None) -> int:
    """How many of the newest occurrences failed in a row (each judged by its last attempt).

    ``records`` are one task's, newest first. Occurrences still running, and
    skipped or missed ones (nothing ran), neither count nor break the streak;
    a success ends it, and so does ``since`` (the last resume).
    """
    latest: dict[_dt.datetime, RunRecord] = {}
    for record in records:
        current = latest.get(record.scheduled_for)
        if current is None or record.attempt > current.attempt:
            latest[record.scheduled_for] = record
    streak = 0
    for scheduled in sorted(latest, reverse=True):
        record = latest[scheduled]
        ended = record.finished_at or scheduled
        if since is not None and ended <= since:
            break
        status = record.status.value
        if status == "succeeded":
            break
        if status in _FAILED:
            streak += 1
    return streak


def failure_note(count: int, error: str | None) -> str:
    """``paused after N consecutive failures: <last error>``, cut to ``MAX_NOTE`` characters
    (control characters of the error, such as its newlines, become spaces)."""
    text = " ".join((error or "no error text").split())
    note = f"paused after {count} consecutive failure{'s' if count != 1 else ''}: {text}"
    cleaned = "".join(" " if _text_problem(c) else c for c in note)
    return cleaned if len(cleaned) <= MAX_NOTE else cleaned[: MAX_NOTE - 1] + "…"
