"""``AutoCron``: the scheduler users create, add tasks to, start and stop."""

from __future__ import annotations

import datetime as _dt
import heapq
import os
import threading
from collections.abc import Callable, Iterable, Mapping

from ._engine import Engine, Waiter, _Retry, _Timer
from ._lazylog import LazyLogger
from ._pool import WorkerPool
from .clock import Clock, SystemClock
from .errors import PluginNotFoundError, ScheduleError, SchedulingError, TaskError
from .events import Event, EventKind
from .records import RunRecord
from .registry import OS_ADAPTERS, open_store
from .schedules import Interval, from_utc_us, parse_interval, to_utc_us
from .task import Task, build_task
from .timezones import resolve_timezone

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from ._backfill import BackfillResult
    from ._cluster import ClusterAgent
    from .notifications import NotificationDispatcher


__all__ = ["AutoCron"]

logger = LazyLogger("autocron.scheduler")


def _seconds_or_none(field: str, value: Any) -> float | None:
    """``value`` as a finite number of seconds, 0 to 100 years, or None (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TaskError(field, value, "a finite number of seconds, 0 or more, or None")
    return parse_interval(value, field=field, allow_zero=True, error=TaskError)


def _definition(task: Task) -> dict[str, Any]:
    """A task's definition without its state, to tell whether another process changed it."""
    data = task.to_dict()
    data.pop("state", None)
    return data


#: ``add_task``'s positional parameters after ``cron``, in the original AutoCron's order.
SEED_ADD_TASK_ORDER = (
    "retries", "retry_delay", "timeout", "notify", "email_config", "on_success", "on_failure",
    "safe_mode", "max_memory_mb", "max_cpu_percent", "timezone", "overlap_policy", "max_instances",
    "misfire_grace_time", "coalesce", "clean_env", "max_output_bytes",
)  # fmt: skip


def _take_positional(values: tuple[Any, ...], order: tuple[str, ...], options: dict[str, Any]) -> None:
    """Name positional arguments by ``order`` into ``options``, refusing extras and doubles."""
    if len(values) > len(order):
        raise TaskError("add_task", values, f"at most {len(order)} options after cron= by position")
    for field, value in zip(order, values, strict=False):  # fewer values than names
        if field in options:
            raise TaskError(field, value, "one value, given by position or by name, not both")
        options[field] = value


def _default_node_id() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


_ADDED = EventKind.ADDED  # a module constant: an Enum member lookup costs 60 ns per add


class AutoCron(Engine):
    """A scheduler: tasks, a loop thread that fires them, and workers that run them.

    Every argument but the first seven (the original AutoCron's, in its
    order) is keyword-only.

    Args:
        timezone: default zone for tasks' cron expressions and naive times
            (IANA name, ``tzinfo`` or ``"local"``, the default).
        max_workers: threads running sync tasks (async tasks use one event loop).
        store: a ``Store`` or a URL/path resolved through the plugin registry
            (``"sqlite:///tasks.db"``, ``"postgresql://..."``); default in-memory.
        log_path, log_level: when either is given, ``configure_logging`` is called.
        use_os_scheduler: install script and command tasks in the OS scheduler
            (autocron-os) instead of running them in this process; ``True`` picks
            the platform's default adapter, a name or adapter object picks one.
        node_id: this scheduler's name in run records (default host:pid).
        notify: default notification channels for tasks that name none.
        notifications: per-channel settings, e.g. ``{"email": {...}}``.
        clock: a ``Clock`` (tests pass ``autocron_core.testing.FakeClock``).
        shutdown_timeout: seconds ``stop()`` waits for running attempts when
            it is given no ``timeout``; ``None`` (the default) waits until they end.
        executor: an ``Executor`` (``protocols.Executor``) that runs every task's
            attempts elsewhere, e.g. ``autocron_celery.CeleryExecutor(app)``;
            a task with ``executor="local"`` still runs here (docs/celery.md).
        celery_app: the Celery app for ``celery=`` tasks: the app object or a
            ``"module:attr"`` reference (default: ``$AUTOCRON_CELERY_APP``).
        poll_interval: accepted for code written for the original AutoCron,
            which polled; ignored here (with a ``DeprecationWarning``), since the
            loop sleeps until the next task is due and wakes when tasks change.

    Raises:
        TaskError: ``max_workers``, ``shutdown_timeout`` or ``poll_interval`` is not valid.
    """

    # The positional order is the original AutoCron's (log_path first), so that
    # code written for it keeps its meaning; everything this project added is
    # keyword-only.
    def __init__(
        self,
        log_path: str | os.PathLike[str] | None = None,
        log_level: str | int | None = "INFO",
        max_workers: int = 4,
        use_os_scheduler: Any = False,
        timezone: str | _dt.tzinfo | None = None,
        poll_interval: float | None = None,
        shutdown_timeout: float | None = None,
        *,
        store: Any = None,
        node_id: str | None = None,
        notify: Any = None,
        notifications: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        executor: Any = None,
        celery_app: Any = None,
    ) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise TaskError("max_workers", max_workers, "a whole number of at least 1")
        self.shutdown_timeout = _seconds_or_none("shutdown_timeout", shutdown_timeout)
        self.poll_interval = _seconds_or_none("poll_interval", poll_interval)
        if poll_interval is not None:
            import warnings

            warnings.warn(
                "AutoCron(poll_interval=...) is ignored: the scheduler does not poll, it sleeps "
                "until the next task is due and wakes when tasks change",
                DeprecationWarning,
                stacklevel=2,
            )
        self.timezone = resolve_timezone(timezone)
        if log_path is not None:
            from .logs import configure_logging

            configure_logging(log_path, log_level)
        from .notifications import NotificationDispatcher
        from .protocols import ClusterStore

        super().__init__(
            clock or SystemClock(),
            open_store(store),
            max_workers,
            node_id or _default_node_id(),
            NotificationDispatcher(notify, notifications),
        )
        self._os = self._resolve_os(use_os_scheduler)
        self._store_given = store  # OS entries must open this same store (see os_install)
        self._agent: ClusterAgent | None = None
        if isinstance(self._store, ClusterStore):
            from ._cluster import ClusterAgent  # only nodes sharing a store need it

            self._agent = ClusterAgent(self, self._store)
        self._cluster_mode = self._agent is not None
        if executor is not None or celery_app is not None:
            from ._executors import RemoteRuns

            self._remote = RemoteRuns(self, executor, {"celery": celery_app})
        self._restore()

    # -- construction helpers -------------------------------------------------
    @staticmethod
    def _resolve_os(choice: Any) -> Any:
        if choice is False or choice is None:
            return None
        if choice is True:
            try:
                factory = OS_ADAPTERS.get("default")
            except PluginNotFoundError:
                from .errors import PluginNotFoundError as Missing

                raise Missing("autocron.os_adapters", "default", OS_ADAPTERS.names(), "autocron-os") from None
            return factory()
        if isinstance(choice, str):
            return OS_ADAPTERS.get(choice)()
        return choice

    def _restore(self) -> None:
        """Load the store's tasks (their definitions and state) into this scheduler."""
        if not self._store.persistent:
            return
        for task in self._store.load_tasks():
            with self._lock:
                self._tasks[task.name] = task
                self._link_flow(task)
                self._push_task(
                    task,
                    task.next_run_us
                    if task.next_run_us is not None
                    else task.next_fire_after_us(self._clock.now_us()),
                )

    @property
    def store(self) -> Any:
        """The store this scheduler reads and writes."""
        return self._store

    @property
    def node_id(self) -> str:
        """This scheduler's name in run records."""
        return self._node_id

    @property
    def notifications(self) -> NotificationDispatcher:
        """The dispatcher that delivers this scheduler's notifications."""
        return self._notifications

    # -- tasks --------------------------------------------------------------
    def add_task(
        self,
        name: str | None = None,
        func: Callable[..., Any] | str | None = None,
        script: str | os.PathLike[str] | None = None,
        every: Any = None,
        cron: Any = None,
        *positional: Any,
        command: str | Iterable[str] | None = None,
        at: Any = None,
        **options: Any,
    ) -> str:
        """Add a task and return its id.

        The positional order is the original AutoCron's (``name, func, script,
        every, cron, retries, retry_delay, timeout, ...``: see
        ``SEED_ADD_TASK_ORDER``); ``command``, ``at`` and the rest are keywords.
        Exactly one target (``func``, ``script``, ``command``) and exactly one
        schedule (``every``, ``cron``, ``at``). Options: ``args``, ``kwargs``,
        ``retries=0``, ``retry_delay=60``, ``backoff=2.0``,
        ``max_retry_delay=3600``, ``timeout=None``, ``notify=None``,
        ``notify_on=("failure", "recovery")``, ``email_config=None``,
        ``on_success=None``, ``on_failure=None``, ``timezone=None``,
        ``overlap_policy="skip"``, ``max_instances=1``,
        ``misfire_grace_time=60``, ``coalesce=True``, ``jitter=0``,
        ``start_at=None``, ``end_at=None``, ``tags=()``; see the user guide.
        ``notifier=obj`` adds a channel for an object with the original
        AutoCron's ``notify(message)`` method, besides ``notify``'s channels.

        Raises:
            SchedulingError: the task could not be added; nothing has changed.
                In particular ``TaskError`` or ``ScheduleError`` (also a
                ``TimeParseError``): an option is invalid or a task of that
                name exists.
        """
        if positional:
            _take_positional(positional, SEED_ADD_TASK_ORDER, options)
        options.setdefault("timezone", self.timezone)
        if "notifier" in options:
            options["notify"] = self._with_notifier(options.get("notify"), options.pop("notifier"))
        try:
            task = build_task(name, func, script, command, every, cron, at, **options)
        except SchedulingError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:  # an input no validator foresaw
            raise TaskError(
                "add_task", name, "valid task options", detail=f"{type(exc).__name__}: {exc}"
            ) from exc
        self.add(task)
        return task.task_id

    def _with_notifier(self, notify: Any, notifier: Any) -> Any:
        """``notify``'s channels (the scheduler's defaults when it names none) plus
        ``notifier``, an object (or a list of them) taking a message string."""
        from ._message_notifier import MessageNotifier
        from .task import _channels

        if notifier is None:
            return notify
        objects = list(notifier) if isinstance(notifier, (list, tuple)) else [notifier]
        for obj in objects:
            if not callable(getattr(obj, "notify", None)):
                raise TaskError("notifier", notifier, "an object with a notify(message) method")
        channels = _channels(notify) or self._notifications.defaults
        return (*channels, *(MessageNotifier(obj) for obj in objects))

    def add(self, task: Task) -> Task:
        """Schedule a ``Task`` built by ``build_task`` (or a subclass's instance).

        Raises:
            TaskError: a task with that name exists, or one of its notification
                channels cannot send (missing or invalid settings).
        """
        if task.options.notify or self._notifications.defaults:  # tasks that never notify pay nothing
            self._notifications.check(task)
        with self._lock:
            if task.name in self._tasks:
                raise TaskError("name", task.name, "a name not used by another task of this scheduler")
            if task.flow is not None and task.flow.after:
                from ._dependencies import check_upstream, link

                check_upstream(self._tasks, task)  # unknown names and cycles, before anything changes
            now = self._clock.now_us()
            if isinstance(task.schedule, Interval) and task.schedule._anchor_us is None:
                if self._agent is None:
                    task.schedule = self._anchored(task.schedule, now)
                elif task.kind == "func" and not self._scheduling:
                    # Shared with the other nodes when start() comes, all in one batch.
                    self._anchors_due[task.name] = (task, task.schedule, now)
                else:  # every node counts from the first node's anchor
                    anchor = self._agent.store.shared_anchor(task.name, from_utc_us(now))
                    task.schedule = task.schedule.anchored(anchor)
            elif task.schedule.kind == "excluding":
                self._anchor_excluded(task, now)
            if self._os is not None and task.kind not in ("func", "celery"):  # celery: workers run it
                if task.flow is not None and task.flow.after:  # an OS entry fires on time alone
                    raise TaskError(
                        "after", list(task.flow.after), "no after= for a task the OS scheduler runs"
                    )
                from .os_install import install_in_os  # only schedulers using the OS pay for it

                install_in_os(self._os, task, self._store_given, self._store)
                task.paused = True  # the OS runs it; this process must not
            if self._store.persistent and task.kind != "func":
                self._store.save_task(task)
            self._tasks[task.name] = task
            if task.flow is not None and task.flow.after:
                link(self._downstream, task)
                self._flows_tracker().note_added(task.name, now)
            # A restored task keeps its next run: if that is past, the misfire rules decide.
            due = task.next_run_us if task.next_run_us is not None else task.next_fire_after_us(now)
            self._push_task(task, due)
        if _ADDED in self._listened:
            self._emit(_ADDED, task)
        return task

    def _link_flow(self, task: Task) -> None:
        """Note a task's upstream tasks (engine lock held), for one restored or synced unchecked."""
        if task.flow is not None and task.flow.after:
            from ._dependencies import link

            link(self._downstream, task)
            self._flows_tracker().note_added(task.name, self._clock.now_us())

    def _unlink_flow(self, task: Task) -> None:
        """Forget a task's upstream links (engine lock held)."""
        if task.flow is not None and task.flow.after:
            from ._dependencies import unlink

            unlink(self._downstream, task)

    def _anchored(self, interval: Interval, now_us: int) -> Interval:
        """``interval`` counting from ``now_us`` truncated to the millisecond.

        Tasks added within one millisecond with the same interval share one
        anchored schedule: an application adding 100,000 tasks in a loop keeps
        a few hundred schedule objects instead of 100,000 (92 bytes a task).
        """
        anchor = now_us - now_us % 1000
        memo = self._anchor_memo
        if memo is not None and memo[0] is interval and memo[1] == anchor:
            return memo[2]
        anchored = interval.anchored_us(anchor)
        self._anchor_memo = (interval, anchor, anchored)
        return anchored

    def _share_anchors(self) -> None:
        """Anchor the interval tasks added before ``start()`` on a cluster store (engine lock held).

        Every node counts a task from the first anchor stored. Asking the store
        per task cost a transaction each, seconds for a node starting with
        thousands of tasks, while the first nodes up already ran alone; the
        store's ``shared_anchors`` answers them all in a few round trips.
        Nothing changes if the store fails: ``start()`` raises and can be retried.
        """
        due = {
            name: (task, interval, added_us)
            for name, (task, interval, added_us) in self._anchors_due.items()
            if self._tasks.get(name) is task and task.schedule is interval  # not removed or rescheduled since
        }
        if due and self._agent is not None:
            store = self._agent.store
            proposed = {name: from_utc_us(added_us) for name, (_, _, added_us) in due.items()}
            batch = getattr(store, "shared_anchors", None)  # optional in the ClusterStore protocol
            if callable(batch):
                anchors = batch(proposed)
            else:
                anchors = {name: store.shared_anchor(name, when) for name, when in proposed.items()}
            for name, (task, interval, _) in due.items():
                task.schedule = interval.anchored(anchors[name])
                task.next_run_us = None  # start() computes it on the shared timeline
        self._anchors_due = {}

    def _anchor_excluded(self, task: Task, now: int) -> None:
        """Anchor the interval under an exclusion calendar, as a bare one is anchored."""
        from .exclusions import unanchored_interval, with_interval

        interval = unanchored_interval(task.schedule)
        if interval is None:
            return
        if self._agent is not None:
            interval = interval.anchored(self._agent.store.shared_anchor(task.name, from_utc_us(now)))
        else:
            interval = interval.anchored_us(now)
        task.schedule = with_interval(task.schedule, interval)

    def _lookup(self, task_id: str | None, name: str | None) -> Task | None:
        if name is not None:
            return self._tasks.get(name)
        if task_id is not None:
            return next((t for t in self._tasks.values() if t.task_id == task_id), None)
        raise TaskError("task_id", None, "a task id or name=")

    def _require(self, task_id: str | None, name: str | None) -> Task:
        task = self._lookup(task_id, name)
        if task is None:
            raise TaskError(
                "name" if name is not None else "task_id", name or task_id, "the name or id of a task"
            )
        return task

    def remove_task(self, task_id: str | None = None, name: str | None = None) -> bool:
        """Remove a task (its history stays); whether it existed. Running attempts finish.

        Raises:
            TaskError: other tasks depend on it (``after=``); the error names them.
        """
        with self._lock:
            task = self._lookup(task_id, name)
            if task is None:
                return False
            if self._downstream:
                from ._dependencies import check_removable, unlink

                check_removable(self._tasks, self._downstream, task.name)
                unlink(self._downstream, task)
            if self._flows is not None:
                self._flows.forget(task.name)
            del self._tasks[task.name]
            task._gen = -1
            task.next_run_us = None
        if self._store.persistent:
            self._store.delete_task(task.name)
        if self._os is not None and task.kind not in ("func", "celery"):
            self._os.remove(task.name)
        if self._listeners.wants(EventKind.REMOVED):
            self._emit(EventKind.REMOVED, task)
        return True

    def get_task(self, task_id: str | None = None, name: str | None = None) -> Task | None:
        """The task with that id or name, or ``None``."""
        with self._lock:
            return self._lookup(task_id, name)

    def list_tasks(self) -> list[Task]:
        """Every task, in the order they were added."""
        with self._lock:
            return list(self._tasks.values())

    @property
    def tasks(self) -> dict[str, Task]:
        """Every task by its id, in the order they were added: the original
        AutoCron's ``scheduler.tasks``. A copy: changing it changes nothing here."""
        with self._lock:
            return {task.task_id: task for task in self._tasks.values()}

    def pause_task(self, name: str, note: str | None = None, by: str | None = None) -> None:
        """Stop firing ``name`` until ``resume_task``; a run in progress finishes.

        Args:
            note: why (shown by ``autocron list``, ``show`` and the dashboards); plain
                text of at most 1,000 characters, no control characters.
            by: who paused it (the CLI passes the OS user name; ``autocron`` is
                the scheduler itself, after ``pause_after_failures`` failures).

        Raises:
            TaskError: no task has that name, or ``note``/``by`` is not valid text.
        """
        from ._pausenote import MAX_BY, check_note

        note = check_note("note", note)
        by = check_note("by", by, MAX_BY)
        with self._lock:
            task = self._require(None, name)
            task.paused = True
            task.pause_note, task.paused_by, task.paused_at = note, by, self._clock.now()
            self._push_task(task, task.next_run_us)  # makes the heap entry stale
        self._after_change(task, EventKind.PAUSED)

    def resume_task(self, name: str) -> None:
        """Fire ``name`` again from its next occurrence after now; clears its pause note
        and its failure streak (``pause_after_failures`` counts from here).

        Raises:
            TaskError: no task has that name.
        """
        with self._lock:
            task = self._require(None, name)
            task.paused = False
            task.pause_note = task.paused_by = task.paused_at = None
            task.resumed_at = self._clock.now()
            self._push_task(task, task.next_fire_after_us(self._clock.now_us()))
        self._after_change(task, EventKind.RESUMED)

    def backfill(
        self,
        name: str,
        start: Any,
        end: Any,
        *,
        dry_run: bool = False,
        limit: int = 10_000,
        timeout: float | None = None,
    ) -> BackfillResult:
        """Run the task's occurrences in ``[start, end)``, oldest first, recorded as ``backfill`` runs.

        Occurrences that already have a record (they ran, were skipped or missed,
        or another node's backfill took them) run nothing; every occurrence is
        claimed exactly once across nodes. The overlap policy bounds how many run
        at once (``skip``: one after another); retries and timeouts apply. Works
        whether the scheduler is started or not; returns when the last one ends.

        Args:
            start, end: aware datetimes or ISO 8601 strings; naive ones are read in
                the task's time zone.
            dry_run: only list the occurrences (and which are already recorded).
            limit: refuse a range of more occurrences than this.
            timeout: stop waiting after this many seconds (runs started go on).

        Raises:
            TaskError: no such task, bad bounds, a task without a schedule of its
                own, or more than ``limit`` occurrences.
        """
        from ._backfill import run_backfill

        limit_s = _seconds_or_none("timeout", timeout)
        task = self._require(None, name)
        return run_backfill(self, task, start, end, dry_run=dry_run, limit=limit, timeout=limit_s)

    def reschedule(
        self,
        name: str,
        *,
        every: Any = None,
        cron: Any = None,
        at: Any = None,
        timezone: str | _dt.tzinfo | None = None,
        exclude: Any = None,
        business_days: bool | None = None,
    ) -> Task:
        """Change a task's schedule while it lives: history, counts and a run in flight are kept.

        The next fire is the new schedule's first occurrence after now; a run in
        progress finishes and is recorded as usual. The change is saved in the
        store (script and command tasks), where other nodes and a running
        ``autocron start`` pick it up. See ``autocron_core._reschedule`` for the rules.

        Args:
            name: the task.
            every, cron, at: the new schedule (at most one; none keeps the current one).
            timezone: the task's new time zone.
            exclude, business_days: a new exclusion calendar (``exclude=[]``
                removes it); both ``None`` keep the current one.

        Returns:
            The task, rescheduled.

        Raises:
            TaskError: no task has that name.
            ScheduleError: nothing to change, an invalid value, or a schedule
                that never fires again; nothing has changed then.
        """
        from ._reschedule import new_schedule

        with self._lock:
            task = self._require(None, name)
            now = self._clock.now_us()
            schedule, tz = new_schedule(
                task, now, every=every, cron=cron, at=at, timezone=timezone,
                exclude=exclude, business_days=business_days,
            )  # fmt: skip
            supports = getattr(self._os, "supports", None) if task.kind not in ("func", "celery") else None
            support = supports(schedule) if supports is not None else None
            if support is not None and not support:  # refused before anything changes
                raise ScheduleError(
                    "schedule", schedule.describe(), f"one the OS scheduler can hold: {support.reason}"
                )
            task.schedule, task.timezone = schedule, tz
            self._push_task(task, task.next_fire_after_us(now))
        if self._os is not None and task.kind not in ("func", "celery"):  # celery: workers run it
            from .os_install import install_in_os

            install_in_os(self._os, task, self._store_given, self._store)
        logger.info("task %r rescheduled: %s", task.name, schedule.describe())
        self._after_change(task, EventKind.RESCHEDULED)
        return task

    def _after_change(self, task: Task, kind: EventKind) -> None:
        if self._store.persistent and task.kind != "func":
            # save_task, not save_state: pausing is a change of definition that
            # other nodes must see (a cluster store notifies them of it).
            self._store.save_task(task)
        if self._listeners.wants(kind):
            self._emit(kind, task, error=task.pause_note if kind is EventKind.PAUSED else None)

    def run_task(
        self,
        task_id: str | None = None,
        name: str | None = None,
        *,
        wait: bool = True,
        timeout: float | None = None,
    ) -> bool:
        """Run a task now, with its retries and timeout, started or not.

        Args:
            wait: block until the final attempt ends.
            timeout: with ``wait``, give up waiting after this many seconds.

        Returns:
            With ``wait``, whether the final attempt succeeded; otherwise ``True``
            once the run is queued.

        Raises:
            TaskError: no such task.
        """
        waiter = Waiter()
        with self._lock:
            task = self._require(task_id, name)
            self._start(task, self._clock.now_us(), 1, waiter, "manual")
        if not wait:
            return True
        limit = _seconds_or_none("timeout", timeout)
        return waiter.wait(None if limit is None else min(limit, threading.TIMEOUT_MAX)) and waiter.succeeded

    # -- running --------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the scheduler fires tasks (between ``start`` and ``stop``)."""
        return self._scheduling

    def start(self, blocking: bool = True) -> None:
        """Start firing tasks; a stopped scheduler starts again where its tasks are now.

        Args:
            blocking: run the loop in this thread until ``stop()`` (from another
                thread, a task or a signal handler) or Ctrl-C; otherwise return
                at once and run it in a daemon thread.

        Raises:
            KeyboardInterrupt: Ctrl-C in a blocking start, after a graceful stop.
        """
        with self._lock:
            if self._scheduling:
                return
            if self._anchors_due:
                self._share_anchors()
            self._closed = False
            self._scheduling = True
            self._was_started = True
            now = self._clock.now_us()
            for task in self._tasks.values():
                due = task.next_run_us
                if due is None and not task.paused:
                    due = task.next_fire_after_us(now)
                self._push_task(task, due)
            logger.info("scheduler %s started with %d task(s)", self._node_id, len(self._tasks))
            if self._downstream:  # upstream outcomes recorded while stopped: decide them now
                tracker = self._flows_tracker()
                tracker._submit(tracker.decide_all)
            if self._agent is not None:
                self._agent.start()
            if not blocking:
                self._ensure_loop()
                return
            if self._loop_thread is not None and self._loop_thread.is_alive():
                self._stopping = True  # hand the loop over to this thread
                self._cond.notify_all()
        previous = self._loop_thread
        # After a blocking start() in this thread ended, the old loop thread is this one.
        if previous is not None and previous is not threading.current_thread():
            previous.join()
        self._loop_thread = threading.current_thread()
        try:
            self._stopping = False
            self._loop()
        except KeyboardInterrupt:
            logger.info("interrupted; stopping")
            self.stop()
            # Then let it through, as the original AutoCron did: code written for it
            # catches KeyboardInterrupt around start() to say goodbye.
            raise

    def stop(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Stop firing tasks and wait for running ones (up to ``timeout`` seconds).

        Pending retries and queued runs are dropped; the timeouts of running
        attempts still apply while they finish. Only a scheduler that was
        started writes its tasks' state back: a short-lived one (the CLI's)
        must not overwrite what a running daemon recorded. Safe to call more
        than once; ``start()`` afterwards fires the tasks again.

        Args:
            wait: wait for running attempts; otherwise return at once.
            timeout: seconds to wait; ``None`` means the scheduler's
                ``shutdown_timeout`` (itself ``None`` by default: no limit).

        Returns:
            Whether every running attempt finished in time.
        """
        timeout = self.shutdown_timeout if timeout is None else _seconds_or_none("timeout", timeout)
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._scheduling = False
            self._closed = True
            # Keep only the timeout timers, so running attempts stay bounded while they drain.
            self._heap[:] = [entry for entry in self._heap + self._ready if type(entry[2]) is _Timer]
            self._ready = []
            heapq.heapify(self._heap)
            self._cond.notify_all()
        finished = self._pool.shutdown(wait=wait, timeout=timeout)
        for recorder in list(self._recorders):  # timed-out runs being written: let them land
            recorder.join(5)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        self._aio.stop(timeout=left if wait else 0)
        if self._remote is not None:  # attempts out on an executor: wait for their outcomes too
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            finished = self._remote.drain(left if wait else 0) and finished
            self._remote.close()
        self._stop_writer()  # group commit: the last finishes land before stop() returns
        with self._lock:
            self._stopping = True
            self._heap.clear()
            self._ready.clear()
            self._cond.notify_all()
        loop = self._loop_thread
        if loop is not None and loop is not threading.current_thread() and loop.is_alive():
            loop.join(5)
        with self._lock:
            # A shut-down pool takes no jobs: a fresh one (its threads start on
            # first use) lets run_task() and a later start() work again.
            self._pool = WorkerPool(self._pool.size)
        if self._agent is not None:  # after the runs: their leases stay renewed while they finish
            self._agent.stop()
        self._notifications.close()
        if self._store.persistent and self._was_started:
            for task in self.list_tasks():
                if task.kind != "func":
                    try:
                        self._store.save_state(task)
                    except Exception:
                        logger.exception("could not save the state of task %r", task.name)
        logger.info("scheduler %s stopped", self._node_id)
        return finished

    def close(self) -> None:
        """Stop, then release the store. Safe to call more than once."""
        if getattr(self, "_store_closed", False):
            return
        self.stop()
        self._store.close()
        self._store_closed = True

    @property
    def max_workers(self) -> int:
        """Threads running sync tasks, scripts and commands."""
        return self._pool.size

    def __enter__(self) -> AutoCron:
        self.start(blocking=False)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no attempt is running or queued; whether that happened in time."""
        import time

        timeout = _seconds_or_none("timeout", timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(None if remaining is None else min(remaining, threading.TIMEOUT_MAX))
        idle = self._pool.join_idle(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return idle and self.flush_writes(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def sync_with_store(self) -> tuple[int, int]:
        """Pick up script and command tasks that another process added to, changed in,
        or removed from the store (the CLI against a running ``autocron start``).

        Function tasks are registered in code and are left alone.

        Returns:
            How many tasks were added or replaced, and how many were removed.
        """
        if not self._store.persistent:
            return (0, 0)
        stored = {task.name: task for task in self._store.load_tasks()}
        added = removed = 0
        for current in self.list_tasks():
            if current.kind == "func":
                continue
            fresh = stored.get(current.name)
            if fresh is None:
                with self._lock:  # removed elsewhere: forget it without deleting again
                    if self._tasks.get(current.name) is current:
                        del self._tasks[current.name]
                        self._unlink_flow(current)
                        current._gen = -1
                removed += 1
            elif fresh.task_id == current.task_id and self._rescheduled_elsewhere(current, fresh):
                added += 1
            elif fresh.task_id != current.task_id or _definition(fresh) != _definition(current):
                with self._lock:
                    del self._tasks[current.name]
                    self._unlink_flow(current)
                    current._gen = -1
                fresh.next_run_us = None if fresh.paused else fresh.next_run_us
                self.add(fresh)
                added += 1
            elif fresh.paused != current.paused:
                (self.pause_task if fresh.paused else self.resume_task)(current.name)
        for name, fresh in stored.items():
            if name not in self._tasks:
                with self._lock:
                    self._tasks[name] = fresh
                    self._link_flow(fresh)
                    due = (
                        fresh.next_run_us
                        if fresh.next_run_us is not None
                        else fresh.next_fire_after_us(self._clock.now_us())
                    )
                    self._push_task(fresh, due)
                added += 1
        if added or removed:
            logger.info("synced with the store: %d task(s) added or changed, %d removed", added, removed)
        if self._downstream:  # upstream runs other nodes recorded may satisfy a dependency here
            self._flows_tracker().decide_all()
        return (added, removed)

    def _rescheduled_elsewhere(self, current: Task, fresh: Task) -> bool:
        """Take another process's reschedule of ``current`` in place (its run in flight, its
        instance count and its backlog stay); whether only the schedule had changed."""
        from ._reschedule import only_schedule_differs

        new, old = _definition(fresh), _definition(current)
        if new == old or not only_schedule_differs(new, old):
            return False
        with self._lock:
            if self._tasks.get(current.name) is not current:
                return False
            current.schedule, current.timezone = fresh.schedule, fresh.timezone
            self._push_task(current, current.next_fire_after_us(self._clock.now_us()))
        if fresh.paused != current.paused:
            (self.pause_task if fresh.paused else self.resume_task)(current.name)
        if self._listeners.wants(EventKind.RESCHEDULED):
            self._emit(EventKind.RESCHEDULED, current)
        return True

    def health(self) -> dict[str, Any]:
        """What a health check needs: is the loop alive, when did it last turn, what runs.

        ``loop_alive`` is false when the scheduler was started but its loop
        thread has died, and ``healthy`` is then false too (``loop_error`` says
        what ended it); ``heartbeat`` is the loop's last wake-up (it sleeps up
        to ``MAX_WAIT`` seconds when idle, so an old heartbeat alone is no fault).
        """
        thread = self._loop_thread
        alive = bool(self._scheduling and thread is not None and thread.is_alive())
        failure = self.loop_failure
        return {
            "running": self._scheduling,
            "loop_alive": alive,
            # A started scheduler whose loop died fires nothing: unhealthy, whatever else holds.
            "healthy": alive or not self._scheduling,
            "loop_error": None if failure is None else f"{type(failure).__name__}: {failure}",
            "heartbeat": from_utc_us(self.heartbeat_us).isoformat() if self.heartbeat_us else None,
            "tasks": len(self._tasks),
            "running_instances": self._in_flight,
            "node_id": self._node_id,
        }

    def task_names(self) -> list[str]:
        """The names of this scheduler's tasks."""
        with self._lock:
            return list(self._tasks)

    def _retry_abandoned(self, record: RunRecord) -> None:
        """Retry an occurrence whose node died, if this node has the task and retries remain."""
        with self._lock:
            task = self._tasks.get(record.task)
            if task is None or record.attempt > task.policy.retries or not self._scheduling:
                return
            self._push(
                self._clock.now_us(),
                _Retry(task, to_utc_us(record.scheduled_for), record.attempt + 1, None, None, record.trigger),
            )

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is due at the clock's current time and nothing runs.

        Meant for tests that drive a started scheduler with ``FakeClock``:
        ``clock.advance(60); scheduler.settle()`` returns once everything due
        at the new time has run and been recorded. Returns whether it settled.
        """
        import time

        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                now = self._clock.now_us()
                due = bool(self._ready) or (bool(self._heap) and self._heap[0][0] <= now)
                if due:
                    self.run_due(now)
                    continue
                if not self._in_flight and not self._pool.busy and self._pool.join_idle(0):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.01))
        self._notifications.flush()
        return self.flush_writes(max(0.0, deadline - time.monotonic()))

    # -- listeners and history ------------------------------------------------
    def add_listener(self, callback: Callable[[Event], Any], kinds: Any = None) -> None:
        """Call ``callback(event)`` for events of ``kinds`` (default: all); see ``EventKind``."""
        self._listeners.add(callback, kinds)

    def remove_listener(self, callback: Callable[[Event], Any]) -> bool:
        """Stop calling ``callback``; whether it was registered."""
        return self._listeners.remove(callback)

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        """Recent run records, newest first, of one task or all."""
        self.flush_writes()  # runs finished a moment ago are part of the history asked for
        return self._store.history(name, limit)

    # -- files and config -----------------------------------------------------
    def save_tasks(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the tasks to a YAML or JSON file (by suffix), atomically; needs autocron-store.

        A task that cannot be written (a lambda, a nested function, a function
        in ``__main__``, arguments that are not plain data) is left out, with
        one ``UserWarning`` (and log line) naming every such task; the others
        are written.

        Args:
            path: the file; ``$AUTOCRON_HOME/tasks.yaml`` (``~/.autocron/tasks.yaml``) by default.

        Returns:
            The absolute path of the file written, as the original AutoCron returned.

        Raises:
            PluginNotFoundError: autocron-store is not installed.
            TaskError: ``path`` does not end in .yaml, .yml or .json.
            StoreError: the file could not be written; the old one is intact.
        """
        from ._taskfiles import save_tasks

        return save_tasks(self, path)

    def load_tasks(self, path: str | os.PathLike[str] | None = None, replace: bool = False) -> int:
        """Add the tasks of a YAML or JSON file; needs autocron-store.

        Args:
            path: the file; ``$AUTOCRON_HOME/tasks.yaml`` (``~/.autocron/tasks.yaml``) by default.
            replace: remove every current task first. Otherwise the file's
                tasks are merged in, and a task whose name this scheduler
                already has keeps the current one (one ``UserWarning`` names them).

        Returns:
            How many tasks were added.

        Raises:
            PluginNotFoundError: autocron-store is not installed.
            TaskError: the file does not exist or has another suffix.
            ConfigError: the file is corrupt or holds tasks that cannot be rebuilt.
        """
        from ._taskfiles import load_tasks

        return load_tasks(self, path, replace)

    @classmethod
    def from_config(cls, source: Any, **overrides: Any) -> AutoCron:
        """A scheduler built from a config mapping or file (JSON always, YAML with PyYAML).

        Raises:
            ConfigError: naming the file, line and field of the first problem.
        """
        from .config import scheduler_from_config

        scheduler: AutoCron = scheduler_from_config(cls, source, **overrides)
        return scheduler
