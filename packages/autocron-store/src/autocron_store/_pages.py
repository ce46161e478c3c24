"""One page of run history with filters, read by keyset: what the web dashboard's history tables show.

``history(name, limit)`` gives the newest runs; a history table also filters
by status and by date and pages back through a long history. Paging by an
offset would make the database count every skipped row; paging by the key
of the last row shown (``PageKey``) lets it seek straight to the next page
through the claim key (one task) or the ``runs_scheduled`` index (all tasks),
however deep the page.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, NamedTuple

from sqlalchemy import Table, select, tuple_
from sqlalchemy.engine import Connection

from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import to_utc_us

from ._cluster_sql import run_record

__all__ = ["PageKey", "sql_history_page"]


class PageKey(NamedTuple):
    """Where a page ended: the last row's occurrence, attempt and task (the table's order)."""

    scheduled_for: _dt.datetime
    attempt: int
    task: str


def sql_history_page(
    conn: Connection,
    runs: Table,
    name: str | None,
    status: RunStatus | None,
    since: _dt.datetime | None,
    until: _dt.datetime | None,
    after: PageKey | None,
    limit: int,
) -> list[RunRecord]:
    """Up to ``limit`` records newest first, after ``after`` in that order; see ``SqlStore.history_page``."""
    c = runs.c
    query: Any = select(runs)
    if name is not None:
        query = query.where(c.task == name)
    if status is not None:
        query = query.where(c.status == status.value)
    if since is not None:
        query = query.where(c.scheduled_for_us >= to_utc_us(since))
    if until is not None:
        query = query.where(c.scheduled_for_us < to_utc_us(until))
    if after is not None:
        key = (to_utc_us(after.scheduled_for), after.attempt, after.task)
        query = query.where(tuple_(c.scheduled_for_us, c.attempt, c.task) < key)
    query = query.order_by(c.scheduled_for_us.desc(), c.attempt.desc(), c.task.desc()).limit(limit)
    return [run_record(row) for row in conn.execute(query).mappings()]
