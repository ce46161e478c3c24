"""Aggregates over run records computed in Python, for stores without SQL (memory, files).

SQL stores compute the same figures in the database; percentiles interpolate
linearly, as PostgreSQL's ``percentile_cont`` does, so every store agrees."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

from .protocols import TaskStats
from .records import RunRecord, RunStatus

__all__ = ["percentile", "stats_by_task", "stats_of"]


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``)."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    frac = position - low
    if low + 1 >= len(ordered) or frac == 0:
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * frac


def stats_of(name: str, records: Iterable[RunRecord]) -> TaskStats:
    """One task's ``TaskStats`` over ``records``."""
    counts = dict.fromkeys(RunStatus, 0)
    durations: list[float] = []
    lateness: list[float] = []
    runs = 0
    last_run: _dt.datetime | None = None
    last_success: _dt.datetime | None = None
    for record in records:
        counts[record.status] += 1
        started = record.started_at
        if started is not None:
            runs += 1
            lateness.append((started - record.scheduled_for).total_seconds())
            last_run = started if last_run is None or started > last_run else last_run
        if record.status is RunStatus.SUCCEEDED:
            if record.duration is not None:
                durations.append(record.duration)
            done = record.finished_at
            if done is not None and (last_success is None or done > last_success):
                last_success = done
    return TaskStats(
        task=name,
        runs=runs,
        succeeded=counts[RunStatus.SUCCEEDED],
        failed=counts[RunStatus.FAILED],
        timed_out=counts[RunStatus.TIMED_OUT],
        skipped=counts[RunStatus.SKIPPED],
        missed=counts[RunStatus.MISSED],
        abandoned=counts[RunStatus.ABANDONED],
        duration_p50=percentile(durations, 0.5),
        duration_p95=percentile(durations, 0.95),
        duration_max=max(durations) if durations else None,
        last_run=last_run,
        last_success=last_success,
        lateness_p50=percentile(lateness, 0.5),
        lateness_p95=percentile(lateness, 0.95),
    )


def stats_by_task(
    records: Iterable[RunRecord],
    name: str | None = None,
    since: _dt.datetime | None = None,
    last_n: int | None = None,
) -> list[TaskStats]:
    """``TaskStats`` per task over ``records`` given newest first, within a window.

    Args:
        name: only this task (its stats are returned even without records).
        since: only records scheduled at or after this moment.
        last_n: only each task's newest ``last_n`` records.
    """
    groups: dict[str, list[RunRecord]] = {}
    for record in records:
        if (name is not None and record.task != name) or (since is not None and record.scheduled_for < since):
            continue
        group = groups.setdefault(record.task, [])
        if last_n is None or len(group) < last_n:
            group.append(record)
    if name is not None:
        return [stats_of(name, groups.get(name, []))]
    return [stats_of(task, groups[task]) for task in sorted(groups)]
