"""The SQL store's cluster side: nodes, leases, reaping dead nodes' claims, shared anchors.

Several schedulers share one database (PostgreSQL; MariaDB and a local SQLite
file work too). Every statement that decides something is a single
conditional write, so the database's row locks, not a protocol of our own,
make each decision exactly once.

Lease times come from one clock: the database server's on PostgreSQL and
MariaDB (``clock_timestamp()``, ``UTC_TIMESTAMP(6)``), so nodes whose clocks
disagree still agree on when a lease has expired; SQLite has no server, so
there it is the local clock of the one machine sharing the file.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import BigInteger, cast, delete, func, literal, literal_column, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from autocron_core.errors import StoreError
from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us

if TYPE_CHECKING:
    from ._schema import Tables

__all__ = ["ANCHOR_KIND", "RETRY_FOR", "ClusterOps", "is_transient", "reason"]

logger = logging.getLogger("autocron.store.cluster")

_T = TypeVar("_T")
_US = 1_000_000
#: Seconds an operation keeps retrying through dropped connections and a restarting server.
RETRY_FOR = 15.0
#: ``tasks.kind`` of a row that holds only a function task's shared interval anchor.
ANCHOR_KIND = "anchor"
#: Names per transaction of ``shared_anchors`` (well under every driver's limit on parameters).
_ANCHOR_BATCH = 500
# SQLSTATEs worth retrying: connection exceptions (class 08), the server shutting down or
# starting (57P01-57P03), and serialisation failures or deadlocks (the retry is a fresh try).
_PG_TRANSIENT = frozenset({"57P01", "57P02", "57P03", "40001", "40P01"})
# MariaDB: lock wait timeout, deadlock, cannot connect, server gone away, lost connection.
_MYSQL_TRANSIENT = frozenset({1205, 1213, 2003, 2006, 2013, 2055})


def is_transient(exc: SQLAlchemyError) -> bool:
    """Whether ``exc`` is a dropped connection or a lost race that a new attempt may get past."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    module = type(orig).__module__
    if module.startswith("psycopg"):
        state = getattr(orig, "sqlstate", None)
        if state is None:  # failed before the server said anything: refused, reset, timed out
            return isinstance(exc, OperationalError)
        return bool(state.startswith("08") or state in _PG_TRANSIENT)
    if module.startswith("pymysql"):
        args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
        return bool(args) and args[0] in _MYSQL_TRANSIENT
    return False


def reason(exc: SQLAlchemyError) -> str:
    """The driver's message without the SQL statement and its parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ClusterOps:
    """Mixed into ``SqlStore``: what makes it a ``ClusterStore``, and its retrying transactions."""

    # Set by SqlStore.__init__.
    _engine: Engine
    tables: Tables
    dialect: str
    safe_url: str
    lease_seconds: float
    _closed: bool

    # -- plumbing ------------------------------------------------------------------
    def _now_sql(self) -> Any:
        """Now in microseconds, as the database computes it (the local clock on SQLite)."""
        if self.dialect == "postgresql":
            # clock_timestamp(), not now(): now() is frozen at the transaction's start.
            return cast(func.extract("epoch", func.clock_timestamp()) * _US, BigInteger)
        if self.dialect in ("mysql", "mariadb"):
            return func.timestampdiff(
                literal_column("MICROSECOND"), literal("1970-01-01 00:00:00"), func.utc_timestamp(6)
            )
        return literal(time.time_ns() // 1000, BigInteger)

    def _lease_sql(self) -> Any:
        """When a claim renewed now expires, on the same clock as ``_now_sql``."""
        return self._now_sql() + int(self.lease_seconds * _US)

    def _retrying(self, action: str, body: Callable[[Connection, int], _T]) -> _T:
        """Run ``body(conn, retry_number)`` in a transaction, again after a dropped connection.

        ``body`` must be safe to run twice: the first try's commit may have
        reached the database even though its reply was lost, so a retry has
        to recognise its own earlier write (``retry_number > 0`` says when).

        Raises:
            StoreError: a non-transient error, or still failing after ``RETRY_FOR`` seconds.
        """
        if self._closed:
            raise StoreError(f"the store {self.safe_url} is closed")
        started = time.monotonic()
        delay = 0.05
        tries = 0
        while True:
            try:
                with self._engine.begin() as conn:
                    return body(conn, tries)
            except SQLAlchemyError as exc:
                if not is_transient(exc) or time.monotonic() - started + delay > RETRY_FOR or self._closed:
                    raise StoreError(f"{action} in {self.safe_url}: {reason(exc)}") from None
                logger.warning("%s in %s: %s; retrying in %.2fs", action, self.safe_url, reason(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            tries += 1

    # -- nodes ---------------------------------------------------------------------
    def register_node(self, node_id: str) -> None:
        """Record that ``node_id`` started now (a restarted node id starts afresh)."""
        n = self.tables.nodes

        def body(conn: Connection, _: int) -> None:
            now = conn.execute(select(self._now_sql())).scalar_one()
            values = {"node_id": node_id, "started_at_us": now, "heartbeat_at_us": now}
            if not conn.execute(update(n).where(n.c.node_id == node_id).values(**values)).rowcount:
                self._insert_absent(conn, n, values)

        self._retrying(f"registering node {node_id!r}", body)

    def heartbeat(self, node_id: str) -> None:
        """Record that ``node_id`` is alive and extend the lease of each of its running claims."""
        n, r = self.tables.nodes, self.tables.runs

        def body(conn: Connection, _: int) -> None:
            beat = update(n).where(n.c.node_id == node_id).values(heartbeat_at_us=self._now_sql())
            if not conn.execute(beat).rowcount:  # never registered, or removed: register it now
                now = conn.execute(select(self._now_sql())).scalar_one()
                self._insert_absent(
                    conn, n, {"node_id": node_id, "started_at_us": now, "heartbeat_at_us": now}
                )
            mine: tuple[ColumnElement[bool], ...] = (
                r.c.status == RunStatus.RUNNING.value,
                r.c.node_id == node_id,
            )
            if self.dialect == "postgresql":
                # Claims another transaction holds are skipped, not waited for: those are
                # this node's finish groups (the lease ends with them), which lock by key
                # while a plain UPDATE here locked in table order, and the two deadlocked.
                key = (r.c.task, r.c.scheduled_for_us, r.c.attempt)
                free = select(*key).where(*mine).with_for_update(skip_locked=True)
                mine = (tuple_(*key).in_(free),)
            conn.execute(update(r).where(*mine).values(lease_expires_at_us=self._lease_sql()))

        self._retrying(f"recording the heartbeat of node {node_id!r}", body)

    def live_nodes(self) -> list[str]:
        """The ids of nodes whose last heartbeat is younger than a lease, sorted."""
        n = self.tables.nodes
        fresh = n.c.heartbeat_at_us >= self._now_sql() - int(self.lease_seconds * _US)
        query = select(n.c.node_id).where(fresh).order_by(n.c.node_id)
        return self._retrying("listing the live nodes", lambda conn, _: list(conn.execute(query).scalars()))

    def unregister_node(self, node_id: str) -> None:
        """Forget ``node_id``: it stopped cleanly (claims it still holds expire with their lease)."""
        n = self.tables.nodes
        self._retrying(
            f"unregistering node {node_id!r}",
            lambda conn, _: conn.execute(delete(n).where(n.c.node_id == node_id)),
        )

    # -- reaping -------------------------------------------------------------------
    def reap_abandoned(self, node_id: str, tasks: Collection[str] | None = None) -> list[RunRecord]:
        """Mark ``abandoned`` every other node's running claim whose lease expired; return those.

        Each row goes to exactly one reaper: the write is conditional on the
        row still being ``running`` with an expired lease, and the database
        re-checks that condition under the row lock, so a second reaper's
        update matches nothing. The records returned are this call's: their
        retry is now the caller's. With ``tasks``, only claims of those tasks are
        taken: a node reaps what it can retry, and leaves function tasks it does
        not have to the nodes that do.
        """
        r = self.tables.runs
        # A token in the error text lets a retry find what a first try marked before its reply was lost.
        token = uuid.uuid4().hex[:8]
        error = f"abandoned: its node stopped renewing the lease; taken over by {node_id} [{token}]"
        expired = (
            r.c.status == RunStatus.RUNNING.value,
            r.c.lease_expires_at_us < self._now_sql(),
            or_(r.c.node_id.is_(None), r.c.node_id != node_id),
            *([r.c.task.in_(list(tasks))] if tasks is not None else []),
        )
        marks = {"status": RunStatus.ABANDONED.value, "finished_at_us": self._now_sql(), "error": error}

        def body(conn: Connection, tries: int) -> list[RunRecord]:
            rows: list[Any] = []
            if tries:
                done = select(r).where(r.c.status == RunStatus.ABANDONED.value, r.c.error == error)
                rows.extend(conn.execute(done).mappings().all())
            if self.dialect in ("postgresql", "sqlite"):
                rows.extend(
                    conn.execute(update(r).where(*expired).values(**marks).returning(*r.c)).mappings().all()
                )
            else:
                # MariaDB's UPDATE has no RETURNING: find candidates, then take each one with
                # its own conditional update; rowcount (matched rows) says whether we won it.
                keys = conn.execute(select(r.c.task, r.c.scheduled_for_us, r.c.attempt).where(*expired)).all()
                for task, scheduled_us, attempt in keys:
                    key = (r.c.task == task, r.c.scheduled_for_us == scheduled_us, r.c.attempt == attempt)
                    if conn.execute(update(r).where(*key, *expired).values(**marks)).rowcount == 1:
                        rows.extend(conn.execute(select(r).where(*key)).mappings().all())
            return [run_record(row) for row in rows]

        return self._retrying("reaping abandoned claims", body)

    # -- shared anchors ------------------------------------------------------------
    def shared_anchor(self, name: str, anchor: _dt.datetime) -> _dt.datetime:
        """The anchor every node counts task ``name``'s interval from; the first one stored wins.

        A script or command task's anchor is part of its stored definition.
        A function task is never stored, so its anchor gets a row of its own
        in the tasks table (kind ``anchor``, skipped by ``load_tasks``).
        """

        def body(conn: Connection, _: int) -> _dt.datetime:
            return self._anchor_chunk(conn, [name], {name: anchor})[name]

        return self._retrying(f"reading the shared anchor of task {name!r}", body)

    def shared_anchors(self, anchors: Mapping[str, _dt.datetime]) -> dict[str, _dt.datetime]:
        """``shared_anchor`` for many tasks at once: one transaction per 500 names.

        A node starting with thousands of interval tasks pays a few round trips
        instead of a transaction per task (2,000 tasks took 3.7 s on PostgreSQL).
        Names go in key order, so two nodes inserting the same names wait for
        each other instead of deadlocking.
        """
        names = sorted(anchors)
        shared: dict[str, _dt.datetime] = {}
        for start in range(0, len(names), _ANCHOR_BATCH):
            chunk = names[start : start + _ANCHOR_BATCH]

            def body(conn: Connection, _: int, chunk: list[str] = chunk) -> dict[str, _dt.datetime]:
                return self._anchor_chunk(conn, chunk, anchors)

            shared.update(self._retrying(f"reading the shared anchors of {len(chunk)} task(s)", body))
        return shared

    def _anchor_chunk(
        self, conn: Connection, names: list[str], anchors: Mapping[str, _dt.datetime]
    ) -> dict[str, _dt.datetime]:
        t = self.tables.tasks
        stored = dict(conn.execute(select(t.c.name, t.c.definition).where(t.c.name.in_(names))).all())
        absent = [name for name in names if name not in stored]
        if absent:
            now_us = time.time_ns() // 1000
            self._insert_absent(
                conn,
                t,
                [
                    {
                        "name": name, "task_id": "", "kind": ANCHOR_KIND, "paused": False, "run_count": 0,
                        "definition": json.dumps({"anchor": anchors[name].isoformat()}),
                        "fail_count": 0, "updated_at_us": now_us,
                    }
                    for name in absent
                ],
            )  # fmt: skip
            # A locking read: under MariaDB's REPEATABLE READ a plain one would still
            # see the snapshot without the row another node has just inserted.
            again = select(t.c.name, t.c.definition).where(t.c.name.in_(absent)).with_for_update()
            stored.update(dict(conn.execute(again).all()))
        shared = {}
        for name in names:
            text = stored.get(name)
            anchor = None if text is None else json.loads(text).get("anchor")
            # A stored task without an anchor (a cron task of that name): nothing to share.
            shared[name] = anchors[name] if anchor is None else _dt.datetime.fromisoformat(anchor)
        return shared

    def _insert_absent(
        self, conn: Connection, table: Any, values: dict[str, Any] | list[dict[str, Any]]
    ) -> None:
        """Insert ``values`` (a row or several) unless the primary key exists (callers read the rows back)."""
        if self.dialect in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            # A no-op update of the key: unlike INSERT IGNORE, real errors still raise.
            key = next(iter(table.primary_key.columns)).name
            stmt = mysql_insert(table).values(values)
            conn.execute(stmt.on_duplicate_key_update({key: stmt.inserted[key]}))
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            conn.execute(sqlite_insert(table).values(values).on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(table).values(values).on_conflict_do_nothing())


def run_record(row: Any) -> RunRecord:
    """A ``RunRecord`` from a row of the runs table."""

    def moment(value: Any) -> _dt.datetime | None:
        return None if value is None else from_utc_us(int(value))

    return RunRecord(
        row["task"],
        from_utc_us(row["scheduled_for_us"]),
        row["attempt"],
        RunStatus(row["status"]),
        moment(row["started_at_us"]),
        moment(row["finished_at_us"]),
        row["error"],
        row["node_id"],
        row["output"],
        row.get("run_trigger") or "schedule",
    )


def key_of(record: RunRecord) -> tuple[str, int, int]:
    """A run record's claim key as stored: (task, scheduled_for_us, attempt)."""
    return (record.task, to_utc_us(record.scheduled_for), record.attempt)
