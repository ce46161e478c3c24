"""Backfill: run a task's occurrences of a past range, in order, recorded as ``backfill`` runs.

Each occurrence is claimed with the normal ``(task, scheduled_for)`` key, so
an occurrence already recorded (it ran, was skipped or missed, or another
node's backfill took it) runs nothing, and two nodes backfilling one range run
each occurrence exactly once between them. The task's overlap policy bounds
how many run at once (``skip``: one at a time; ``allow``/``queue``: up to
``max_instances``), counting its scheduled runs too; a backfill waits for a
free instance instead of skipping, since skipping would defeat it.
"""

from __future__ import annotations

import datetime as _dt
import math
import threading

from .errors import TaskError
from .records import RunRecord
from .schedules import _LATEST_US, Interval, from_utc_us, to_utc_us

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from ._engine import Engine
    from .task import Task
else:
    from ._tuples import NamedTuple

__all__ = ["DEFAULT_LIMIT", "BackfillResult", "plan_occurrences", "run_backfill"]

#: Occurrences one backfill may cover unless ``limit=`` is raised.
DEFAULT_LIMIT = 10_000
#: The largest ``limit=`` accepted.
MAX_LIMIT = 10_000_000


class BackfillResult(NamedTuple):
    """What a backfill planned and did.

    Attributes:
        task: the task's name.
        occurrences: every occurrence in ``[start, end)``, in order (aware, task's zone).
        already_recorded: those that had a record already and were not run again.
        started: those this call started (empty for a dry run).
        records: the final records of ``started`` (and any taken by another node), oldest first.
        dry_run: whether nothing was run.
    """

    task: str
    occurrences: tuple[_dt.datetime, ...]
    already_recorded: tuple[_dt.datetime, ...]
    started: tuple[_dt.datetime, ...]
    records: tuple[RunRecord, ...]
    dry_run: bool

    @property
    def succeeded(self) -> int:
        """How many of the records succeeded."""
        return sum(1 for r in self.records if r.status.value == "succeeded")

    @property
    def failed(self) -> int:
        """How many of the records did not succeed."""
        return len(self.records) - self.succeeded


def _bound(field: str, value: Any, tz: _dt.tzinfo) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise TaskError(field, value, "a datetime or an ISO 8601 string (not inf or NaN)")
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        value = _dt.datetime.combine(value, _dt.time())
    if isinstance(value, str):
        text = value.strip(" ")
        if not text or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
            raise TaskError(field, value, "an ISO 8601 date and time such as 2026-01-01T00:00")
        try:
            value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise TaskError(field, value, "an ISO 8601 date and time such as 2026-01-01T00:00") from None
    if not isinstance(value, _dt.datetime):
        raise TaskError(field, value, "a datetime or an ISO 8601 string")
    moment = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    try:
        return to_utc_us(moment)
    except OverflowError:
        raise TaskError(field, value, "a time that exists in UTC (from year 1 to 9999)") from None


def plan_occurrences(task: Task, start: Any, end: Any, limit: Any = DEFAULT_LIMIT) -> list[int]:
    """The task's occurrences in ``[start, end)`` as UTC microseconds, oldest first.

    Naive times are read in the task's time zone.

    Raises:
        TaskError: a bound is not a time, ``end`` is not after ``start``, the
            task has no schedule of its own, or the range holds more than ``limit``.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise TaskError("limit", limit, f"a whole number of occurrences from 1 to {MAX_LIMIT:,}")
    start_us = _bound("start", start, task.timezone)
    end_us = _bound("end", end, task.timezone)
    if end_us <= start_us:
        raise TaskError("end", end, f"a time after start ({from_utc_us(start_us).isoformat()})")
    if task.schedule.kind == "after":
        raise TaskError(
            "name", task.name, "a task with a schedule of its own (this one runs after its upstream tasks)"
        )
    found: list[int] = []
    schedule = task.schedule
    if isinstance(schedule, Interval) and schedule._anchor_us is not None:
        return _interval_grid(task, schedule, start_us, end_us, end, limit)
    moment = start_us - 1
    while True:
        nxt = task.next_fire_after_us(moment)
        if nxt is None or nxt >= end_us or nxt > _LATEST_US:
            return found
        if len(found) >= limit:
            raise TaskError(
                "end",
                end,
                f"a range of at most {limit:,} occurrences (raise limit= to backfill more)",
            )
        found.append(nxt)
        moment = nxt


def _interval_grid(
    task: Task, schedule: Interval, start_us: int, end_us: int, end: Any, limit: int
) -> list[int]:
    """An interval's occurrences in the range: its fixed-rate grid (anchor + k * step), extended
    before the anchor too, so that a task added today can backfill last week."""
    step, anchor = schedule._step_us, schedule._anchor_us or 0
    first = anchor - ((anchor - start_us) // step) * step  # the first grid point at or after start
    low = to_utc_us(task.start_at) if task.start_at is not None else None
    high = to_utc_us(task.end_at) if task.end_at is not None else None
    count = max(0, -((first - end_us) // step))  # grid points in [first, end)
    if count > limit:
        raise TaskError(
            "end", end, f"a range of at most {limit:,} occurrences (raise limit= to backfill more)"
        )
    return [
        us
        for us in range(first, end_us, step)
        if us <= _LATEST_US and (low is None or us >= low) and (high is None or us <= high)
    ]


def _recorded(engine: Engine, task: Task, occurrences: list[int]) -> set[int]:
    """Which occurrences already have a record (any attempt, any status)."""
    if not occurrences:
        return set()
    engine.flush_writes()
    first, last = occurrences[0], occurrences[-1]
    depth = max(1000, 2 * len(occurrences))
    return {
        us
        for us in (to_utc_us(r.scheduled_for) for r in engine._store.history(task.name, depth))
        if first <= us <= last
    }


def run_backfill(
    engine: Engine,
    task: Task,
    start: Any,
    end: Any,
    *,
    dry_run: bool = False,
    limit: Any = DEFAULT_LIMIT,
    timeout: float | None = None,
) -> BackfillResult:
    """Plan, then (unless ``dry_run``) run the occurrences, waiting for each final attempt.

    Raises:
        TaskError: see ``plan_occurrences``.
    """
    from ._engine import Waiter

    occurrences = plan_occurrences(task, start, end, limit)
    recorded = _recorded(engine, task, occurrences)
    todo = [us for us in occurrences if us not in recorded]
    zone = task.timezone
    as_times = tuple(from_utc_us(us, zone) for us in occurrences)
    done_before = tuple(from_utc_us(us, zone) for us in occurrences if us in recorded)
    if dry_run:
        return BackfillResult(task.name, as_times, done_before, (), (), True)
    import time

    deadline = None if timeout is None else time.monotonic() + timeout
    waiters: list[Waiter] = []
    started: list[int] = []
    limit_at_once = task.policy.instance_limit
    cond = engine._cond
    for us in todo:
        # In order: at most as many occurrences in flight (retries included) as instances allowed.
        pending = [w for w in waiters if not w.is_set()]
        while len(pending) >= limit_at_once:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if left == 0.0:
                break
            pending[0].wait(None if left is None else min(left, threading.TIMEOUT_MAX))
            pending = [w for w in pending if not w.is_set()]
        with cond:
            # The overlap policy bounds instances: wait for a free one rather than skip.
            while task.running >= limit_at_once and engine._tasks.get(task.name) is task:
                cond.wait(0.05)
            if engine._tasks.get(task.name) is not task or engine._closed:
                break
            waiter = Waiter()
            engine._start(task, us, 1, waiter, "backfill")
        waiters.append(waiter)
        started.append(us)
    for waiter in waiters:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        waiter.wait(None if left is None else min(left, threading.TIMEOUT_MAX))
    engine.flush_writes()
    wanted = set(started)
    depth = max(1000, 2 * len(occurrences) * (task.policy.retries + 1))
    finals: dict[int, RunRecord] = {}
    for record in engine._store.history(task.name, depth):
        us = to_utc_us(record.scheduled_for)
        if us in wanted and (us not in finals or record.attempt > finals[us].attempt):
            finals[us] = record
    return BackfillResult(
        task.name,
        as_times,
        done_before,
        tuple(from_utc_us(us, zone) for us in started),
        tuple(finals[us] for us in sorted(finals)),
        False,
    )
