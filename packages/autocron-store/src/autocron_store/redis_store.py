"""``RedisStore``: tasks, run history, claims and nodes in one Redis database.

The same guarantees as ``SqlStore`` on PostgreSQL (see docs/distributed.md),
made by Lua scripts that Redis runs atomically (``_redis_scripts``) instead of
by row locks. Key layout and record encoding: ``_redis_keys``. The cluster
side (nodes, leases, reaping, anchors, change notices): ``_redis_cluster``.
Statistics and retention: ``_redis_stats``.

redis-py is imported here, so this module is only imported when a
``redis://`` store is opened; without redis-py that raises a ``StoreError``
carrying the pip line.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from autocron_core.errors import AutoCronError, ConfigError, StoreError
from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us
from autocron_core.task import Task

from . import _redis_scripts as scripts
from ._document import check_moments, check_writable, scrub_notifier_secrets
from ._redis_cluster import RedisClusterOps
from ._redis_keys import decode_record, encode_record, member_parts, pairs_to_dict, sort_key_of
from ._redis_stats import RedisStatsOps
from ._redis_urls import DEFAULT_PREFIX, parse_redis_url
from .retention import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_RUNS, Pruner, check_retention

if TYPE_CHECKING:
    import redis

__all__ = ["INSTALL", "RedisStore"]

logger = logging.getLogger("autocron.store.redis")

_T = TypeVar("_T")
#: The line that installs what a ``redis://`` store needs.
INSTALL = "pip install 'autocron-store[redis]'"
#: Seconds a running claim stays valid without a heartbeat (as ``SqlStore``'s default).
DEFAULT_LEASE = 30.0
#: Seconds an operation keeps retrying through dropped connections and a restarting server.
RETRY_FOR = 15.0
#: Layout version written under ``<prefix>:version``; a newer one is refused.
LAYOUT_VERSION = 1
#: Records per script call: bounds how long one script holds the server.
_CHUNK = 1000


def _import_redis() -> Any:
    try:
        import redis
    except ImportError:
        raise StoreError(
            f"the Redis store needs redis-py, which is not installed; install it with: {INSTALL}"
        ) from None
    return redis


def _values(record: RunRecord) -> list[str]:
    """What the scripts need of a record besides its fields: task, sort key, status, node,
    start, finish (JSON texts), duration and lateness samples in µs ('' for none)."""
    started = None if record.started_at is None else to_utc_us(record.started_at)
    finished = None if record.finished_at is None else to_utc_us(record.finished_at)
    duration = ""
    if record.status is RunStatus.SUCCEEDED and started is not None and finished is not None:
        duration = str(finished - started)
    lateness = "" if started is None else str(started - to_utc_us(record.scheduled_for))
    return [
        record.task,
        sort_key_of(record),
        record.status.value,
        json.dumps(record.node_id),
        json.dumps(started),
        json.dumps(finished),
        duration,
        lateness,
    ]


def _state(task: Task) -> str:
    return json.dumps(
        {
            "next_run_us": task.next_run_us,
            "last_run_us": task.last_run_us,
            "run_count": task.run_count,
            "fail_count": task.fail_count,
            "paused": bool(task.paused),
            "last_status": task.last_status,
        }
    )


def _iso(us: int | None) -> str | None:
    return None if us is None else from_utc_us(int(us)).isoformat()


class RedisStore(RedisClusterOps, RedisStatsOps):
    """A ``ClusterStore`` in one Redis database, shared safely by threads, processes and machines.

    Several schedulers on one Redis primary run each occurrence once, as on
    PostgreSQL: see docs/distributed.md for what that needs of Redis
    (``appendonly yes``, ``appendfsync always``) and what a failover can cost.

    Args:
        url: ``redis://[user[:password]@]host[:port][/db]`` or ``rediss://`` (TLS).
            The password may come from ``AUTOCRON_REDIS_PASSWORD`` instead.
            Query options read by the store: ``prefix`` (key namespace, default
            ``autocron``: keys start ``autocron:``), ``lease`` (seconds),
            ``keep_runs``, ``keep_days``; any other goes to redis-py.
        keep_runs: run records kept per task (0 or ``None``: all); overrides the URL.
        keep_days: days of run records kept (0 or ``None``: all); overrides the URL.
        prefix: the key namespace; overrides the URL.
        lease: seconds a running claim is valid without a heartbeat; overrides the URL.

    Raises:
        StoreError: redis-py is missing (with the pip line), the server cannot be
            reached, or it holds a newer layout.
        ConfigError: the URL or an option is not valid (naming it).
    """

    persistent = True

    def __init__(
        self,
        url: str,
        *,
        keep_runs: int | object | None = ...,
        keep_days: float | object | None = ...,
        prefix: str | None = None,
        lease: float | None = None,
    ) -> None:
        parsed = parse_redis_url(url)
        self.safe_url = parsed.safe
        opts = parsed.options
        runs_opt = keep_runs if keep_runs is not ... else opts.get("keep_runs", DEFAULT_KEEP_RUNS)
        days_opt = keep_days if keep_days is not ... else opts.get("keep_days", DEFAULT_KEEP_DAYS)
        self.keep_runs, self.keep_days = check_retention(runs_opt, days_opt)  # type: ignore[arg-type]
        lease_opt = lease if lease is not None else opts.get("lease", DEFAULT_LEASE)
        if isinstance(lease_opt, bool) or not isinstance(lease_opt, (int, float)) or not 0 < lease_opt < 1e9:
            raise ConfigError(f"lease={lease_opt!r}: expected a number of seconds above 0", field="lease")
        self.lease_seconds = float(lease_opt)
        if prefix is not None:
            from autocron_core.config import check_store_option

            prefix = check_store_option("prefix", prefix)
        self.prefix: str = prefix if prefix is not None else str(opts.get("prefix", DEFAULT_PREFIX))
        #: The text every key starts with.
        self.keys = f"{self.prefix}:"
        self.load_errors: list[tuple[str, str]] = []
        self._closed = False
        self._fences: dict[tuple[str, str], str] = {}
        self._fence_lock = threading.Lock()
        redis_mod = _import_redis()
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        try:
            # No retries inside redis-py: a claim whose reply was lost must be retried by
            # _call, which tells the script so (it then recognises its own claim).
            self.client: redis.Redis = redis_mod.Redis.from_url(
                parsed.client_url,
                decode_responses=True,
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=5,
                socket_timeout=15,
                health_check_interval=10,
            )
        except (ValueError, redis_mod.RedisError) as exc:
            raise ConfigError(f"store URL {self.safe_url!r}: {exc}", field="store") from None
        self._scripts = {
            name: self.client.register_script(getattr(scripts, name))
            for name in scripts.__all__  # every script, compiled on first use and after a restart
        }
        self._pruner = Pruner(lambda _tasks: self.prune())  # every task's list is trimmed alike
        self._check_layout()

    def __repr__(self) -> str:
        return f"RedisStore({self.safe_url!r})"

    @property
    def lease(self) -> float:
        """The same as ``lease_seconds`` (``SqlStore``'s older name)."""
        return self.lease_seconds

    # -- plumbing -------------------------------------------------------------
    def _check_layout(self) -> None:
        redis_mod = _import_redis()
        try:
            self.client.set(f"{self.keys}version", LAYOUT_VERSION, nx=True)
            found = self.client.get(f"{self.keys}version")
        except redis_mod.RedisError as exc:
            self.client.close()
            raise StoreError(f"cannot open the store {self.safe_url}: {_reason(exc)}") from None
        if found is None or not str(found).isdigit() or int(found) > LAYOUT_VERSION:
            self.client.close()
            raise StoreError(
                f"the store {self.safe_url} holds data of a newer AutoCron (layout {found!r}, "
                f"this one reads {LAYOUT_VERSION}); upgrade autocron-store"
            )

    def _call(self, action: str, body: Callable[[int], _T]) -> _T:
        """Run ``body(retry_number)``, again after a dropped connection or a restarting server.

        ``body`` must be safe to run twice: the first try may have reached
        Redis although its reply was lost (``retry_number > 0`` says when).

        Raises:
            StoreError: any other Redis error, or still failing after ``RETRY_FOR`` seconds.
        """
        if self._closed:
            raise StoreError(f"the store {self.safe_url} is closed")
        redis_mod = _import_redis()
        transient = (redis_mod.ConnectionError, redis_mod.TimeoutError, redis_mod.exceptions.ReadOnlyError)
        started = time.monotonic()
        delay = 0.05
        tries = 0
        while True:
            try:
                return body(tries)
            except transient as exc:
                if time.monotonic() - started + delay > RETRY_FOR or self._closed:
                    raise StoreError(f"{action} in {self.safe_url}: {_reason(exc)}") from None
                logger.warning("%s in %s: %s; retrying in %.2fs", action, self.safe_url, _reason(exc), delay)
            except redis_mod.RedisError as exc:
                raise StoreError(f"{action} in {self.safe_url}: {_reason(exc)}") from None
            except UnicodeEncodeError as exc:  # a lone surrogate in a name: Redis takes UTF-8 only
                raise StoreError(
                    f"{action} in {self.safe_url}: text that is not UTF-8 ({exc.reason})"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            tries += 1

    def _run(self, name: str, args: Sequence[Any]) -> Any:
        """One script call (redis-py loads the script again when the server lost it)."""
        return self._scripts[name](keys=[], args=[self.keys, *args])

    # -- definitions ----------------------------------------------------------
    def load_tasks(self) -> list[Task]:
        """Every stored task with its state, sorted by name.

        A task that cannot be rebuilt costs only itself: it is logged, listed in
        ``load_errors`` as ``(name, reason)`` and left stored (``delete_task`` removes it).
        """

        def body(_: int) -> Any:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hgetall(f"{self.keys}task")
                pipe.hgetall(f"{self.keys}state")
                return pipe.execute()

        definitions, states = self._call("reading tasks", body)
        tasks: list[Task] = []
        errors: list[tuple[str, str]] = []
        for name in sorted(definitions):
            try:
                data = json.loads(definitions[name])
                state = json.loads(states.get(name) or "{}")
                data["state"] = {
                    "next_run": _iso(state.get("next_run_us")), "last_run": _iso(state.get("last_run_us")),
                    "run_count": state.get("run_count", 0), "fail_count": state.get("fail_count", 0),
                    "paused": bool(state.get("paused")), "last_status": state.get("last_status"),
                }  # fmt: skip
                tasks.append(Task.from_dict(data))
            except (AutoCronError, ValueError, TypeError, KeyError, AttributeError, ArithmeticError,
                    RecursionError) as exc:  # fmt: skip
                errors.append((name, str(exc) or type(exc).__name__))
                logger.error(
                    "%s: task %r cannot be rebuilt and is not scheduled (it stays stored): %s",
                    self.safe_url,
                    name,
                    exc,
                )
        self.load_errors = errors
        return tasks

    def save_task(self, task: Task) -> None:
        """Insert or replace the task's definition (JSON, without notifier secrets) and state.

        Other nodes hear of it at once through the store's change channel.

        Raises:
            TaskError: the task could not be read back as it is, or has an argument
                named like a secret (see ``check_writable``); nothing is written.
        """
        check_moments(task)
        data = task.to_dict()
        data.pop("state", None)
        task_id = data.pop("task_id")
        data = scrub_notifier_secrets(data, f"task {task.name!r}")
        check_writable(task, data)
        data["task_id"] = task_id
        definition = json.dumps(data)
        self._call(
            f"saving task {task.name!r}",
            lambda _: self._run("SAVE_TASK", [task.name, definition, _state(task)]),
        )

    def save_state(self, task: Task) -> None:
        """Update the task's state (nothing when it is not stored).

        Raises:
            TaskError: the next or last run lies beyond what can be read back.
        """
        check_moments(task)
        state = _state(task)
        self._call(
            f"saving the state of task {task.name!r}",
            lambda _: self._run("SAVE_STATES", [1, task.name, state]),
        )

    def delete_task(self, name: str) -> bool:
        """Delete the definition (run history and a shared anchor stay); whether it existed."""
        return bool(self._call(f"deleting task {name!r}", lambda _: self._run("DELETE_TASK", [name])))

    # -- runs -----------------------------------------------------------------
    def claim_run(self, record: RunRecord) -> bool:
        """Insert ``record`` unless its key exists; atomic across processes and machines."""
        return self.claim_runs([record])[0]

    def claim_runs(self, records: Sequence[RunRecord]) -> list[bool]:
        """Claim every record (one script call per thousand); whether this call inserted each one.

        A running claim gets a lease of ``lease_seconds`` on the server's clock
        and a fencing token, which this store keeps until the run's finish: a
        finish is written only over the claim it belongs to. A retry after a lost
        reply recognises this call's own claims (same node, same start, running).
        """
        first: dict[tuple[str, str], int] = {}
        for index, record in enumerate(records):
            first.setdefault((record.task, sort_key_of(record)), index)
        order = sorted(first.values())
        fences: dict[int, int] = {}
        for start in range(0, len(order), _CHUNK):
            chunk = [records[i] for i in order[start : start + _CHUNK]]
            args: list[Any] = [int(self.lease_seconds * 1000), "0", len(chunk)]
            for record in chunk:
                fields = encode_record(record)
                args += [*_values(record), len(fields) // 2, *fields]

            def body(tries: int, args: list[Any] = args) -> Any:
                args[1] = "1" if tries else "0"
                return self._run("CLAIM", args)

            won = self._call(f"claiming {len(chunk)} occurrence(s)", body)
            for index, fence in zip(order[start : start + _CHUNK], won, strict=True):
                fences[index] = int(fence)
        result = []
        for index, record in enumerate(records):
            fence = fences.get(index, 0)
            result.append(fence > 0)
            if fence and record.status is RunStatus.RUNNING:
                with self._fence_lock:
                    self._fences[(record.task, sort_key_of(record))] = str(fence)
            elif fence:
                self._pruner.tick()
        return result

    def finish_run(self, record: RunRecord) -> None:
        """Replace the claimed record by ``record`` (inserting it when it is missing).

        A claim another node marked ``abandoned`` meanwhile (this node lost its
        lease: cut off, not dead) stays ``abandoned``, its error saying how the run
        really ended. A claim that is not this store's own (its fencing token
        differs) is never written over.
        """
        self.finish_runs([record])

    def finish_runs(self, records: Sequence[RunRecord], tasks: Sequence[Task] = ()) -> None:
        """Finish every record and save every stored task's state, in one script call."""
        states: list[str] = []
        for task in tasks:
            try:
                check_moments(task)
                states += [task.name, _state(task)]
            except AutoCronError:  # a state that cannot be stored costs only its own save
                logger.exception("task %r: could not save its state", task.name)
        args: list[Any] = [len(records)]
        keys = []
        for record in records:
            key = (record.task, sort_key_of(record))
            keys.append(key)
            with self._fence_lock:
                fence = self._fences.get(key, "")
            note = f"; its node {record.node_id} finished it later: {record.status.value}"
            if record.error:
                note += f" ({record.error})"
            fields = encode_record(record)
            args += [*_values(record), fence, note, len(fields) // 2, *fields]
        args += [len(states) // 2, *states]
        outcomes = self._call(
            f"recording {len(records)} finished run(s)", lambda _: self._run("FINISH", args)
        )
        for key, record, outcome in zip(keys, records, outcomes, strict=True):
            if record.status is not RunStatus.RUNNING:
                with self._fence_lock:
                    self._fences.pop(key, None)
            if outcome == "late":
                logger.warning(
                    "task %r: occurrence %s attempt %d ended %s after another node had taken it over",
                    record.task, record.scheduled_for.isoformat(), record.attempt, record.status.value,
                )  # fmt: skip
            elif outcome == "fenced":
                logger.warning(
                    "task %r: occurrence %s attempt %d ended %s, but its claim is no longer this "
                    "node's (another holds it now); its record is left as it is",
                    record.task, record.scheduled_for.isoformat(), record.attempt, record.status.value,
                )  # fmt: skip
            self._pruner.tick()

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The newest ``limit`` records (by occurrence, then attempt, then task), of one task or all."""
        if limit <= 0:
            return []
        k = self.keys

        def body(_: int) -> list[tuple[str, str]]:
            if name is not None:
                return [(name, str(sk)) for sk in self.client.zrevrange(f"{k}hist:{name}", 0, limit - 1)]
            members = [str(m) for m in self.client.zrevrange(f"{k}hist", 0, limit - 1)]
            if len(members) == limit:
                # Records of other tasks at the same occurrence and attempt as the last one
                # must be ordered by task name before cutting: fetch them all.
                sk, _task = member_parts(members[-1])
                members += [str(m) for m in self.client.zrangebylex(f"{k}hist", f"[{sk}:", f"({sk};")]
            keyed = sorted({member_parts(m) for m in members}, key=lambda p: (-_rank(p[0]), p[1]))
            return [(task, sk) for sk, task in keyed[:limit]]

        def fetch(_: int) -> list[dict[str, str]]:
            with self.client.pipeline(transaction=False) as pipe:
                for task, sk in wanted:
                    pipe.hgetall(f"{k}run:{task}:{sk}")
                return [dict(row) for row in pipe.execute()]

        wanted = self._call("reading the run history", body)
        rows = self._call("reading the run history", fetch)
        return [decode_record(pairs_to_dict(_flat(row))) for row in rows if row]

    # -- closing --------------------------------------------------------------
    def close(self) -> None:
        """Stop the pruning thread and close the connections (idempotent)."""
        if self._closed:
            return
        self._pruner.stop()  # first: a prune in progress finishes on the open client
        self._closed = True
        self.client.close()


def _rank(sk: str) -> int:
    """A sort key as a number, for ordering newest first."""
    time_part, _, attempt = sk.partition(":")
    return int(time_part) * 10**10 + int(attempt)


def _flat(row: dict[str, str]) -> list[str]:
    return [item for pair in row.items() for item in pair]


def _reason(exc: Exception) -> str:
    """The error's first line (never a URL: redis-py's messages name host and port only)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
