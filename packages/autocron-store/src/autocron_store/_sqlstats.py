"""Per-task aggregates computed in SQL: counts, duration and lateness percentiles.

PostgreSQL has ``percentile_cont``. SQLite and MariaDB rank each task's values
with window functions (``ROW_NUMBER``, ``COUNT``) and interpolate between the
two ranks around the percentile in the same query, which gives the same
numbers. Only a few rows per task ever reach Python.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import Integer, Table, and_, case, cast, func, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from autocron_core.protocols import TaskStats
from autocron_core.records import RunStatus
from autocron_core.schedules import from_utc_us

__all__ = ["sql_stats"]

_US = 1_000_000
_QS = (0.5, 0.95)


def _base(runs: Table, name: str | None, since_us: int | None, last_n: int | None) -> Any:
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


def _floor(value: Any, dialect: str) -> Any:
    # Positions are never negative, so SQLite's truncating CAST is a floor
    # (its floor() exists only when built with the math functions).
    return cast(value, Integer) if dialect == "sqlite" else func.floor(value)


def _percentiles(conn: Connection, base: Any, value: Any, where: Any) -> dict[str, tuple[Any, ...]]:
    """Task → (p50, p95, max) of ``value`` over the rows matching ``where``."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        query = (
            select(base.c.task, *[func.percentile_cont(q).within_group(value) for q in _QS], func.max(value))
            .where(where)
            .group_by(base.c.task)
        )
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}
    ranked = (
        select(
            base.c.task.label("task"),
            value.label("v"),
            (func.row_number().over(partition_by=base.c.task, order_by=value) - 1).label("rn"),
            func.count().over(partition_by=base.c.task).label("n"),
        )
        .where(where)
        .subquery("ranked_values")
    )
    terms = []
    for q in _QS:
        position = (ranked.c.n - 1) * literal(q)
        low = _floor(position, dialect)
        frac = position - low
        terms.append(func.sum(case(
            (ranked.c.rn == low, ranked.c.v * (1 - frac)),
            (ranked.c.rn == low + 1, ranked.c.v * frac),
            else_=0,
        )))  # fmt: skip
    query = select(ranked.c.task, *terms, func.max(ranked.c.v)).group_by(ranked.c.task)
    return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value) / _US


def _moment(value: Any) -> _dt.datetime | None:
    return None if value is None else from_utc_us(int(value))


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
    from autocron_core.schedules import to_utc_us

    base = _base(runs, name, None if since is None else to_utc_us(since), last_n)
    b = base.c

    def count(status: RunStatus) -> Any:
        return func.sum(case((b.status == status.value, 1), else_=0))

    succeeded = b.status == RunStatus.SUCCEEDED.value
    counts = select(
        b.task, func.count(b.started_at_us),
        *[count(s) for s in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.SKIPPED,
                             RunStatus.MISSED, RunStatus.ABANDONED)],
        func.max(b.started_at_us), func.max(case((succeeded, b.finished_at_us))),
    ).group_by(b.task)  # fmt: skip
    rows: dict[str, Any] = {row[0]: row for row in conn.execute(counts)}
    durations = _percentiles(
        conn,
        base,
        b.finished_at_us - b.started_at_us,
        and_(succeeded, b.started_at_us.is_not(None), b.finished_at_us.is_not(None)),
    )
    lateness = _percentiles(conn, base, b.started_at_us - b.scheduled_for_us, b.started_at_us.is_not(None))
    if name is not None and name not in rows:
        rows[name] = (name, 0, 0, 0, 0, 0, 0, 0, None, None)
    result = []
    for task in sorted(rows):
        row = rows[task]
        d = durations.get(task, (None, None, None))
        late = lateness.get(task, (None, None, None))
        result.append(TaskStats(
            task=task, runs=int(row[1] or 0), succeeded=int(row[2] or 0), failed=int(row[3] or 0),
            timed_out=int(row[4] or 0), skipped=int(row[5] or 0), missed=int(row[6] or 0),
            abandoned=int(row[7] or 0), duration_p50=_seconds(d[0]), duration_p95=_seconds(d[1]),
            duration_max=_seconds(d[2]), last_run=_moment(row[8]), last_success=_moment(row[9]),
            lateness_p50=_seconds(late[0]), lateness_p95=_seconds(late[1]),
        ))  # fmt: skip
    return result
