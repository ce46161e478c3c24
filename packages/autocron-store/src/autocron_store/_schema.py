"""The SQL store's tables, the schema version and its forward migrations.

Times are BIGINT microseconds since the Unix epoch, UTC: exact, portable to
every database, cheap to compare and subtract in SQL (durations and lateness
are plain integer arithmetic), and identical on every node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
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
    update,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection

from autocron_core.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Tables", "build_tables", "prepare_schema"]

logger = logging.getLogger("autocron.store.sql")

#: The schema this code writes. Raise it with each migration added below.
SCHEMA_VERSION = 1

#: MariaDB's TEXT holds 64 KB; outputs and definitions may be longer.
_LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
_NAME = 200  # autocron_core.task.MAX_NAME


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
        # The claim key: inserting an existing (task, occurrence, attempt) fails, so one node wins.
        PrimaryKeyConstraint("task", "scheduled_for_us", "attempt", name=f"{prefix}runs_claim_key"),
        Index(f"{prefix}runs_scheduled", "scheduled_for_us"),
        Index(f"{prefix}runs_leases", "status", "lease_expires_at_us"),
    )  # fmt: skip
    nodes = Table(
        f"{prefix}nodes", md,
        Column("node_id", String(255), primary_key=True),
        Column("started_at_us", BigInteger, nullable=False),
        Column("heartbeat_at_us", BigInteger, nullable=False),
    )  # fmt: skip
    version = Table(
        f"{prefix}schema_version", md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("version", Integer, nullable=False),
        Column("updated_at_us", BigInteger, nullable=False),
    )  # fmt: skip
    return Tables(md, tasks, runs, nodes, version)


#: ``MIGRATIONS[n]`` upgrades a database at version ``n`` to ``n + 1``, inside one transaction.
MIGRATIONS: dict[int, Callable[[Connection, Tables], None]] = {}


def prepare_schema(conn: Connection, tables: Tables, where: str, now_us: int) -> int:
    """Create missing tables and migrate forward; returns the version found (0 for a new database).

    Raises:
        StoreError: the database was written by a newer AutoCron, or a migration is missing.
    """
    found = 0
    if inspect(conn).has_table(tables.version.name):
        row = conn.execute(select(tables.version.c.version).where(tables.version.c.id == 1)).first()
        found = int(row[0]) if row is not None else 0
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: the database schema is version {found}, newer than this autocron-store "
            f"knows (version {SCHEMA_VERSION}); upgrade autocron-store to use it"
        )
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
