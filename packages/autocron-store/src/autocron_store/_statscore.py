"""The indexed statistics algorithm, apart from how its few statements are run.

``_sqlstats`` runs these statements through SQLAlchemy (``SqlStore`` on SQLite
and MariaDB); ``_reads`` runs the same statements through the standard
library's ``sqlite3`` (the CLI's read-only path, which must not import
SQLAlchemy). Both give identical numbers because the arithmetic (folding the
per-status rows, the percentile positions and their interpolation) lives
here, once. This module imports neither SQLAlchemy nor ``sqlite3``.

The method (see ``_sqlstats`` for why): one grouped query gives the counts
per task and status; the percentile ``q`` of ``n`` sorted values lies between
positions ``k = floor((n - 1) q)`` and ``k + 1``, which ``ORDER BY value
LIMIT 2 OFFSET k`` reads from the stats index (from the nearer end), and the
two are interpolated as ``percentile_cont`` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

from autocron_core.protocols import TaskStats
from autocron_core.records import RunStatus
from autocron_core.schedules import from_utc_us

__all__ = ["COUNTED", "IndexedQueries", "fold", "indexed_stats", "to_task_stats"]

_US = 1_000_000
_QS = (0.5, 0.95)
#: The statuses counted per task, in ``TaskStats`` order.
COUNTED = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.TIMED_OUT,
    RunStatus.SKIPPED,
    RunStatus.MISSED,
    RunStatus.ABANDONED,
)
#: A task's ``last_n`` window: the key ``(scheduled_for_us, attempt)`` of its oldest kept record.
Bound = tuple[int, int]


class IndexedQueries(Protocol):
    """The three statements of the indexed path, bound to one connection and one ``since``."""

    def counts(self, task: str | None, bound: Bound | None) -> Sequence[Any]:
        """Per (task, status): records, started, ranked durations, max duration, last start, last finish."""

    def bound_of(self, task: str, last_n: int) -> Bound | None:
        """The key of ``task``'s ``last_n``-th newest record, or ``None`` when it has fewer."""

    def values(
        self, task: str, durations: bool, descending: bool, offset: int, limit: int, bound: Bound | None
    ) -> list[Any]:
        """``limit`` durations (succeeded runs) or lateness values (started runs) from ``offset``, sorted."""


def fold(rows: Sequence[Any]) -> dict[str, list[Any]]:
    """Rows per (task, status) → per task.

    Each value is [runs, six status counts, last run, last success, ranked
    durations, max duration, records].
    """
    folded: dict[str, list[Any]] = {}
    for task, status, records, started, n_dur, max_dur, last_run, last_finished in rows:
        acc = folded.setdefault(task, [0, *[0] * len(COUNTED), None, None, 0, None, 0])
        acc[0] += int(started)
        acc[11] += int(records)
        for i, counted in enumerate(COUNTED, start=1):
            if status == counted.value:
                acc[i] += int(records)
        if last_run is not None and (acc[7] is None or last_run > acc[7]):
            acc[7] = last_run
        if status == RunStatus.SUCCEEDED.value:
            acc[8], acc[9], acc[10] = last_finished, int(n_dur), max_dur
    return folded


def _percentiles(
    queries: IndexedQueries, task: str, n: int, durations: bool, bound: Bound | None
) -> list[float | None]:
    """p50 and p95 of the task's ``n`` durations (succeeded runs) or lateness values (started runs)."""
    result: list[float | None] = []
    for q in _QS:
        if n == 0:
            result.append(None)
            continue
        position = (n - 1) * q
        low = math.floor(position)
        high = min(low + 1, n - 1)
        # Walk from whichever end is nearer: p95 is 5 % from the top.
        descending = low > (n - 1) / 2
        offset = n - 1 - high if descending else low
        values = queries.values(task, durations, descending, offset, high - low + 1, bound)
        if descending:
            values.reverse()
        if not values:  # the rows changed between the queries; there is no answer to give
            result.append(None)
            continue
        v_low, v_high = values[0], values[-1]
        fraction = position - low
        result.append(float(v_low) * (1 - fraction) + float(v_high) * fraction)
    return result


def indexed_stats(
    queries: IndexedQueries, name: str | None, last_n: int | None
) -> dict[str, tuple[Any, ...]]:
    """Task → (runs, six status counts, last run, last success, duration p50/p95/max, lateness p50/p95)."""
    folded = fold(queries.counts(name, None))
    bounds: dict[str, Bound] = {}
    if last_n is not None and last_n < 1:
        folded = {}
    elif last_n is not None:
        for task in [task for task, acc in folded.items() if acc[11] > last_n]:
            bound = queries.bound_of(task, last_n)
            if bound is None:  # pruned since the counts were read: no window to narrow
                continue
            bounds[task] = bound
            folded.update(fold(queries.counts(task, bound)))
    result: dict[str, tuple[Any, ...]] = {}
    for task, acc in folded.items():
        bound = bounds.get(task)
        durations = _percentiles(queries, task, acc[9], True, bound)
        lateness = _percentiles(queries, task, acc[0], False, bound)
        result[task] = (*acc[:9], durations[0], durations[1], acc[10], lateness[0], lateness[1])
    return result


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value) / _US


def _moment(value: Any) -> Any:
    return None if value is None else from_utc_us(int(value))


def to_task_stats(rows: dict[str, tuple[Any, ...]], name: str | None) -> list[TaskStats]:
    """``TaskStats`` sorted by task, with a row of zeros for ``name`` when it has no runs."""
    if name is not None and name not in rows:
        rows[name] = (0, 0, 0, 0, 0, 0, 0, None, None, None, None, None, None, None)
    result = []
    for task in sorted(rows):
        row = rows[task]
        result.append(TaskStats(
            task=task, runs=int(row[0] or 0), succeeded=int(row[1] or 0), failed=int(row[2] or 0),
            timed_out=int(row[3] or 0), skipped=int(row[4] or 0), missed=int(row[5] or 0),
            abandoned=int(row[6] or 0), last_run=_moment(row[7]), last_success=_moment(row[8]),
            duration_p50=_seconds(row[9]), duration_p95=_seconds(row[10]), duration_max=_seconds(row[11]),
            lateness_p50=_seconds(row[12]), lateness_p95=_seconds(row[13]),
        ))  # fmt: skip
    return result
