"""``SqlStore``: tasks, run history, claims and nodes in SQLite, PostgreSQL or MariaDB.

One code path over SQLAlchemy Core; the only dialect switches are the
insert-if-absent and upsert statements, the percentile function and the
database clock. The cluster side (nodes, leases, reaping, shared anchors) is in
``_cluster_sql``; group commit (``claim_runs``, ``finish_runs``) in ``_batch_sql``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from autocron_core.config import check_store_option
from autocron_core.errors import AutoCronError, ConfigError, StoreError
from autocron_core.protocols import TaskStats
from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us
from autocron_core.task import Task

from ._batch_sql import BatchOps
from ._cluster_sql import ANCHOR_KIND, ClusterOps, key_of, reason, run_record
from ._connect import create_sql_engine
from ._document import check_moments, check_writable, scrub_notifier_secrets
from ._listen import Listener, channel_name, notify
from ._pages import PageKey, sql_history_page
from ._schema import Tables, build_tables, prepare_schema
from ._sqlstats import sql_stats
from ._urls import parse_store_url
from .retention import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_RUNS, Pruner, check_retention

__all__ = ["DEFAULT_LEASE", "SqlStore"]

logger = logging.getLogger("autocron.store.sql")

#: Seconds a running claim stays valid without a heartbeat. Nodes heartbeat every
#: third of it, so a node must miss three in a row before others take its runs over.
DEFAULT_LEASE = 30.0
#: Milliseconds SQLite waits for another writer before giving up.
DEFAULT_BUSY_TIMEOUT = 10_000
_US = 1_000_000
#: What a stored run time may be: the range ``datetime`` can read back (years 1 to 9999, UTC).
_MAX_US = to_utc_us(_dt.datetime.max.replace(tzinfo=_dt.timezone.utc))
_MIN_US = to_utc_us(_dt.datetime.min.replace(tzinfo=_dt.timezone.utc))
#: Task names per query when the pruner looks at the tasks that ran.
_PRUNE_CHUNK = 500
_RUN_KEY = ("task", "scheduled_for_us", "attempt")


def _now_us() -> int:
    return time.time_ns() // 1000


def _us(moment: _dt.datetime | None) -> int | None:
    return None if moment is None else to_utc_us(moment)


class SqlStore(BatchOps, ClusterOps):
    """A ``ClusterStore`` in a SQL database, shared safely by threads, processes and machines.

    Several schedulers on one PostgreSQL (or MariaDB) database run each
    occurrence once: see docs/distributed.md. An SQLite file is a cluster
    store too, for the processes of one machine (a restarted daemon reaps
    what its killed predecessor left running); never share one across machines.

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
        lease: seconds a running claim is valid without a heartbeat before another
            node may mark it abandoned and retry it; overrides the URL's ``lease``.

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
        # Each URL option is checked by name (``?keep_runs=lots`` is a ConfigError naming keep_runs).
        opts = {key: check_store_option(key, value) for key, value in parsed.options.items()}
        runs_opt = keep_runs if keep_runs is not ... else opts.get("keep_runs", DEFAULT_KEEP_RUNS)
        days_opt = keep_days if keep_days is not ... else opts.get("keep_days", DEFAULT_KEEP_DAYS)
        self.keep_runs, self.keep_days = check_retention(runs_opt, days_opt)  # type: ignore[arg-type]
        self.lease_seconds = _lease(lease if lease is not None else opts.get("lease", DEFAULT_LEASE))
        self.prefix = prefix if prefix is not None else opts.get("prefix", "")
        self.dialect = self.url.get_backend_name()
        self.tables: Tables = build_tables(self.prefix)
        self.load_errors: list[tuple[str, str]] = []
        self._engine = self._create_engine(int(opts.get("busy_timeout", DEFAULT_BUSY_TIMEOUT)))
        self._pruner = Pruner(self.prune)
        self._batch_lock = threading.Lock()  # SQLite: claim and finish batches take turns (_batch_sql)
        self._closed = False
        self._open_schema()

    def __repr__(self) -> str:
        return f"SqlStore({self.safe_url!r})"

    @property
    def lease(self) -> float:
        """The same as ``lease_seconds`` (the older name)."""
        return self.lease_seconds

    # -- connecting -----------------------------------------------------------
    def _create_engine(self, busy_timeout_ms: int) -> Engine:
        return create_sql_engine(self.url, self.safe_url, busy_timeout_ms)

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
                    raise StoreError(f"cannot open the store {self.safe_url}: {reason(exc)}") from None

    @contextlib.contextmanager
    def _begin(self, action: str) -> Iterator[Connection]:
        if self._closed:
            raise StoreError(f"the store {self.safe_url} is closed")
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"{action} in {self.safe_url}: {reason(exc)}") from None

    # -- definitions ----------------------------------------------------------
    def load_tasks(self) -> list[Task]:
        """Every stored task with its state.

        A task whose row cannot be rebuilt (its script was deleted, its
        function no longer imports, a garbled definition, a next run beyond
        year 9999) costs only that row: it is logged, listed in
        ``load_errors`` as ``(name, reason)`` and left in the database, where
        ``delete_task`` removes it. Rows that only hold a function task's
        shared anchor are not tasks and are skipped.
        """
        t = self.tables.tasks
        query = select(t).where(t.c.kind != ANCHOR_KIND).order_by(t.c.name)
        rows = self._retrying("reading tasks", lambda conn, _: conn.execute(query).mappings().all())
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
            except (AutoCronError, ValueError, TypeError, KeyError, AttributeError, ArithmeticError,
                    RecursionError) as exc:  # fmt: skip
                # Whatever one row holds, it must not stop the others from loading.
                errors.append((row["name"], str(exc) or type(exc).__name__))
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
        """Insert or replace the task's definition (JSON, without notifier secrets) and state.

        Raises:
            TaskError: the task could not be read back as it is (a name that is
                not UTF-8, a next run beyond year 9999) or has an argument named
                like a secret (see ``check_writable``); nothing is written.
        """
        check_moments(task)  # before to_dict, which cannot render such a time
        data = task.to_dict()
        data.pop("state", None)
        task_id = data.pop("task_id")
        data = scrub_notifier_secrets(data, f"task {task.name!r}")
        check_writable(task, data)
        values = {
            "name": task.name,
            "task_id": task_id,
            "kind": task.kind,
            "definition": json.dumps(data, ensure_ascii=False),
            **self._state_values(task),
        }
        with self._begin(f"saving task {task.name!r}") as conn:
            self._upsert(conn, self.tables.tasks, values, ("name",))
            self._notify_change(conn)

    def save_state(self, task: Task) -> None:
        """Update the task's state columns (nothing when it is not stored).

        Raises:
            TaskError: the next or last run lies beyond what can be read back.
        """
        self._check_state(task)
        t = self.tables.tasks
        stmt = (
            update(t).where(t.c.name == task.name, t.c.kind != ANCHOR_KIND).values(**self._state_values(task))
        )
        self._retrying(f"saving the state of task {task.name!r}", lambda conn, _: conn.execute(stmt))

    @staticmethod
    def _check_state(task: Task) -> None:
        """Raise ``TaskError`` naming the field when the task's times cannot be read back."""
        if (
            not _MIN_US <= (task.next_run_us or 0) <= _MAX_US
            or not _MIN_US <= (task.last_run_us or 0) <= _MAX_US
        ):
            check_moments(task)  # raises, naming the field

    def delete_task(self, name: str) -> bool:
        """Delete the definition (run history stays); whether it existed.

        A function task's shared anchor stays: the other nodes still count from it.
        """
        t = self.tables.tasks
        with self._begin(f"deleting task {name!r}") as conn:
            deleted = bool(conn.execute(delete(t).where(t.c.name == name, t.c.kind != ANCHOR_KIND)).rowcount)
            if deleted:
                self._notify_change(conn)
            return deleted

    def _notify_change(self, conn: Any) -> None:
        """Tell listening nodes that definitions changed (PostgreSQL; elsewhere they poll)."""
        if self.dialect == "postgresql":
            notify(conn, channel_name(self.prefix))

    def announce_change(self) -> None:
        """Wake the nodes watching this store (a PostgreSQL NOTIFY; nothing elsewhere).

        The scheduler calls it after an upstream task's final outcome is written,
        so that the other nodes decide its dependants at once rather than at their
        next poll (see docs/distributed.md).
        """
        if self.dialect != "postgresql":
            return
        with self._begin("announcing a finished run") as conn:
            self._notify_change(conn)

    def watch(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``callback`` whenever another process changes a task definition.

        PostgreSQL only (LISTEN/NOTIFY on a dedicated connection); elsewhere
        returns ``None`` and the cluster agent's polling is all there is.

        Returns:
            A function that stops watching, or ``None``.
        """
        if self.dialect != "postgresql":
            return None
        return Listener(self._engine, channel_name(self.prefix), callback).stop

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
            "run_trigger": record.trigger,
            # On the database's clock, like the heartbeat that renews it and the reaper that checks it.
            "lease_expires_at_us": self._lease_sql() if record.status is RunStatus.RUNNING else None,
        }

    def _key(self, record: RunRecord) -> tuple[Any, ...]:
        r = self.tables.runs
        task, scheduled_us, attempt = key_of(record)
        return (r.c.task == task, r.c.scheduled_for_us == scheduled_us, r.c.attempt == attempt)

    def claim_run(self, record: RunRecord) -> bool:
        """Insert ``record`` unless its key exists; atomic across processes and machines.

        Retried through dropped connections. A retry that finds the key taken
        by this very claim (same node, same start, still running: the first
        try's commit landed but its reply was lost) reports it as claimed.
        """
        values = self._run_values(record)
        runs = self.tables.runs

        def body(conn: Connection, tries: int) -> bool:
            if self.dialect == "postgresql":
                stmt = self._insert(runs).values(**values).on_conflict_do_nothing()
                # psycopg reports no rowcount here; RETURNING yields a row only when inserted.
                claimed = conn.execute(stmt.returning(runs.c.attempt)).first() is not None
            elif self.dialect == "sqlite":
                claimed = (
                    conn.execute(self._insert(runs).values(**values).on_conflict_do_nothing()).rowcount == 1
                )
            else:
                try:
                    conn.execute(insert(runs).values(**values))
                    claimed = True
                except IntegrityError as exc:
                    if not _duplicate_key(exc):
                        raise
                    claimed = False
            if claimed or not tries:
                return claimed
            row = conn.execute(
                select(runs.c.node_id, runs.c.status, runs.c.started_at_us).where(*self._key(record))
            )
            mine = row.first()
            return mine is not None and tuple(mine) == (
                record.node_id,
                RunStatus.RUNNING.value,
                values["started_at_us"],
            )

        claimed = self._retrying(f"claiming {record.task!r} at {record.scheduled_for.isoformat()}", body)
        if claimed and record.status is not RunStatus.RUNNING:
            self._pruner.tick(1, (record,))
        return claimed

    def finish_run(self, record: RunRecord) -> None:
        """Replace the record with the same key (inserting it when it is missing).

        A record another node marked ``abandoned`` meanwhile (this node lost
        its lease: it was cut off, not dead) stays ``abandoned``; its error
        text says how the run really ended, so the double run is visible.
        """
        self._retrying(
            f"recording the run of {record.task!r}", lambda conn, _: self._finish_one(conn, record)
        )
        self._pruner.tick(1, (record,))

    def _finish_one(self, conn: Connection, record: RunRecord) -> None:
        """``finish_run``'s statements, inside the caller's transaction."""
        values = self._run_values(record)
        r = self.tables.runs
        changes = {k: v for k, v in values.items() if k not in _RUN_KEY}
        live = update(r).where(*self._key(record), r.c.status != RunStatus.ABANDONED.value)
        if conn.execute(live.values(**changes)).rowcount:
            return
        row = conn.execute(select(r.c.error).where(*self._key(record))).first()
        if row is None:  # never claimed (the claim itself failed): record it anyway
            self._upsert(conn, r, values, _RUN_KEY)
            return
        note = f"{row.error}; its node {record.node_id} finished it later: {record.status.value}"
        if record.error:
            note += f" ({record.error})"
        conn.execute(update(r).where(*self._key(record)).values(error=note, output=record.output))
        logger.warning(
            "task %r: occurrence %s attempt %d ended %s after another node had taken it over",
            record.task,
            record.scheduled_for.isoformat(),
            record.attempt,
            record.status.value,
        )

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The newest ``limit`` records (by occurrence, then attempt), of one task or all."""
        r = self.tables.runs
        query = select(r).order_by(r.c.scheduled_for_us.desc(), r.c.attempt.desc(), r.c.task).limit(limit)
        if name is not None:
            query = query.where(r.c.task == name)
        with self._begin("reading the run history") as conn:
            rows = conn.execute(query).mappings().all()
        return [run_record(row) for row in rows]

    def history_page(
        self,
        name: str | None = None,
        *,
        status: RunStatus | None = None,
        since: _dt.datetime | None = None,
        until: _dt.datetime | None = None,
        after: PageKey | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """One page of history, newest first (occurrence, attempt, task), for tables that page back.

        Args:
            name: one task, or all.
            status: only runs with this status.
            since: only occurrences scheduled at or after this moment.
            until: only occurrences scheduled before this moment.
            after: the previous page's last key (``PageKey``): this page starts after it.
            limit: records at most.
        """
        with self._begin("reading a page of run history") as conn:
            return sql_history_page(conn, self.tables.runs, name, status, since, until, after, limit)

    def running_runs(self, name: str) -> list[RunRecord]:
        """The task's records still ``running`` (on any node), oldest first.

        Executors (autocron-celery) count them to hold overlap policies across
        nodes: an attempt out on a worker stays ``running`` until its outcome.
        """
        r = self.tables.runs
        query = (
            select(r)
            .where(r.c.task == name, r.c.status == RunStatus.RUNNING.value)
            .order_by(r.c.scheduled_for_us, r.c.attempt)
        )
        with self._begin("reading running runs") as conn:
            rows = conn.execute(query).mappings().all()
        return [run_record(row) for row in rows]

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

    # -- retention ------------------------------------------------------------
    def prune(self, tasks: Collection[str] | None = None) -> int:
        """Delete records beyond ``keep_runs`` per task and older than ``keep_days``; how many went.

        Runs in the background after every few hundred finished runs (looking
        only at the tasks whose runs finished since, ``tasks``) and hourly (at
        every task); call it directly to prune now. Claims still running are
        never deleted.
        """
        r = self.tables.runs
        removed = 0
        if self.keep_days is not None:
            cutoff = _now_us() - int(self.keep_days * 86400 * _US)
            old = and_(r.c.scheduled_for_us < cutoff, r.c.status != RunStatus.RUNNING.value)
            # Looked for first: a DELETE takes SQLite's write lock even when it finds nothing.
            with self._begin("pruning old run records") as conn:
                found = conn.execute(select(r.c.task).where(old).limit(1)).first() is not None
            if found:
                with self._sqlite_writing(), self._begin("pruning old run records") as conn:
                    removed += conn.execute(delete(r).where(old)).rowcount
        if self.keep_runs is not None:
            for task in self._crowded(self.keep_runs, tasks):
                removed += self._prune_task(task, self.keep_runs)
        return removed

    def _crowded(self, keep: int, tasks: Collection[str] | None) -> list[str]:
        """The tasks (of ``tasks``, or all) with more than ``keep`` records."""
        r = self.tables.runs
        query = select(r.c.task).group_by(r.c.task).having(func.count() > keep)
        with self._begin("pruning run records") as conn:
            if tasks is None:
                return list(conn.execute(query).scalars())
            names = sorted(tasks)
            crowded: list[str] = []
            for start in range(0, len(names), _PRUNE_CHUNK):
                chunk = names[start : start + _PRUNE_CHUNK]
                crowded += conn.execute(query.where(r.c.task.in_(chunk))).scalars()
            return crowded

    def _prune_task(self, task: str, keep: int) -> int:
        """Delete ``task``'s records older than its ``keep``-th newest; how many went."""
        r = self.tables.runs
        with self._sqlite_writing(), self._begin(f"pruning the run records of {task!r}") as conn:
            oldest_kept = conn.execute(
                select(r.c.scheduled_for_us, r.c.attempt)
                .where(r.c.task == task)
                .order_by(r.c.scheduled_for_us.desc(), r.c.attempt.desc())
                .offset(keep - 1)
                .limit(1)
            ).first()
            if oldest_kept is None:
                return 0
            kept_us, kept_attempt = oldest_kept
            older = tuple_(r.c.scheduled_for_us, r.c.attempt) < tuple_(kept_us, kept_attempt)
            return int(
                conn.execute(
                    delete(r).where(r.c.task == task, older, r.c.status != RunStatus.RUNNING.value)
                ).rowcount
            )

    def close(self) -> None:
        """Stop the pruning thread and release every connection."""
        if self._closed:
            return
        # The pruner first: a prune under way ends before the store refuses its statements.
        self._pruner.stop()
        self._closed = True
        self._engine.dispose()


def _iso(us: int | None) -> str | None:
    return None if us is None else from_utc_us(int(us)).isoformat()


def _lease(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds > 0:
        raise ConfigError(f"lease must be a number of seconds above 0, got {value!r}", field="lease")
    return seconds


def _duplicate_key(exc: IntegrityError) -> bool:
    args: tuple[Any, ...] = tuple(getattr(exc.orig, "args", ()))
    return bool(args) and args[0] == 1062  # ER_DUP_ENTRY
