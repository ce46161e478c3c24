"""``TaskAnalytics``: per-task and overall figures over a window of run history.

Aggregates (counts, percentiles, last run and success) come from the store's
``stats()``, which the SQL store computes in the database; only a bounded
number of recent records per task (``recent``, 20 by default) is read row by
row, for the failure streak, the sparkline, the trend and the last error.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import logging
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from autocron_core import Interval, RunRecord, RunStatus, Task, TaskStats

from ._source import Source, as_source

__all__ = ["DEFAULT_LATE_AFTER", "DEFAULT_RECENT", "Overall", "TaskAnalytics", "TaskSummary", "task_stats"]

logger = logging.getLogger("autocron.dash.analytics")

#: Recent records read per task for streaks, sparklines and trends.
DEFAULT_RECENT = 20
#: Seconds of p95 lateness above which a task counts as late.
DEFAULT_LATE_AFTER = 5.0
#: Records read per task when a store cannot compute a windowed ``stats()`` itself.
FALLBACK_LIMIT = 1000

_FAILURES = frozenset({RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.ABANDONED})
_NOT_RUN = frozenset({RunStatus.SKIPPED, RunStatus.MISSED, RunStatus.RUNNING})


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """Everything the dashboard shows about one task.

    Counts and percentiles cover the analytics window; ``failure_streak``,
    ``recent_durations``, ``trend`` and ``last_error`` come from the newest
    ``recent`` records. Durations and lateness are in seconds.

    Attributes:
        status: ``ok``, ``failing``, ``late``, ``skipping``, ``paused`` or ``new``.
        trend: median duration of the newer half of the recent successful runs
            over that of the older half (``1.5`` = 50 % slower), or ``None``
            with fewer than four of them.
        failure_streak: consecutive newest occurrences whose final attempt failed.
        defined: whether a task definition exists (history may outlive it).
    """

    name: str
    status: str
    schedule: str | None
    paused: bool
    defined: bool
    next_run: _dt.datetime | None
    last_run: _dt.datetime | None
    last_success: _dt.datetime | None
    runs: int
    succeeded: int
    failed: int
    timed_out: int
    skipped: int
    missed: int
    abandoned: int
    success_rate: float | None
    duration_p50: float | None
    duration_p95: float | None
    duration_max: float | None
    lateness_p50: float | None
    lateness_p95: float | None
    failure_streak: int
    recent_durations: tuple[float, ...]
    recent_statuses: tuple[str, ...]
    trend: float | None
    last_error: str | None
    timeout: float | None
    retries: int
    interval: float | None
    overlap_policy: str | None
    #: Why, by whom and when a paused task was paused (``pause_task(note=, by=)``), else ``None``.
    pause_note: str | None = None
    paused_by: str | None = None
    paused_at: _dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: times as ISO strings, tuples as lists."""
        out: dict[str, Any] = {}
        for field in self.__dataclass_fields__:
            value = getattr(self, field)
            if isinstance(value, _dt.datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[field] = value
        return out


@dataclass(frozen=True, slots=True)
class Overall:
    """Totals across tasks.

    Percentiles do not add up across tasks, so the overall figures are the
    worst task's p95 (and which task that is) and the largest maximum.
    """

    tasks: int
    runs: int
    succeeded: int
    failed: int
    timed_out: int
    skipped: int
    missed: int
    abandoned: int
    success_rate: float | None
    failing: int
    duration_max: float | None
    worst_duration_p95: float | None
    worst_duration_task: str | None
    worst_lateness_p95: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {field: getattr(self, field) for field in self.__dataclass_fields__}


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return None


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def task_stats(name: str, records: Iterable[RunRecord]) -> TaskStats:
    """``TaskStats`` computed in Python, for stores that cannot aggregate a window themselves."""
    items = list(records)
    counts = dict.fromkeys(RunStatus, 0)
    for record in items:
        counts[record.status] += 1
    durations = [d for r in items if r.status is RunStatus.SUCCEEDED and (d := r.duration) is not None]
    started = [r.started_at for r in items if r.started_at is not None]
    successes = [r.finished_at for r in items if r.status is RunStatus.SUCCEEDED and r.finished_at]
    lateness = [(r.started_at - r.scheduled_for).total_seconds() for r in items if r.started_at is not None]
    return TaskStats(
        task=name, runs=len(started), succeeded=counts[RunStatus.SUCCEEDED],
        failed=counts[RunStatus.FAILED], timed_out=counts[RunStatus.TIMED_OUT],
        skipped=counts[RunStatus.SKIPPED], missed=counts[RunStatus.MISSED],
        abandoned=counts[RunStatus.ABANDONED], duration_p50=_percentile(durations, 0.5),
        duration_p95=_percentile(durations, 0.95), duration_max=max(durations) if durations else None,
        last_run=max(started) if started else None, last_success=max(successes) if successes else None,
        lateness_p50=_percentile(lateness, 0.5), lateness_p95=_percentile(lateness, 0.95),
    )  # fmt: skip


def _accepts(func: Callable[..., Any], *names: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    return all(name in params for name in names)


def _streak(records: Sequence[RunRecord]) -> int:
    """Consecutive newest occurrences whose final attempt failed (records newest first)."""
    streak = 0
    seen: set[_dt.datetime] = set()
    for record in records:
        if record.status in _NOT_RUN or record.scheduled_for in seen:
            continue
        seen.add(record.scheduled_for)  # newest first: the first attempt seen is the final one
        if record.status not in _FAILURES:
            break
        streak += 1
    return streak


def _trend(durations: Sequence[float]) -> float | None:
    """Median of the newer half over median of the older half (durations oldest first)."""
    if len(durations) < 4:
        return None
    half = len(durations) // 2
    older = statistics.median(durations[:half])
    newer = statistics.median(durations[len(durations) - half :])
    if older <= 0:
        return None
    return newer / older


class TaskAnalytics:
    """Per-task and overall figures over a window of run history.

    Args:
        source: an ``AutoCron`` scheduler, a ``Store``, or ``None`` for the
            default database. With a scheduler the next run and paused state
            are live; with a store they are what was last saved.
        last_n: only each task's newest ``last_n`` records.
        days: only records scheduled in the last ``days`` days.
        recent: records read per task for streaks, sparklines and trends.
        late_after: p95 lateness (seconds) from which a task shows as late.
        now: the current time for ``days`` (default: the system clock).
    """

    def __init__(
        self,
        source: Any = None,
        *,
        last_n: int | None = None,
        days: float | None = None,
        recent: int = DEFAULT_RECENT,
        late_after: float = DEFAULT_LATE_AFTER,
        now: _dt.datetime | None = None,
    ) -> None:
        if last_n is not None and last_n < 1:
            raise ValueError(f"last_n={last_n!r}: expected at least 1")
        if days is not None and days <= 0:
            raise ValueError(f"days={days!r}: expected a positive number of days")
        if recent < 1:
            raise ValueError(f"recent={recent!r}: expected at least 1")
        self.source: Source = as_source(source)
        self.last_n = last_n
        self.days = days
        self.recent = recent
        self.late_after = late_after
        self._now = now

    @property
    def store(self) -> Any:
        """The store read from."""
        return self.source.store

    @property
    def since(self) -> _dt.datetime | None:
        """The window's start for ``days``, else ``None``."""
        if self.days is None:
            return None
        now = self._now or _dt.datetime.now(_dt.timezone.utc)
        return now - _dt.timedelta(days=self.days)

    def window(self) -> dict[str, Any]:
        """The window as JSON-ready values."""
        since = self.since
        return {"last_n": self.last_n, "days": self.days, "since": since.isoformat() if since else None}

    # -- reading ---------------------------------------------------------------
    def _stats(self, names: Sequence[str]) -> dict[str, TaskStats]:
        store, since, last_n = self.store, self.since, self.last_n
        stats = getattr(store, "stats", None)
        windowed = since is not None or last_n is not None
        if stats is not None and (not windowed or _accepts(stats, "since", "last_n")):
            rows = stats(since=since, last_n=last_n) if windowed else stats()
            return {row.task: row for row in rows}
        # The store cannot aggregate this window: compute it from bounded history instead.
        known = list(names)
        if stats is not None:
            known += [row.task for row in stats() if row.task not in names]
        result: dict[str, TaskStats] = {}
        for name in known:
            records = self._history(name, last_n or FALLBACK_LIMIT)
            if records:
                result[name] = task_stats(name, records)
        return result

    def _history(self, name: str, limit: int) -> list[RunRecord]:
        records = list(self.store.history(name, limit))
        since = self.since
        if since is not None:
            records = [r for r in records if r.scheduled_for >= since]
        return records

    def summaries(self) -> list[TaskSummary]:
        """One summary per task: defined tasks in their order, then history-only names."""
        tasks = {task.name: task for task in self.source.tasks()}
        stats = self._stats(list(tasks))
        names = list(tasks) + sorted(name for name in stats if name not in tasks)
        recent = min(self.recent, self.last_n) if self.last_n else self.recent
        return [
            self._summary(name, tasks.get(name), stats.get(name), self._history(name, recent))
            for name in names
        ]

    def summary(self, name: str) -> TaskSummary | None:
        """The summary of one task, or ``None`` when it has neither definition nor history."""
        task = next((t for t in self.source.tasks() if t.name == name), None)
        stats = self._stats([name]).get(name)
        recent = min(self.recent, self.last_n) if self.last_n else self.recent
        history = self._history(name, recent)
        if task is None and stats is None and not history:
            return None
        return self._summary(name, task, stats, history)

    def history(self, name: str, limit: int = DEFAULT_RECENT) -> list[RunRecord]:
        """The newest ``limit`` records of ``name`` inside the window, newest first."""
        return self._history(name, min(limit, self.last_n) if self.last_n else limit)

    def _summary(
        self, name: str, task: Task | None, stats: TaskStats | None, history: list[RunRecord]
    ) -> TaskSummary:
        stats = stats or task_stats(name, ())
        chronological = list(reversed(history))
        durations = tuple(
            d for r in chronological if r.status is not RunStatus.RUNNING and (d := r.duration) is not None
        )
        ok_durations = [
            d for r in chronological if r.status is RunStatus.SUCCEEDED and (d := r.duration) is not None
        ]
        streak = _streak(history)
        error = next((_first_line(r.error) for r in history if r.status in _FAILURES and r.error), None)
        paused = bool(task is not None and task.paused)
        if paused:
            status = "paused"
        elif not history and stats.runs == 0 and stats.skipped + stats.missed == 0:
            status = "new"
        elif streak:
            status = "failing"
        elif stats.lateness_p95 is not None and stats.lateness_p95 > self.late_after:
            status = "late"
        elif any(r.status in (RunStatus.SKIPPED, RunStatus.MISSED) for r in history):
            status = "skipping"
        else:
            status = "ok"
        schedule = task.schedule if task is not None else None
        return TaskSummary(
            name=name, status=status, schedule=schedule.describe() if schedule is not None else None,
            paused=paused, defined=task is not None,
            next_run=None if paused or task is None else task.next_run,
            last_run=stats.last_run, last_success=stats.last_success, runs=stats.runs,
            succeeded=stats.succeeded, failed=stats.failed, timed_out=stats.timed_out, skipped=stats.skipped,
            missed=stats.missed, abandoned=stats.abandoned, success_rate=stats.success_rate,
            duration_p50=stats.duration_p50, duration_p95=stats.duration_p95, duration_max=stats.duration_max,
            lateness_p50=stats.lateness_p50, lateness_p95=stats.lateness_p95, failure_streak=streak,
            recent_durations=durations, recent_statuses=tuple(r.status.value for r in chronological),
            trend=_trend(ok_durations), last_error=error,
            timeout=task.policy.timeout if task is not None else None,
            retries=task.policy.retries if task is not None else 0,
            interval=schedule.seconds if isinstance(schedule, Interval) else None,
            overlap_policy=task.policy.overlap_policy if task is not None else None,
            pause_note=task.pause_note if paused and task is not None else None,
            paused_by=task.paused_by if paused and task is not None else None,
            paused_at=task.paused_at if paused and task is not None else None,
        )  # fmt: skip

    @staticmethod
    def overall(summaries: Sequence[TaskSummary]) -> Overall:
        """Totals across ``summaries``."""

        def total(field: str) -> int:
            return sum(int(getattr(s, field)) for s in summaries)

        done = total("succeeded") + total("failed") + total("timed_out") + total("abandoned")
        p95s = [(s.duration_p95, s.name) for s in summaries if s.duration_p95 is not None]
        worst = max(p95s) if p95s else (None, None)
        maxima = [s.duration_max for s in summaries if s.duration_max is not None]
        late = [s.lateness_p95 for s in summaries if s.lateness_p95 is not None]
        return Overall(
            tasks=len(summaries), runs=total("runs"), succeeded=total("succeeded"), failed=total("failed"),
            timed_out=total("timed_out"), skipped=total("skipped"), missed=total("missed"),
            abandoned=total("abandoned"), success_rate=total("succeeded") / done if done else None,
            failing=sum(1 for s in summaries if s.status == "failing"),
            duration_max=max(maxima) if maxima else None, worst_duration_p95=worst[0],
            worst_duration_task=worst[1], worst_lateness_p95=max(late) if late else None,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Everything the dashboard shows, as JSON-ready values (what ``--json`` prints)."""
        from .recommendations import recommend

        summaries = self.summaries()
        return {
            "generated_at": (self._now or _dt.datetime.now(_dt.timezone.utc)).isoformat(),
            "window": self.window(),
            "overall": self.overall(summaries).to_dict(),
            "tasks": [s.to_dict() for s in summaries],
            "recommendations": [
                r.to_dict()
                for r in recommend(summaries, max_workers=self.source.max_workers, late_after=self.late_after)
            ],
        }
