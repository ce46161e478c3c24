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

from sqlalchemy import Integer, Table, and_, bindparam, case, func, literal, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from autocron_core.protocols import TaskStats
from autocron_core.records import RunStatus
from autocron_core.schedules import to_utc_us

from ._statscore import COUNTED, Bound, indexed_stats, to_task_stats

__all__ = ["sql_stats"]

_QS = (0.5, 0.95)


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
        *[func.sum(case((b.status == s.value, 1), else_=0)) for s in COUNTED],
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
