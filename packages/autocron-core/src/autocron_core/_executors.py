"""Executors: attempts that run outside this process (Celery workers, ...).

The engine keeps everything that decides *whether* and *when* an attempt runs
(claims, overlap, retries, timeouts' bookkeeping, events, notifications,
history). An ``Executor`` (``protocols.Executor``) only carries the attempt to
where it runs and reports how it ended. This module is the seam between the
two: ``executor_for`` picks a task's executor when an attempt starts,
``RemoteRuns.submit`` hands a claimed attempt over, and ``RemoteRuns.report``
takes the outcome back into the engine's one finishing path (``_finish``).
"""

from __future__ import annotations

import threading

from ._lazylog import LazyLogger
from .errors import AutoCronError, TaskError
from .records import RunStatus

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from ._engine import Engine, Run
    from .protocols import Executor, Outcome
    from .task import Task
else:
    from ._tuples import NamedTuple

__all__ = ["LOCAL", "RemoteRuns", "Route", "executor_for", "make_route"]

logger = LazyLogger("autocron.executors")

#: ``executor="local"``: run this task here even when the scheduler has a default executor.
LOCAL = "local"
_MAX_REMOTE_NAME = 200
_MAX_QUEUE = 255  # AMQP's limit for a queue name (bytes; ASCII is enforced)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


class Route(NamedTuple):
    """Where a task's attempts run when not in this process's worker pool.

    Attributes:
        executor: the executor's registry name (``"celery"``), ``"local"``, or
            ``None`` for the scheduler's own executor (``AutoCron(executor=...)``).
        queue: the queue to send attempts to (``None``: the executor's default).
        remote: for a ``celery=`` task, the Celery task name it sends.
    """

    executor: str | None
    queue: str | None = None
    remote: str | None = None

    def to_config(self) -> dict[str, Any]:
        """The ``add_task`` keys that rebuild this route (``celery=`` itself is the task's target)."""
        data: dict[str, Any] = {}
        if self.queue is not None:
            data["queue"] = self.queue
        if self.executor is not None and not (self.remote is not None and self.executor == "celery"):
            data["executor"] = self.executor
        return data


def _plain_name(field: str, value: Any, longest: int, expected: str) -> str:
    """``value`` if it is printable ASCII without spaces, not option-like, of 1 to ``longest`` chars."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= longest
        or not value.isascii()
        or not value.isprintable()
        or any(c.isspace() for c in value)
        or value.startswith("-")
    ):
        raise TaskError(
            field,
            value,
            f"{expected}: 1 to {longest} printable ASCII characters, no spaces, not starting with '-'",
        )
    return value


def make_route(kind: str, celery: Any, queue: Any, executor: Any) -> Route:
    """Validate ``add_task``'s ``celery=``, ``queue=`` and ``executor=`` into a ``Route``.

    Raises:
        TaskError: a name that is not valid, or options that contradict each other.
    """
    if executor is not None and (
        not isinstance(executor, str)
        or not 1 <= len(executor) <= 40
        or not _NAME_CHARS.issuperset(executor)
        or executor[0] in "-_"
    ):
        raise TaskError("executor", executor, 'an executor name such as "celery", or "local"')
    if queue is not None:
        _plain_name("queue", queue, _MAX_QUEUE, "a queue name")
        if executor == LOCAL:
            raise TaskError("queue", queue, 'no queue for a task with executor="local"')
    if kind == "celery":
        remote = _plain_name(
            "celery", celery, _MAX_REMOTE_NAME, 'a Celery task name such as "proj.tasks.report"'
        )
        if executor not in (None, "celery"):
            raise TaskError("executor", executor, 'nothing, or "celery", for a celery= task')
        return Route("celery", queue, remote)
    return Route(executor, queue, None)


class _Unavailable:
    """Stands in for an executor that could not be made; its attempts fail with ``reason``."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def executor_for(engine: Engine, task: Task) -> Any:
    """The executor that runs ``task``'s attempts: ``None`` to run them here.

    Called when an attempt starts (engine lock held). Async function tasks
    always run here, on the scheduler's event loop. A named executor is made
    once per scheduler from the plugin registry (``autocron.executors``), with
    the scheduler's setting for it (``celery_app`` for ``"celery"``); one that
    cannot be made is returned as ``_Unavailable``, whose attempts are recorded
    failed with the reason.
    """
    remote: RemoteRuns | None = engine._remote
    if remote is None:
        remote = engine._remote = RemoteRuns(engine, None, {})
    return remote.executor_for(task)


class RemoteRuns:
    """One scheduler's executors and the attempts it handed to them."""

    def __init__(self, engine: Engine, default: Executor | None, settings: dict[str, Any]) -> None:
        if default is not None and not all(hasattr(default, attr) for attr in ("name", "submit", "close")):
            raise TaskError("executor", default, "an Executor: an object with name, submit() and close()")
        self._engine = engine
        self.default = default
        self._settings = settings
        self._made: dict[str, Any] = {}
        if default is not None:
            self._made[default.name] = default
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight: dict[int, Run] = {}  # id(run) -> run: submitted, outcome not yet reported
        for name, setting in settings.items():  # given explicitly: a mistake fails fast, here
            if setting is not None and name not in self._made:
                from .registry import EXECUTORS

                self._made[name] = EXECUTORS.get(name)(setting)

    def executor_for(self, task: Task) -> Any:
        """See ``executor_for``."""
        route = task.route
        if task._async or (route is not None and route.executor == LOCAL):
            return None
        name = route.executor if route is not None else None
        if name is None:
            return self.default
        with self._lock:
            made = self._made.get(name)
            if made is None:
                made = self._made[name] = self._make(name)
        return made

    def _make(self, name: str) -> Any:
        from .registry import EXECUTORS

        try:
            factory = EXECUTORS.get(name)
            return factory(self._settings.get(name))
        except AutoCronError as exc:  # missing package or app: every attempt says so
            logger.error("executor %r cannot be used: %s", name, exc)
            return _Unavailable(str(exc))
        except Exception as exc:  # the app's own import failed, ...
            logger.exception("executor %r cannot be used", name)
            return _Unavailable(f"{type(exc).__name__}: {exc}")

    # -- handing over ---------------------------------------------------------
    def submit(self, run: Run) -> None:
        """Hand a claimed attempt to its executor (on a worker thread, never the loop's)."""
        executor = run.remote
        engine = self._engine
        task = run.task
        if isinstance(executor, _Unavailable):
            engine._finish(run, RunStatus.FAILED, f"executor: {executor.reason}", None)
            return
        if engine._cluster_mode and self._held_back(run):
            return
        from .protocols import Submission
        from .schedules import from_utc_us

        claim = run.record
        scheduled = claim.scheduled_for if claim is not None else from_utc_us(run.scheduled_us)
        policy = task.policy
        grace = policy.misfire_grace_time
        expires = None
        if grace is not None:
            # A first attempt is stale ``grace`` after its occurrence (as the engine's own
            # misfire rule); a retry ``grace`` after it is sent, since it is due then.
            base_us = run.scheduled_us if run.attempt == 1 else engine._clock.now_us()
            expires = from_utc_us(base_us + int(grace * 1_000_000))
        submission = Submission(
            claim_id=claim_id(task.name, scheduled, run.attempt),
            task=task,
            scheduled_for=scheduled,
            attempt=run.attempt,
            expires_at=expires,
            timeout=policy.timeout,
            queue=task.route.queue if task.route is not None else None,
        )
        with self._lock:
            self._in_flight[id(run)] = run
        try:
            executor.submit(submission, lambda outcome: self.report(run, outcome))
        except Exception as exc:
            with self._lock:
                self._in_flight.pop(id(run), None)
                self._idle.notify_all()
            logger.warning("task %r: attempt %d could not be sent: %s", task.name, run.attempt, exc)
            engine._finish(run, RunStatus.FAILED, f"executor {executor.name}: not sent: {exc}", None)

    def _held_back(self, run: Run) -> bool:
        """Overlap across nodes: whether older attempts still running anywhere (per the
        store's run records) fill the task's instance limit; if so this attempt is
        recorded ``skipped`` and released. Counted after this attempt's claim is
        committed, and only older claims count, so two nodes never both yield or
        both go ahead."""
        task = run.task
        policy = task.policy
        store = self._engine._store
        running_runs = getattr(store, "running_runs", None)
        if policy.overlap_policy == "allow" or running_runs is None or run.record is None:
            return False
        mine = (run.record.scheduled_for, run.attempt)
        older = [r for r in running_runs(task.name) if (r.scheduled_for, r.attempt) < mine]
        if len(older) < policy.instance_limit:
            return False
        why = (
            f"{len(older)} instance(s) still running in the cluster "
            f"(overlap_policy={policy.overlap_policy}, max_instances={policy.max_instances})"
        )
        self._end_without_run(run, RunStatus.SKIPPED, why)
        return True

    # -- outcomes -------------------------------------------------------------
    def report(self, run: Run, outcome: Outcome) -> None:
        """An executor's outcome for ``run``: recorded once, through the engine's ``_finish``
        (retries, events, notifications, history as for a local run). A second outcome
        for the same attempt (a redelivered message) is ignored."""
        with self._lock:
            if self._in_flight.pop(id(run), None) is None:
                logger.debug("task %r: a second outcome for attempt %d ignored", run.task_name, run.attempt)
                return
            if not self._in_flight:
                self._idle.notify_all()
        engine = self._engine
        if outcome.started_at is not None and run.record is not None:
            run.record = run.record._replace(started_at=outcome.started_at)
        if outcome.status is RunStatus.MISSED:  # expired unstarted: not a failure, never retried
            self._end_without_run(run, RunStatus.MISSED, outcome.error or "expired")
            return
        try:
            engine._finish(run, outcome.status, outcome.error, outcome.output)
        except Exception:
            logger.exception(
                "task %r: the outcome of attempt %d could not be recorded", run.task_name, run.attempt
            )

    def _end_without_run(self, run: Run, status: RunStatus, why: str) -> None:
        """Record a claimed attempt that never ran (skipped, expired): no retry, no failure."""
        from .events import EventKind

        engine = self._engine
        claim = run.record
        logger.info(
            "task %r: attempt %d of %s %s (%s)",
            run.task_name,
            run.attempt,
            run.scheduled_iso,
            status.value,
            why,
        )
        if claim is not None:
            record = claim._replace(
                status=status, started_at=None, finished_at=engine._clock.now(), error=why
            )
            try:
                engine._store.finish_run(record)
            except Exception:
                logger.exception("task %r: could not record the %s attempt", run.task_name, status.value)
            kind = EventKind.SKIPPED if status is RunStatus.SKIPPED else EventKind.MISSED
            engine._emit(kind, run.task, record=record, error=why)
        engine._release(run)

    # -- stopping -------------------------------------------------------------
    def drain(self, timeout: float | None) -> bool:
        """Wait until every submitted attempt has reported (``stop()``); whether all did."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._in_flight, timeout)

    def close(self) -> None:
        """Record attempts still out as ``abandoned``, then close every executor made here."""
        with self._lock:
            left, self._in_flight = list(self._in_flight.values()), {}
            made = list(self._made.values())
        for run in left:
            claim = run.record
            if claim is not None:
                record = claim.finished(
                    RunStatus.ABANDONED,
                    self._engine._clock.now(),
                    error="the scheduler stopped before its executor reported the outcome",
                )
                try:
                    self._engine._store.finish_run(record)
                except Exception:
                    logger.exception("task %r: could not record the abandoned attempt", run.task_name)
            self._engine._release(run)
        for executor in made:
            if not isinstance(executor, _Unavailable):
                try:
                    executor.close()
                except Exception:
                    logger.exception("executor %r did not close cleanly", getattr(executor, "name", executor))


def claim_id(task: str, scheduled_for: Any, attempt: int) -> str:
    """The idempotency key of one attempt: task name, occurrence (UTC, ISO 8601) and attempt.

    The same on every node (claims are unique on exactly these three values), so a
    message carrying it names one row of the run history.
    """
    return f"{task}@{scheduled_for.isoformat()}#{attempt}"
