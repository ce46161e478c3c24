"""Per-task aggregates computed in SQL: counts, duration and lateness percentiles.

PostgreSQL has ``percentile_cont``: one grouped query per measure.

SQLite and MariaDB have no percentile function. Ranking every run with window
functions and interpolating works but sorts the whole history on each call
(500-850 ms for 100,000 runs on SQLite). Instead, the stats indexes of
``_schema.stats_schema`` keep each task's values in order, so:

1. one grouped query over the ``runs_durations`` index gives the counts per
   task and status, how many values each percentile ranks (``n``), the
   maximum duration, the last run and the last success;
2. the percentile ``q`` of ``n`` sorted values lies between positions
   ``k = floor((n - 1) q)`` and ``k + 1``; ``ORDER BY value LIMIT 2 OFFSET k``
   walks the index to them (from the far end when that is shorter) and the two
   are interpolated as ``percentile_cont`` does.

Only two values per percentile and one row per task and status reach Python.
Without the indexes (a database not yet migrated) the same queries give the
same numbers, only slower.

``last_n`` becomes, for each task with more records than that, a lower bound
on ``(scheduled_for_us, attempt)``: the key of its ``last_n``-th newest record,
found through the primary key.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Table, and_, bindparam, case, func, literal, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from autocron_core.protocols import TaskStats
from autocron_core.records import RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us

__all__ = ["sql_stats"]

_US = 1_000_000
_QS = (0.5, 0.95)
_COUNTED = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.TIMED_OUT,
    RunStatus.SKIPPED,
    RunStatus.MISSED,
    RunStatus.ABANDONED,
)


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value) / _US


def _moment(value: Any) -> _dt.datetime | None:
    return None if value is None else from_utc_us(int(value))


def _measures(runs: Table) -> tuple[Any, Any]:
    """Duration and lateness as the stats indexes hold them.

    SQLite matches an expression index only when the query spells the same
    expression; MariaDB only uses its generated columns when named.
    """
    c = runs.c
    if "duration_us" in c:
        return c.duration_us, c.lateness_us
    return c.finished_at_us - c.started_at_us, c.started_at_us - c.scheduled_for_us


# -- PostgreSQL: percentile_cont -------------------------------------------------------------
def _pg_base(runs: Table, name: str | None, since_us: int | None, last_n: int | None) -> Any:
    conds: list[ColumnElement[bool]] = []
    if name is not None:
        conds.append(runs.c.task == name)
    if since_us is not None:
        conds.append(runs.c.scheduled_for_us >= since_us)
    cols = [runs.c.task, runs.c.scheduled_for_us, runs.c.status, runs.c.started_at_us, runs.c.finished_at_us]
    if last_n is None:
        return select(*cols).where(*conds).subquery("base")
    rank = func.row_number().over(
        partition_by=runs.c.task, order_by=(runs.c.scheduled_for_us.desc(), runs.c.attempt.desc())
    )
    ranked = select(*cols, rank.label("recent")).where(*conds).subquery("ranked")
    return select(*[ranked.c[c.name] for c in cols]).where(ranked.c.recent <= last_n).subquery("base")


def _pg_stats(
    conn: Connection, runs: Table, name: str | None, since_us: int | None, last_n: int | None
) -> dict[str, tuple[Any, ...]]:
    """Task → (runs, six status counts, last run, last success, duration p50/p95/max, lateness p50/p95)."""
    b = _pg_base(runs, name, since_us, last_n).c
    succeeded = b.status == RunStatus.SUCCEEDED.value
    counts = select(
        b.task, func.count(b.started_at_us),
        *[func.sum(case((b.status == s.value, 1), else_=0)) for s in _COUNTED],
        func.max(b.started_at_us), func.max(case((succeeded, b.finished_at_us))),
    ).group_by(b.task)  # fmt: skip
    rows = {row[0]: tuple(row[1:]) for row in conn.execute(counts)}

    def percentiles(value: Any, where: Any) -> dict[str, tuple[Any, ...]]:
        query = (
            select(b.task, *[func.percentile_cont(q).within_group(value) for q in _QS], func.max(value))
            .where(where)
            .group_by(b.task)
        )
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}

    durations = percentiles(
        b.finished_at_us - b.started_at_us,
        and_(succeeded, b.started_at_us.is_not(None), b.finished_at_us.is_not(None)),
    )
    lateness = percentiles(b.started_at_us - b.scheduled_for_us, b.started_at_us.is_not(None))
    return {
        task: row + durations.get(task, (None, None, None)) + lateness.get(task, (None, None, None))[:2]
        for task, row in rows.items()
    }


# -- SQLite and MariaDB: positions in the stats indexes ---------------------------------------
class _IndexedStats:
    """The statements of the indexed path, built once per call and reused for every task.

    Reusing one statement object with bound parameters (task, bounds, offset,
    limit) lets SQLAlchemy compile it once; each task then costs a few index
    seeks.
    """

    def __init__(self, conn: Connection, runs: Table, since_us: int | None) -> None:
        self.conn = conn
        self.runs = runs
        c = runs.c
        self.duration, self.lateness = _measures(runs)
        self.since = [] if since_us is None else [c.scheduled_for_us >= literal(since_us)]
        # A task's last_n window: records at or after its bound (same order as the primary key).
        self.bound = tuple_(c.scheduled_for_us, c.attempt) >= tuple_(
            bindparam("bound_us", type_=c.scheduled_for_us.type), bindparam("bound_attempt", type_=Integer)
        )
        self._values: dict[tuple[bool, bool, bool], Any] = {}

    def counts(self, task: str | None, bounded: bool) -> Any:
        """Per task and status: records, started, ranked durations, max duration, last run/success."""
        c = self.runs.c
        conds = list(self.since)
        if task is not None:
            conds.append(c.task == task)
        if bounded:
            conds.append(self.bound)
        return (
            select(
                c.task,
                c.status,
                func.count(),
                func.count(c.started_at_us),
                func.count(self.duration),
                func.max(self.duration),
                func.max(c.started_at_us),
                func.max(c.finished_at_us),
            )
            .where(*conds)
            .group_by(c.task, c.status)
        )

    def bound_of(self, task: str, last_n: int) -> tuple[int, int] | None:
        """The key of ``task``'s ``last_n``-th newest record (its oldest kept), found by the primary key."""
        c = self.runs.c
        row = self.conn.execute(
            select(c.scheduled_for_us, c.attempt)
            .where(c.task == task, *self.since)
            .order_by(c.scheduled_for_us.desc(), c.attempt.desc())
            .offset(last_n - 1)
            .limit(1)
        ).first()
        return None if row is None else (int(row[0]), int(row[1]))

    def _values_query(self, durations: bool, descending: bool, bounded: bool) -> Any:
        key = (durations, descending, bounded)
        if key not in self._values:
            c = self.runs.c
            value = self.duration if durations else self.lateness
            conds = [c.task == bindparam("task"), value.is_not(None), *self.since]
            if durations:
                conds.append(c.status == RunStatus.SUCCEEDED.value)
            if bounded:
                conds.append(self.bound)
            self._values[key] = (
                select(value)
                .where(*conds)
                .order_by(value.desc() if descending else value)
                .offset(bindparam("offset", type_=Integer))
                .limit(bindparam("limit", type_=Integer))
            )
        return self._values[key]

    def percentiles(
        self, task: str, n: int, durations: bool, bound: tuple[int, int] | None
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
            params: dict[str, Any] = {
                "task": task,
                "offset": n - 1 - high if descending else low,
                "limit": high - low + 1,
            }
            if bound is not None:
                params.update(bound_us=bound[0], bound_attempt=bound[1])
            query = self._values_query(durations, descending, bound is not None)
            values = [row[0] for row in self.conn.execute(query, params)]
            if descending:
                values.reverse()
            if not values:  # the rows changed between the queries; there is no answer to give
                result.append(None)
                continue
            v_low, v_high = values[0], values[-1]
            fraction = position - low
            result.append(float(v_low) * (1 - fraction) + float(v_high) * fraction)
        return result


def _fold(rows: Sequence[Any]) -> dict[str, list[Any]]:
    """Rows per (task, status) → per task.

    Each value is [runs, six status counts, last run, last success, ranked
    durations, max duration, records].
    """
    folded: dict[str, list[Any]] = {}
    for task, status, records, started, n_dur, max_dur, last_run, last_finished in rows:
        acc = folded.setdefault(task, [0, *[0] * len(_COUNTED), None, None, 0, None, 0])
        acc[0] += int(started)
        acc[11] += int(records)
        for i, counted in enumerate(_COUNTED, start=1):
            if status == counted.value:
                acc[i] += int(records)
        if last_run is not None and (acc[7] is None or last_run > acc[7]):
            acc[7] = last_run
        if status == RunStatus.SUCCEEDED.value:
            acc[8], acc[9], acc[10] = last_finished, int(n_dur), max_dur
    return folded


def _indexed_stats(
    conn: Connection, runs: Table, name: str | None, since_us: int | None, last_n: int | None
) -> dict[str, tuple[Any, ...]]:
    """The same tuples as ``_pg_stats``, from the stats indexes."""
    stats = _IndexedStats(conn, runs, since_us)
    folded = _fold(conn.execute(stats.counts(name, bounded=False)).all())
    bounds: dict[str, tuple[int, int]] = {}
    if last_n is not None and last_n < 1:
        folded = {}
    elif last_n is not None:
        for task in [task for task, acc in folded.items() if acc[11] > last_n]:
            bound = stats.bound_of(task, last_n)
            if bound is None:  # pruned since the counts were read: no window to narrow
                continue
            bounds[task] = bound
            query = stats.counts(task, bounded=True)
            folded.update(_fold(conn.execute(query, {"bound_us": bound[0], "bound_attempt": bound[1]}).all()))
    result: dict[str, tuple[Any, ...]] = {}
    for task, acc in folded.items():
        bound = bounds.get(task)
        durations = stats.percentiles(task, acc[9], True, bound)
        lateness = stats.percentiles(task, acc[0], False, bound)
        result[task] = (*acc[:9], durations[0], durations[1], acc[10], lateness[0], lateness[1])
    return result


def sql_stats(
    conn: Connection,
    runs: Table,
    name: str | None = None,
    since: _dt.datetime | None = None,
    last_n: int | None = None,
) -> list[TaskStats]:
    """Aggregates per task (one ``TaskStats`` for ``name`` even without runs), sorted by task.

    Args:
        since: only occurrences scheduled at or after this moment.
        last_n: only each task's newest ``last_n`` records (after ``since``).
    """
    since_us = None if since is None else to_utc_us(since)
    if conn.dialect.name == "postgresql":
        rows = _pg_stats(conn, runs, name, since_us, last_n)
    else:
        rows = _indexed_stats(conn, runs, name, since_us, last_n)
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
