"""The SQL store's tables, the schema version and its forward migrations.

Times are BIGINT microseconds since the Unix epoch, UTC: exact, portable to
every database, cheap to compare and subtract in SQL (durations and lateness
are plain integer arithmetic), and identical on every node.

Version history:

1. tasks, runs, nodes, schema_version.
2. the stats indexes (``runs_durations``, ``runs_lateness``) on SQLite and
   MariaDB/MySQL, which let ``stats()`` read percentiles by position instead
   of sorting every run (see ``_sqlstats``). SQLite indexes the expressions
   themselves; MariaDB cannot, so it gets two virtual generated columns,
   ``duration_us`` and ``lateness_us``, and indexes those. PostgreSQL computes
   ``percentile_cont`` and gets neither.
3. a binary collation (``utf8mb4_bin``) for every table on MariaDB/MySQL,
   whose default collation is case- and accent-insensitive: there the tasks
   ``Backup`` and ``backup`` (or ``résumé`` and ``resume``) were one row, and
   the runs of ``job`` and ``JOB`` claimed each other's occurrences. Names
   and keys compare byte for byte on every database now, as they do in
   Python. SQLite and PostgreSQL compare that way already: nothing changes there.
4. ``runs.run_trigger``: what started an occurrence (``schedule``, ``manual``,
   ``backfill``, ``dependency``; ``RunRecord.trigger``). Older rows keep NULL,
   read as ``schedule``. (Not ``trigger``: a reserved word in MariaDB.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateColumn, CreateIndex

from autocron_core.errors import StoreError

from ._seed_schema import check_not_seed

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Tables", "build_tables", "prepare_schema", "stats_schema"]

logger = logging.getLogger("autocron.store.sql")

#: The schema this code writes. Raise it with each migration added below.
SCHEMA_VERSION = 4

#: Dialects whose ``stats()`` reads percentiles through the stats indexes.
STATS_INDEX_DIALECTS = ("sqlite", "mysql", "mariadb")

#: MariaDB's TEXT holds 64 KB; outputs and definitions may be longer.
_LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
_NAME = 200  # autocron_core.task.MAX_NAME
#: MariaDB/MySQL table options: names and keys compare byte for byte (version 3).
#: (The ``mariadb://`` dialect reads only the ``mariadb_`` spelling, ``mysql://`` only ``mysql_``.)
_BINARY: dict[str, Any] = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("charset", "utf8mb4"), ("collate", "utf8mb4_bin"))
}


class Tables(NamedTuple):
    """The store's tables, under an optional name prefix."""

    metadata: MetaData
    tasks: Table
    runs: Table
    nodes: Table
    version: Table


def build_tables(prefix: str = "") -> Tables:
    """The table definitions, each name starting with ``prefix``."""
    md = MetaData()
    tasks = Table(
        f"{prefix}tasks", md,
        Column("name", String(_NAME), primary_key=True),
        Column("task_id", String(64), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("definition", _LONG_TEXT, nullable=False),  # Task.to_dict() without state and secrets, JSON
        Column("next_run_us", BigInteger),
        Column("last_run_us", BigInteger),
        Column("run_count", Integer, nullable=False, default=0),
        Column("fail_count", Integer, nullable=False, default=0),
        Column("paused", Boolean, nullable=False, default=False),
        Column("last_status", String(16)),
        Column("updated_at_us", BigInteger, nullable=False),
        **_BINARY,
    )  # fmt: skip
    runs = Table(
        f"{prefix}runs", md,
        Column("task", String(_NAME), nullable=False),
        Column("scheduled_for_us", BigInteger, nullable=False),
        Column("attempt", Integer, nullable=False),
        Column("status", String(16), nullable=False),
        Column("started_at_us", BigInteger),
        Column("finished_at_us", BigInteger),
        Column("error", Text),
        Column("node_id", String(255)),
        Column("output", _LONG_TEXT),
        Column("lease_expires_at_us", BigInteger),
        Column("run_trigger", String(16)),  # version 4; NULL in older rows means "schedule"
        # The claim key: inserting an existing (task, occurrence, attempt) fails, so one node wins.
        PrimaryKeyConstraint("task", "scheduled_for_us", "attempt", name=f"{prefix}runs_claim_key"),
        Index(f"{prefix}runs_scheduled", "scheduled_for_us"),
        Index(f"{prefix}runs_leases", "status", "lease_expires_at_us"),
        **_BINARY,
    )  # fmt: skip
    nodes = Table(
        f"{prefix}nodes", md,
        Column("node_id", String(255), primary_key=True),
        Column("started_at_us", BigInteger, nullable=False),
        Column("heartbeat_at_us", BigInteger, nullable=False),
        **_BINARY,
    )  # fmt: skip
    version = Table(
        f"{prefix}schema_version", md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("version", Integer, nullable=False),
        Column("updated_at_us", BigInteger, nullable=False),
        **_BINARY,
    )  # fmt: skip
    return Tables(md, tasks, runs, nodes, version)


def stats_schema(tables: Tables, dialect: str) -> list[Index]:
    """Add the stats indexes (and on MariaDB their generated columns) to ``tables.runs``; return them.

    They depend on the dialect, so they are added when a connection is at hand
    rather than in ``build_tables``. Calling it again returns the same indexes.

    ``runs_durations`` (task, status, duration, started, finished, scheduled)
    serves the per-status counts and the duration percentiles;
    ``runs_lateness`` (task, lateness, started, scheduled) the lateness
    percentiles. Both cover their queries (every column read is in the index),
    including the ``since`` filter on ``scheduled_for_us``, so SQLite never
    visits the table rows, which also hold outputs and errors.
    """
    if dialect not in STATS_INDEX_DIALECTS:
        return []
    runs = tables.runs
    prefix = runs.name[: -len("runs")]
    names = (f"{prefix}runs_durations", f"{prefix}runs_lateness")
    existing = [index for index in runs.indexes if index.name in names]
    if existing:
        return sorted(existing, key=lambda index: names.index(str(index.name)))
    c = runs.c
    duration = c.finished_at_us - c.started_at_us
    lateness = c.started_at_us - c.scheduled_for_us
    if dialect != "sqlite":
        # MariaDB has no expression indexes; indexed VIRTUAL columns take no row space.
        runs.append_column(Column("duration_us", BigInteger, Computed(duration, persisted=False)))
        runs.append_column(Column("lateness_us", BigInteger, Computed(lateness, persisted=False)))
        duration, lateness = runs.c.duration_us, runs.c.lateness_us
    return [
        Index(names[0], c.task, c.status, duration, c.started_at_us, c.finished_at_us, c.scheduled_for_us),
        Index(names[1], c.task, lateness, c.started_at_us, c.scheduled_for_us),
    ]


def _add_stats_indexes(conn: Connection, tables: Tables) -> None:
    """Version 1 → 2: the stats indexes (and MariaDB's generated columns they index).

    Written to be re-runnable: MariaDB commits each ALTER and CREATE INDEX at
    once, so a migration interrupted there is finished by the next open.
    """
    indexes = stats_schema(tables, conn.dialect.name)
    runs = tables.runs
    present = {column["name"] for column in inspect(conn).get_columns(runs.name)}
    preparer = conn.dialect.identifier_preparer
    for column in runs.columns:
        if column.computed is not None and column.name not in present:
            spec = CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {preparer.format_table(runs)} ADD COLUMN {spec}"))
    for index in indexes:
        if conn.dialect.name == "sqlite":
            # checkfirst would reflect the indexes, and SQLAlchemy warns on expression indexes.
            conn.execute(CreateIndex(index, if_not_exists=True))
        else:
            index.create(conn, checkfirst=True)


def _binary_collation(conn: Connection, tables: Tables) -> None:
    """Version 2 → 3: every table in ``utf8mb4_bin`` on MariaDB/MySQL (nothing elsewhere).

    ``CONVERT TO`` rewrites the columns and their indexes; keys unique under
    the old case-insensitive collation are unique under a binary one too, so
    no row can clash. Re-runnable: converting a converted table changes nothing.
    """
    if conn.dialect.name not in ("mysql", "mariadb"):
        return
    preparer = conn.dialect.identifier_preparer
    for table in (tables.tasks, tables.runs, tables.nodes, tables.version):
        name = preparer.format_table(table)
        conn.execute(text(f"ALTER TABLE {name} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))


def _add_run_trigger(conn: Connection, tables: Tables) -> None:
    """Version 3 → 4: the ``run_trigger`` column of the runs table (old rows stay NULL).

    Re-runnable: MariaDB commits an ALTER at once, so the column may be there already.
    """
    runs = tables.runs
    present = {column["name"] for column in inspect(conn).get_columns(runs.name)}
    if "run_trigger" in present:
        return
    spec = CreateColumn(runs.c.run_trigger).compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {conn.dialect.identifier_preparer.format_table(runs)} ADD COLUMN {spec}"))


#: ``MIGRATIONS[n]`` upgrades a database at version ``n`` to ``n + 1``, inside one transaction
#: (on MariaDB each DDL statement commits by itself, so migrations there must be re-runnable).
MIGRATIONS: dict[int, Callable[[Connection, Tables], None]] = {
    1: _add_stats_indexes,
    2: _binary_collation,
    3: _add_run_trigger,
}


def prepare_schema(conn: Connection, tables: Tables, where: str, now_us: int) -> int:
    """Create missing tables and migrate forward; returns the version found (0 for a new database).

    Raises:
        SeedDatabaseError: an SQLite database holds the original AutoCron's tables.
        StoreError: the database was written by a newer AutoCron, or a migration is missing.
    """
    if conn.dialect.name == "sqlite":
        # The original AutoCron's tables share our tasks table's name: report its file, create nothing.
        check_not_seed(conn, tables.tasks.name, conn.engine.url.database)
    found = 0
    if inspect(conn).has_table(tables.version.name):
        row = conn.execute(select(tables.version.c.version).where(tables.version.c.id == 1)).first()
        found = int(row[0]) if row is not None else 0
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: the database schema is version {found}, newer than this autocron-store "
            f"knows (version {SCHEMA_VERSION}); upgrade autocron-store to use it"
        )
    # Before create_all, so a new database gets the stats indexes with its tables.
    stats_schema(tables, conn.dialect.name)
    tables.metadata.create_all(conn)
    if found == 0:
        conn.execute(insert(tables.version).values(id=1, version=SCHEMA_VERSION, updated_at_us=now_us))
        return 0
    for step in range(found, SCHEMA_VERSION):
        migrate = MIGRATIONS.get(step)
        if migrate is None:
            raise StoreError(f"{where}: no migration from schema version {step} to {step + 1}")
        logger.info("%s: migrating the schema from version %d to %d", where, step, step + 1)
        migrate(conn, tables)
    if found < SCHEMA_VERSION:
        conn.execute(
            update(tables.version)
            .where(tables.version.c.id == 1)
            .values(version=SCHEMA_VERSION, updated_at_us=now_us)
        )
    return found
