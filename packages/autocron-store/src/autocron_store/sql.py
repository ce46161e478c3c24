"""``SqlStore``: tasks, run history, claims and nodes in SQLite, PostgreSQL or MariaDB.

One code path over SQLAlchemy Core; the only dialect switches are the
insert-if-absent and upsert statements and the percentile function.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, delete, event, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from autocron_core.errors import AutoCronError, StoreError
from autocron_core.protocols import TaskStats
from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us
from autocron_core.task import Task

from ._document import scrub_secrets
from ._schema import Tables, build_tables, prepare_schema
from ._sqlstats import sql_stats
from ._urls import parse_store_url
from .retention import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_RUNS, Pruner, check_retention

__all__ = ["DEFAULT_LEASE", "SqlStore"]

logger = logging.getLogger("autocron.store.sql")

#: Seconds a running claim stays valid without renewal (multi-node recovery uses it).
DEFAULT_LEASE = 300.0
#: Milliseconds SQLite waits for another writer before giving up.
DEFAULT_BUSY_TIMEOUT = 10_000
_SQLITE_MAGIC = b"SQLite format 3\x00"
_US = 1_000_000
_RUN_KEY = ("task", "scheduled_for_us", "attempt")


def _now_us() -> int:
    return time.time_ns() // 1000


def _us(moment: _dt.datetime | None) -> int | None:
    return None if moment is None else to_utc_us(moment)


def _dt_of(value: Any) -> _dt.datetime | None:
    return None if value is None else from_utc_us(int(value))


class SqlStore:
    """A ``Store`` in a SQL database, shared safely by threads, processes and machines.

    Args:
        url: ``sqlite:///path.db`` (or a bare path), ``postgresql://…``
            (psycopg 3), ``mysql://…``/``mariadb://…`` (PyMySQL). ``None``
            means the default database (``AUTOCRON_DATABASE`` or
            ``$AUTOCRON_HOME/autocron.db``). Query options read by the store:
            ``keep_runs``, ``keep_days``, ``prefix`` (table names),
            ``busy_timeout`` (SQLite, ms), ``lease`` (seconds).
        keep_runs: run records kept per task (0 or ``None``: all); overrides the URL.
        keep_days: days of run records kept (0 or ``None``: all); overrides the URL.
        prefix: a prefix for every table name.
        lease: seconds a running claim is valid before other nodes may take it over.

    Raises:
        StoreError: the database cannot be reached, opened or created (which
            and why), is not an SQLite file, or has a newer schema.
        ConfigError: the URL or an option is not valid.
    """

    persistent = True

    def __init__(
        self,
        url: str | None = None,
        *,
        keep_runs: int | object | None = ...,
        keep_days: float | object | None = ...,
        prefix: str | None = None,
        lease: float | None = None,
    ) -> None:
        if url is None:
            from autocron_core.env import default_store_url

            url = default_store_url()
        parsed = parse_store_url(url)
        self.url = parsed.url
        self.safe_url = parsed.safe
        opts = parsed.options
        runs_opt = keep_runs if keep_runs is not ... else int(opts.get("keep_runs", DEFAULT_KEEP_RUNS))
        days_opt = keep_days if keep_days is not ... else float(opts.get("keep_days", DEFAULT_KEEP_DAYS))
        self.keep_runs, self.keep_days = check_retention(runs_opt, days_opt)  # type: ignore[arg-type]
        self.lease = float(lease if lease is not None else opts.get("lease", DEFAULT_LEASE))
        self.prefix = prefix if prefix is not None else opts.get("prefix", "")
        self.dialect = self.url.get_backend_name()
        self.tables: Tables = build_tables(self.prefix)
        self.load_errors: list[tuple[str, str]] = []
        self._engine = self._create_engine(int(opts.get("busy_timeout", DEFAULT_BUSY_TIMEOUT)))
        self._pruner = Pruner(self.prune)
        self._closed = False
        self._open_schema()

    def __repr__(self) -> str:
        return f"SqlStore({self.safe_url!r})"

    # -- connecting -----------------------------------------------------------
    def _create_engine(self, busy_timeout_ms: int) -> Engine:
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            path = self.url.database
            if path and path != ":memory:" and not path.startswith("file:"):
                self._prepare_sqlite_file(os.path.abspath(path))
            else:
                from sqlalchemy.pool import StaticPool

                kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            kwargs.update(pool_pre_ping=True, pool_recycle=1800)
            if "connect_timeout" not in self.url.query:
                kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            engine = create_engine(self.url, **kwargs)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open the store {self.safe_url}: {exc}") from None
        if self.dialect == "sqlite":

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _: Any) -> None:
                cursor = dbapi_conn.cursor()
                # WAL lets the CLI read while a scheduler writes; busy_timeout makes
                # a second writer wait for the lock instead of failing at once.
                cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
                cursor.close()

        return engine

    def _prepare_sqlite_file(self, path: str) -> None:
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            # Created here, 0600, before SQLite opens it: history may hold command output.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            try:
                with open(path, "rb") as handle:
                    head = handle.read(len(_SQLITE_MAGIC))
            except OSError as exc:
                raise StoreError(f"cannot read the SQLite database {path}: {exc.strerror or exc}") from None
            if head and head != _SQLITE_MAGIC:
                raise StoreError(
                    f"{path} is not an SQLite database (it was left untouched); "
                    "point the store at another file"
                ) from None
        except OSError as exc:
            raise StoreError(f"cannot create the SQLite database {path}: {exc.strerror or exc}") from None

    def _open_schema(self) -> None:
        for attempt in (1, 2):
            try:
                with self._engine.begin() as conn:
                    found = prepare_schema(conn, self.tables, self.safe_url, _now_us())
                if found == 0:
                    logger.info("created the AutoCron tables in %s", self.safe_url)
                return
            except StoreError:
                self._engine.dispose()
                raise
            except SQLAlchemyError as exc:
                # Two processes creating the tables at once: one loses the race; the second try sees them.
                racing = isinstance(exc, IntegrityError) or "exist" in str(exc).lower()
                if attempt == 2 or not racing:
                    self._engine.dispose()
                    raise StoreError(f"cannot open the store {self.safe_url}: {_reason(exc)}") from None

    @contextlib.contextmanager
    def _begin(self, action: str) -> Iterator[Connection]:
        if self._closed:
            raise StoreError(f"the store {self.safe_url} is closed")
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"{action} in {self.safe_url}: {_reason(exc)}") from None

    # -- definitions ----------------------------------------------------------
    def load_tasks(self) -> list[Task]:
        """Every stored task with its state.

        A task whose definition cannot be rebuilt (its script was deleted, its
        function no longer imports) is logged, listed in ``load_errors`` and
        left in the database: it is reported, never dropped.
        """
        t = self.tables.tasks
        with self._begin("reading tasks") as conn:
            rows = conn.execute(select(t).order_by(t.c.name)).mappings().all()
        tasks: list[Task] = []
        errors: list[tuple[str, str]] = []
        for row in rows:
            try:
                data = json.loads(row["definition"])
                data["task_id"] = row["task_id"]
                data["state"] = {
                    "next_run": _iso(row["next_run_us"]), "last_run": _iso(row["last_run_us"]),
                    "run_count": row["run_count"], "fail_count": row["fail_count"],
                    "paused": bool(row["paused"]), "last_status": row["last_status"],
                }  # fmt: skip
                tasks.append(Task.from_dict(data))
            except (AutoCronError, ValueError, TypeError, KeyError) as exc:
                errors.append((row["name"], str(exc)))
                logger.error(
                    "%s: task %r cannot be rebuilt and is not scheduled (it stays stored): %s",
                    self.safe_url,
                    row["name"],
                    exc,
                )
        self.load_errors = errors
        return tasks

    def _state_values(self, task: Task) -> dict[str, Any]:
        return {
            "next_run_us": task.next_run_us, "last_run_us": task.last_run_us, "run_count": task.run_count,
            "fail_count": task.fail_count, "paused": bool(task.paused), "last_status": task.last_status,
            "updated_at_us": _now_us(),
        }  # fmt: skip

    def save_task(self, task: Task) -> None:
        """Insert or replace the task's definition (JSON, without secrets) and state."""
        data = task.to_dict()
        data.pop("state", None)
        task_id = data.pop("task_id")
        values = {
            "name": task.name,
            "task_id": task_id,
            "kind": task.kind,
            "definition": json.dumps(scrub_secrets(data, f"task {task.name!r}"), ensure_ascii=False),
            **self._state_values(task),
        }
        with self._begin(f"saving task {task.name!r}") as conn:
            self._upsert(conn, self.tables.tasks, values, ("name",))

    def save_state(self, task: Task) -> None:
        """Update the task's state columns (nothing when it is not stored)."""
        t = self.tables.tasks
        with self._begin(f"saving the state of task {task.name!r}") as conn:
            conn.execute(update(t).where(t.c.name == task.name).values(**self._state_values(task)))

    def delete_task(self, name: str) -> bool:
        """Delete the definition (run history stays); whether it existed."""
        t = self.tables.tasks
        with self._begin(f"deleting task {name!r}") as conn:
            return bool(conn.execute(delete(t).where(t.c.name == name)).rowcount)

    def _insert(self, table: Any) -> Any:
        """The dialect's INSERT, which has ON CONFLICT on SQLite and PostgreSQL."""
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)

    def _upsert(self, conn: Connection, table: Any, values: dict[str, Any], keys: tuple[str, ...]) -> None:
        changes = {k: v for k, v in values.items() if k not in keys}
        if self.dialect in ("sqlite", "postgresql"):
            stmt = self._insert(table).values(**values)
            conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changes))
        else:
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            conn.execute(mysql_insert(table).values(**values).on_duplicate_key_update(**changes))

    # -- runs -----------------------------------------------------------------
    def _run_values(self, record: RunRecord) -> dict[str, Any]:
        lease = None
        if record.status is RunStatus.RUNNING:
            lease = (_us(record.started_at) or _now_us()) + int(self.lease * _US)
        return {
            "task": record.task,
            "scheduled_for_us": to_utc_us(record.scheduled_for),
            "attempt": record.attempt,
            "status": record.status.value,
            "started_at_us": _us(record.started_at),
            "finished_at_us": _us(record.finished_at),
            "error": record.error,
            "node_id": record.node_id,
            "output": record.output,
            "lease_expires_at_us": lease,
        }

    def claim_run(self, record: RunRecord) -> bool:
        """Insert ``record`` unless its key exists; atomic across processes and machines."""
        values = self._run_values(record)
        runs = self.tables.runs
        action = f"claiming {record.task!r} at {record.scheduled_for.isoformat()}"
        if self.dialect in ("sqlite", "postgresql"):
            with self._begin(action) as conn:
                stmt = self._insert(runs).values(**values).on_conflict_do_nothing()
                if self.dialect == "postgresql":
                    # psycopg reports no rowcount here; RETURNING yields a row only when inserted.
                    claimed = conn.execute(stmt.returning(runs.c.attempt)).first() is not None
                else:
                    claimed = conn.execute(stmt).rowcount == 1
        else:
            try:
                with self._engine.begin() as conn:
                    conn.execute(insert(runs).values(**values))
                claimed = True
            except IntegrityError as exc:
                if _duplicate_key(exc):
                    claimed = False
                else:
                    raise StoreError(f"{action} in {self.safe_url}: {_reason(exc)}") from None
            except SQLAlchemyError as exc:
                raise StoreError(f"{action} in {self.safe_url}: {_reason(exc)}") from None
        if claimed and record.status is not RunStatus.RUNNING:
            self._pruner.tick()
        return claimed

    def finish_run(self, record: RunRecord) -> None:
        """Replace the record with the same key (inserting it when it is missing)."""
        with self._begin(f"recording the run of {record.task!r}") as conn:
            self._upsert(conn, self.tables.runs, self._run_values(record), _RUN_KEY)
        self._pruner.tick()

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The newest ``limit`` records (by occurrence, then attempt), of one task or all."""
        r = self.tables.runs
        query = select(r).order_by(r.c.scheduled_for_us.desc(), r.c.attempt.desc(), r.c.task).limit(limit)
        if name is not None:
            query = query.where(r.c.task == name)
        with self._begin("reading the run history") as conn:
            rows = conn.execute(query).mappings().all()
        return [_record(row) for row in rows]

    def stats(
        self, name: str | None = None, since: _dt.datetime | None = None, last_n: int | None = None
    ) -> list[TaskStats]:
        """Per-task aggregates computed in the database, sorted by task name.

        Args:
            name: one task (a ``TaskStats`` of zeros when it has no runs), or all tasks with runs.
            since: only occurrences scheduled at or after this moment.
            last_n: only each task's newest ``last_n`` records.
        """
        with self._begin("computing run statistics") as conn:
            return sql_stats(conn, self.tables.runs, name, since, last_n)

    # -- nodes ----------------------------------------------------------------
    def heartbeat(self, node_id: str) -> None:
        """Record that ``node_id`` is alive now (its first call sets its start time)."""
        now = _now_us()
        n = self.tables.nodes
        with self._begin(f"recording the heartbeat of node {node_id!r}") as conn:
            if not conn.execute(update(n).where(n.c.node_id == node_id).values(heartbeat_at_us=now)).rowcount:
                self._upsert(
                    conn, n, {"node_id": node_id, "started_at_us": now, "heartbeat_at_us": now}, ("node_id",)
                )

    # -- retention ------------------------------------------------------------
    def prune(self) -> int:
        """Delete records beyond ``keep_runs`` per task and older than ``keep_days``; how many went.

        Runs in the background after every few hundred finished runs; call it
        directly to prune now. Claims still running are never deleted.
        """
        r = self.tables.runs
        removed = 0
        if self.keep_days is not None:
            cutoff = _now_us() - int(self.keep_days * 86400 * _US)
            with self._begin("pruning old run records") as conn:
                removed += conn.execute(
                    delete(r).where(r.c.scheduled_for_us < cutoff, r.c.status != RunStatus.RUNNING.value)
                ).rowcount
        if self.keep_runs is not None:
            keep = self.keep_runs
            with self._begin("pruning run records") as conn:
                crowded = (
                    conn.execute(select(r.c.task).group_by(r.c.task).having(func.count() > keep))
                    .scalars()
                    .all()
                )
            for task in crowded:
                with self._begin(f"pruning the run records of {task!r}") as conn:
                    oldest_kept = conn.execute(
                        select(r.c.scheduled_for_us, r.c.attempt)
                        .where(r.c.task == task)
                        .order_by(r.c.scheduled_for_us.desc(), r.c.attempt.desc())
                        .offset(keep - 1)
                        .limit(1)
                    ).first()
                    if oldest_kept is None:
                        continue
                    kept_us, kept_attempt = oldest_kept
                    older = tuple_(r.c.scheduled_for_us, r.c.attempt) < tuple_(kept_us, kept_attempt)
                    removed += conn.execute(
                        delete(r).where(r.c.task == task, older, r.c.status != RunStatus.RUNNING.value)
                    ).rowcount
        return removed

    def close(self) -> None:
        """Stop the pruning thread and release every connection."""
        if self._closed:
            return
        self._closed = True
        self._pruner.stop()
        self._engine.dispose()


def _record(row: Any) -> RunRecord:
    return RunRecord(
        row["task"],
        from_utc_us(row["scheduled_for_us"]),
        row["attempt"],
        RunStatus(row["status"]),
        _dt_of(row["started_at_us"]),
        _dt_of(row["finished_at_us"]),
        row["error"],
        row["node_id"],
        row["output"],
    )


def _iso(us: int | None) -> str | None:
    return None if us is None else from_utc_us(int(us)).isoformat()


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's message without the SQL statement and its parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _duplicate_key(exc: IntegrityError) -> bool:
    args: tuple[Any, ...] = tuple(getattr(exc.orig, "args", ()))
    return bool(args) and args[0] == 1062  # ER_DUP_ENTRY
