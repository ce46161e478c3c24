"""Recognising the original AutoCron's database when the SQL store opens one.

Kept apart from ``seed_import`` so that opening a store costs one ``PRAGMA``
and no import of the import machinery (tempfile, dataclasses: about 6 ms).
"""

from __future__ import annotations

import os
from typing import Any

from autocron_core.errors import StoreError

__all__ = ["SEED_TASK_COLUMNS", "SeedDatabaseError", "check_not_seed"]

#: Columns only the original's ``tasks`` table has; ours has ``definition`` and ``kind`` instead.
SEED_TASK_COLUMNS = frozenset({"payload_json", "schedule_type", "schedule_value"})


class SeedDatabaseError(StoreError):
    """The database holds the original AutoCron's tables, which this store cannot use as they are.

    Attributes:
        path: the database file.
        tasks: how many tasks it holds.
        executions: how many executions it holds.
        command: the ``autocron`` command line that imports it in place.
    """

    def __init__(self, path: str, tasks: int, executions: int, command: str) -> None:
        self.path = path
        self.tasks = tasks
        self.executions = executions
        self.command = command
        super().__init__(
            f"{path} is a database of the original AutoCron (autocron-scheduler: {tasks} tasks, "
            f"{executions} executions) and was left untouched; run '{command}' to move it to "
            f"{os.path.basename(path)}.seed-backup-<date> and import it into a new database in its place"
        )


def check_not_seed(conn: Any, table: str, path: str | None) -> None:
    """Raise ``SeedDatabaseError`` when an SQLite database's ``table`` is the original's ``tasks``.

    Called by ``prepare_schema`` before it creates anything, so such a file is
    never half-converted (ours would add ``runs`` beside its ``tasks``, then
    fail on a missing column). One ``PRAGMA table_info``: cheap at every open.

    Args:
        conn: an SQLAlchemy connection to an SQLite database.
        table: the name our ``tasks`` table would have.
        path: the database file (``None`` in memory).
    """
    from sqlalchemy import func, select, text
    from sqlalchemy import table as table_clause

    columns = set(conn.execute(text("SELECT name FROM pragma_table_info(:t)"), {"t": table}).scalars())
    if not columns.issuperset(SEED_TASK_COLUMNS):
        return
    tasks = int(conn.execute(select(func.count()).select_from(table_clause(table))).scalar_one())
    has_executions = conn.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'executions'")
    ).first()
    executions = (
        int(conn.execute(text("SELECT COUNT(*) FROM executions")).scalar_one()) if has_executions else 0
    )
    where = os.path.abspath(path) if path else ":memory:"
    raise SeedDatabaseError(where, tasks, executions, _import_command(where))


def _import_command(path: str) -> str:
    from autocron_core.env import AUTOCRON_DATABASE, home_dir

    raw = os.environ.get(AUTOCRON_DATABASE)
    if raw:
        default = raw if "://" in raw else os.path.abspath(os.path.expanduser(raw))
        default = default.removeprefix("sqlite:///")
    else:
        default = str(home_dir() / "autocron.db")
    if os.path.abspath(default) == path:
        return "autocron import"
    import shlex

    return f"autocron --store {shlex.quote(path)} import"
