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
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Table, and_, bindparam, case, func, literal, or_, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from autocron_core.protocols import TaskStats
from autocron_core.records import RunStatus
from autocron_core.schedules import to_utc_us

from ._statscore import COUNTED, Bound, indexed_stats, to_task_stats

__all__ = ["sql_stats"]

_QS = (0.5, 0.95)
#: Records per task PostgreSQL's percentiles rank when ``stats`` is given no ``last_n``.
PG_PERCENTILE_RUNS = 10_000


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
def _pg_conds(runs: Table, name: str | None, since_us: int | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if name is not None:
        conds.append(runs.c.task == name)
    if since_us is not None:
        conds.append(runs.c.scheduled_for_us >= since_us)
    return conds


def _pg_bounds(
    conn: Connection, runs: Table, conds: list[ColumnElement[bool]], sizes: dict[str, int], keep: int
) -> dict[str, Bound]:
    """Each task with more than ``keep`` records: the key of its ``keep``-th newest, read along the key."""
    c = runs.c
    bounds: dict[str, Bound] = {}
    for task in [task for task, size in sizes.items() if size > keep]:
        row = conn.execute(
            select(c.scheduled_for_us, c.attempt)
            .where(c.task == task, *conds)
            .order_by(c.scheduled_for_us.desc(), c.attempt.desc())
            .offset(keep - 1)
            .limit(1)
        ).first()
        if row is not None:
            bounds[task] = (int(row[0]), int(row[1]))
    return bounds


def _pg_window(runs: Table, bounds: dict[str, Bound]) -> list[ColumnElement[bool]]:
    """Each bounded task's records from its bound on, every other task's records."""
    if not bounds:
        return []
    c = runs.c
    key = tuple_(c.scheduled_for_us, c.attempt)
    return [
        or_(
            c.task.not_in(list(bounds)),
            *[
                and_(c.task == task, key >= tuple_(literal(us), literal(attempt)))
                for task, (us, attempt) in bounds.items()
            ],
        )
    ]


def _pg_stats(
    conn: Connection, runs: Table, name: str | None, since_us: int | None, last_n: int | None
) -> dict[str, tuple[Any, ...]]:
    """Task → (runs, six status counts, last run, last success, duration p50/p95/max, lateness p50/p95).

    ``last_n`` (and the percentile window below) becomes, for each task with
    more records, a lower bound on its key found along the primary key, as on
    SQLite; ranking every record with ``row_number()`` sorted them all first.

    Without ``last_n``, the counts, last run, last success and longest duration
    cover every record, but the percentiles only each task's newest
    ``PG_PERCENTILE_RUNS``: ``percentile_cont`` sorts what it ranks, and a task
    whose history is kept without limit (``keep_runs=0``) would otherwise make
    every call sort all of it.
    """
    c = runs.c
    conds = _pg_conds(runs, name, since_us)
    window: list[ColumnElement[bool]] = []
    if last_n is not None:
        sizes = {
            task: n for task, n in conn.execute(select(c.task, func.count()).where(*conds).group_by(c.task))
        }
        window = _pg_window(runs, _pg_bounds(conn, runs, conds, sizes, last_n))
    succeeded = c.status == RunStatus.SUCCEEDED.value
    duration, lateness = c.finished_at_us - c.started_at_us, c.started_at_us - c.scheduled_for_us
    has_duration = and_(succeeded, c.started_at_us.is_not(None), c.finished_at_us.is_not(None))
    counts = select(
        c.task, func.count(c.started_at_us),
        *[func.sum(case((c.status == s.value, 1), else_=0)) for s in COUNTED],
        func.max(c.started_at_us), func.max(case((succeeded, c.finished_at_us))),
        func.max(case((has_duration, duration))), func.count(),
    ).where(*conds, *window).group_by(c.task)  # fmt: skip
    found = conn.execute(counts).all()
    rows = {row[0]: tuple(row[1:-1]) for row in found}
    if last_n is None:  # the counts' last column: records per task
        window = _pg_window(
            runs, _pg_bounds(conn, runs, conds, {row[0]: row[-1] for row in found}, PG_PERCENTILE_RUNS)
        )

    def percentiles(value: Any, where: Any) -> dict[str, tuple[Any, ...]]:
        query = (
            select(c.task, *[func.percentile_cont(q).within_group(value) for q in _QS])
            .where(where, *conds, *window)
            .group_by(c.task)
        )
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}

    durations = percentiles(duration, has_duration)
    late = percentiles(lateness, c.started_at_us.is_not(None))
    return {
        task: row[:-1] + durations.get(task, (None, None)) + (row[-1],) + late.get(task, (None, None))
        for task, row in rows.items()
    }


# -- SQLite and MariaDB: positions in the stats indexes ---------------------------------------
class _IndexedStats:
    """``_statscore.IndexedQueries`` through SQLAlchemy, built once per call and reused for every task.

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

    def counts(self, task: str | None, bound: Bound | None) -> Sequence[Any]:
        """Per task and status: records, started, ranked durations, max duration, last run/success."""
        c = self.runs.c
        conds = list(self.since)
        if task is not None:
            conds.append(c.task == task)
        if bound is not None:
            conds.append(self.bound)
        query = (
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
        params = {} if bound is None else {"bound_us": bound[0], "bound_attempt": bound[1]}
        return self.conn.execute(query, params).all()

    def bound_of(self, task: str, last_n: int) -> Bound | None:
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

    def values(
        self, task: str, durations: bool, descending: bool, offset: int, limit: int, bound: Bound | None
    ) -> list[Any]:
        """``limit`` sorted values of ``task`` from ``offset``: durations or lateness."""
        params: dict[str, Any] = {"task": task, "offset": offset, "limit": limit}
        if bound is not None:
            params.update(bound_us=bound[0], bound_attempt=bound[1])
        query = self._values_query(durations, descending, bound is not None)
        return [row[0] for row in self.conn.execute(query, params)]


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
        rows = indexed_stats(_IndexedStats(conn, runs, since_us), name, last_n)
    return to_task_stats(rows, name)
