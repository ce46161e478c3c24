"""The SQL store's group commit: many claims, or many finishes, per transaction.

Committing is what costs (an fsync, or a round trip to the server): a dispatch
batch of 512 claims in one transaction costs about what one claim did. So:

* ``claim_runs`` inserts a batch with one statement, ``INSERT ... ON CONFLICT
  DO NOTHING RETURNING`` the keys it inserted (PostgreSQL, SQLite 3.35+). On
  MariaDB, which has no RETURNING, the insert is ``ON DUPLICATE KEY UPDATE``
  of nothing, and a read-back inside the same transaction tells this node's
  rows (its node id and start time) from another node's.
* ``finish_runs`` updates a group of finished runs and task states with one
  executemany each; only when the row counts say something else happened
  (a claim another node marked abandoned, a claim that is missing) does it
  look at rows one by one, as ``finish_run`` does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.engine import Connection

from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import to_utc_us

if TYPE_CHECKING:
    from autocron_core.task import Task

    from ._schema import Tables

__all__ = ["BatchOps"]

_RUNNING = RunStatus.RUNNING.value
_ABANDONED = RunStatus.ABANDONED.value
#: RETURNING after INSERT appeared in SQLite 3.35.
_SQLITE_RETURNING = sqlite3.sqlite_version_info >= (3, 35)
#: Keys per read-back query (bound parameters stay well under every driver's limit).
_READ_CHUNK = 300

_Key = tuple[str, int, int]


def _us(moment: Any) -> int | None:
    return None if moment is None else to_utc_us(moment)


class BatchOps:
    """Mixed into ``SqlStore``: ``claim_runs`` and ``finish_runs``."""

    # Set or provided by SqlStore.
    tables: Tables
    dialect: str

    def claim_runs(self, records: Sequence[RunRecord]) -> list[bool]:
        """Claim every record in one transaction; whether this call inserted each one.

        Exactly-once holds as for ``claim_run``: the unique key decides, and a
        retry after a lost reply recognises this call's own rows.
        """
        if not records:
            return []
        if len(records) == 1 or any(r.status is not RunStatus.RUNNING for r in records):
            return [self.claim_run(r) for r in records]  # type: ignore[attr-defined]
        first: dict[_Key, int] = {}
        for index, record in enumerate(records):
            first.setdefault((record.task, to_utc_us(record.scheduled_for), record.attempt), index)
        # Sorted by key: two nodes inserting overlapping batches lock rows in one
        # order, so they wait for each other instead of deadlocking.
        keys = sorted(first)
        rows = [self._claim_row(records[first[key]], key) for key in keys]
        by_key = dict(zip(keys, rows, strict=True))
        runs = self.tables.runs

        def body(conn: Connection, tries: int) -> set[_Key]:
            if self.dialect == "postgresql":
                won = self._pg_claim(conn, keys, rows)
                if not tries:
                    return won
            elif self.dialect == "sqlite" and _SQLITE_RETURNING:
                stmt = (
                    self._insert(runs)  # type: ignore[attr-defined]
                    .values(lease_expires_at_us=self._lease_sql())  # type: ignore[attr-defined]
                    .on_conflict_do_nothing()
                    .returning(runs.c.task, runs.c.scheduled_for_us, runs.c.attempt)
                )
                won = {(t, int(us), int(a)) for t, us, a in conn.execute(stmt, rows)}
                if not tries:
                    return won
            else:
                self._insert_rows_absent(conn, rows)
                won = set()
            # MariaDB always, others after a lost reply: this node's own rows are its claims.
            return won | self._own_rows(conn, [k for k in keys if k not in won], by_key)

        won = self._retrying(f"claiming {len(keys)} occurrence(s)", body)  # type: ignore[attr-defined]
        return [
            (key := (r.task, to_utc_us(r.scheduled_for), r.attempt)) in won and first[key] == index
            for index, r in enumerate(records)
        ]

    def _pg_claim(self, conn: Connection, keys: list[_Key], rows: list[dict[str, Any]]) -> set[_Key]:
        """PostgreSQL: the batch as arrays, one ``INSERT ... SELECT FROM unnest`` with one fixed text.

        The same statement text for every batch size, so psycopg prepares it on
        the server after a few uses; SQLAlchemy's multi-row VALUES would render
        (and compile) a new statement of ten parameters a row for each size:
        it took 0.10 s for 1,000 claims against 0.02 s this way.
        """
        table = self._pg_name()
        lease_us = int(self.lease_seconds * 1_000_000)  # type: ignore[attr-defined]
        lease = f"(extract(epoch from clock_timestamp()) * 1000000)::bigint + {lease_us}"
        # The table name is ours (quoted by the dialect); every value is a parameter.
        sql = (
            f"INSERT INTO {table} (task, scheduled_for_us, attempt, status, started_at_us, node_id, "  # noqa: S608
            "lease_expires_at_us) SELECT t, s, a, %(status)s, b, n, " + lease + " FROM unnest("
            "%(task)s::text[], %(us)s::bigint[], %(attempt)s::int[], %(started)s::bigint[], %(node)s::text[]"
            ") AS v(t, s, a, b, n) ON CONFLICT DO NOTHING RETURNING task, scheduled_for_us, attempt"
        )
        params = {
            "status": _RUNNING,
            "task": [k[0] for k in keys],
            "us": [k[1] for k in keys],
            "attempt": [k[2] for k in keys],
            "started": [row["started_at_us"] for row in rows],
            "node": [row["node_id"] for row in rows],
        }
        return {(t, int(us), int(a)) for t, us, a in conn.exec_driver_sql(sql, params)}

    def _pg_name(self) -> str:
        """The runs table's name, quoted for PostgreSQL."""
        preparer = self._engine.dialect.identifier_preparer  # type: ignore[attr-defined]
        return str(preparer.format_table(self.tables.runs))

    def _claim_row(self, record: RunRecord, key: _Key) -> dict[str, Any]:
        return {
            "task": key[0], "scheduled_for_us": key[1], "attempt": key[2], "status": _RUNNING,
            "started_at_us": _us(record.started_at), "finished_at_us": None, "error": None,
            "node_id": record.node_id, "output": None, "run_trigger": record.trigger,
        }  # fmt: skip

    def _insert_rows_absent(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert the rows whose key is free, in one statement (no RETURNING needed)."""
        runs = self.tables.runs
        if self.dialect in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            # A no-op update of the key: unlike INSERT IGNORE, real errors still raise.
            stmt = mysql_insert(runs).values(lease_expires_at_us=self._lease_sql())  # type: ignore[attr-defined]
            conn.execute(stmt.on_duplicate_key_update(task=stmt.inserted.task), rows)
        else:
            stmt = self._insert(runs).values(lease_expires_at_us=self._lease_sql())  # type: ignore[attr-defined]
            conn.execute(stmt.on_conflict_do_nothing(), rows)

    def _own_rows(self, conn: Connection, keys: list[_Key], rows: dict[_Key, dict[str, Any]]) -> set[_Key]:
        """Which ``keys`` hold this batch's own running claim (same node, same start)."""
        r = self.tables.runs
        own: set[_Key] = set()
        for start in range(0, len(keys), _READ_CHUNK):
            chunk = keys[start : start + _READ_CHUNK]
            query = select(r.c.task, r.c.scheduled_for_us, r.c.attempt, r.c.node_id, r.c.started_at_us).where(
                tuple_(r.c.task, r.c.scheduled_for_us, r.c.attempt).in_(chunk), r.c.status == _RUNNING
            )
            for task, us, attempt, node, started in conn.execute(query):
                key = (task, int(us), int(attempt))
                sent = rows[key]
                if node == sent["node_id"] and started == sent["started_at_us"]:
                    own.add(key)
        return own

    def finish_runs(self, records: Sequence[RunRecord], tasks: Sequence[Task] = ()) -> None:
        """Finish every record and save every task's state, in one transaction."""
        r, t = self.tables.runs, self.tables.tasks
        rows = [
            {
                "k_task": rec.task,
                "k_us": to_utc_us(rec.scheduled_for),
                "k_attempt": rec.attempt,
                "status": rec.status.value,
                "started_at_us": _us(rec.started_at),
                "finished_at_us": _us(rec.finished_at),
                "error": rec.error,
                "node_id": rec.node_id,
                "output": rec.output,
            }
            for rec in records
        ]
        states = []
        for task in tasks:
            try:
                values = self._state_values(task)  # type: ignore[attr-defined]
                self._check_state(task)  # type: ignore[attr-defined]
            except Exception:  # a state that cannot be stored costs only its own save
                import logging

                logging.getLogger("autocron.store.sql").exception(
                    "task %r: could not save its state", task.name
                )
                continue
            states.append({"k_name": task.name, **values})

        def body(conn: Connection, _: int) -> None:
            if rows and self.dialect == "postgresql":
                if self._pg_finish(conn, rows) != len(rows):
                    self._finish_stragglers(conn, records)
            elif rows:
                stmt = (
                    update(r)
                    .where(
                        r.c.task == bindparam("k_task"),
                        r.c.scheduled_for_us == bindparam("k_us"),
                        r.c.attempt == bindparam("k_attempt"),
                        r.c.status != _ABANDONED,
                    )
                    .values(lease_expires_at_us=None)
                )
                result = conn.execute(stmt, rows)
                exact = conn.dialect.supports_sane_multi_rowcount and result.rowcount == len(rows)
                if not exact:
                    self._finish_stragglers(conn, records)
            if states:
                from autocron_store._cluster_sql import ANCHOR_KIND

                stmt = update(t).where(t.c.name == bindparam("k_name"), t.c.kind != ANCHOR_KIND)
                conn.execute(stmt, states)

        self._retrying(f"recording {len(records)} finished run(s)", body)  # type: ignore[attr-defined]
        for _ in records:
            self._pruner.tick()  # type: ignore[attr-defined]

    def _pg_finish(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """PostgreSQL: one ``UPDATE ... FROM unnest`` for the group; how many rows it updated.

        One statement and one round trip for the whole group (an executemany
        of single-row UPDATEs took 0.16 s for 1,000 finishes, this 0.03 s).
        """
        table = self._pg_name()
        # The table name is ours (quoted by the dialect); every value is a parameter.
        sql = (
            f"UPDATE {table} AS r SET status = v.st, started_at_us = v.b, finished_at_us = v.f, "  # noqa: S608
            "error = v.e, node_id = v.n, output = v.o, lease_expires_at_us = NULL FROM unnest("
            "%(task)s::text[], %(us)s::bigint[], %(attempt)s::int[], %(status)s::text[], "
            "%(started)s::bigint[], %(finished)s::bigint[], %(error)s::text[], %(node)s::text[], "
            "%(output)s::text[]) AS v(t, s, a, st, b, f, e, n, o) WHERE r.task = v.t "
            "AND r.scheduled_for_us = v.s AND r.attempt = v.a AND r.status <> %(abandoned)s"
        )
        columns = {
            "task": "k_task", "us": "k_us", "attempt": "k_attempt", "status": "status",
            "started": "started_at_us", "finished": "finished_at_us", "error": "error", "node": "node_id",
            "output": "output",
        }  # fmt: skip
        params: dict[str, Any] = {name: [row[key] for row in rows] for name, key in columns.items()}
        params["abandoned"] = _ABANDONED
        return int(conn.exec_driver_sql(sql, params).rowcount)

    def _finish_stragglers(self, conn: Connection, records: Sequence[RunRecord]) -> None:
        """The batch update missed some rows: give each record not stored as sent ``finish_run``'s care."""
        r = self.tables.runs
        keys = [(rec.task, to_utc_us(rec.scheduled_for), rec.attempt) for rec in records]
        stored: dict[_Key, tuple[str, int | None]] = {}
        for start in range(0, len(keys), _READ_CHUNK):
            chunk = keys[start : start + _READ_CHUNK]
            query = select(r.c.task, r.c.scheduled_for_us, r.c.attempt, r.c.status, r.c.finished_at_us).where(
                tuple_(r.c.task, r.c.scheduled_for_us, r.c.attempt).in_(chunk)
            )
            for task, us, attempt, status, finished in conn.execute(query):
                stored[(task, int(us), int(attempt))] = (status, finished)
        for key, rec in zip(keys, records, strict=True):
            if stored.get(key) != (rec.status.value, _us(rec.finished_at)):
                self._finish_one(conn, rec)  # type: ignore[attr-defined]
