"""The scheduling engine: one heap, one loop thread, a worker pool, an event loop.

The loop thread sleeps on a condition until the earliest due entry or a change
(no polling tick). Heap entries are ``(due_us, seq, item)``: ``seq`` is unique,
so tuples never compare items, and a task entry is live only while
``task._gen == seq`` (adding, pausing or removing a task just bumps ``_gen``).
Retries and timeouts are heap entries too: no worker ever sleeps through one.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import threading
import zlib
from functools import partial

from ._aio import AsyncRunner
from ._drain import drain_due
from ._lazylog import ERROR, INFO, WARNING, LazyLogger
from ._options import FAILURE_WANTS_EVENT, SUCCESS_WANTS_EVENT
from ._pool import WorkerPool
from ._reschedule import Reschedule
from ._runctx import run_slot
from ._writer import StoreWriter
from .errors import AutoCronError, CommandFailedError, TaskTimeoutError
from .events import Event, EventKind, Listeners
from .policy import BUFFERING, CANCELLING
from .records import RunRecord, RunStatus
from .schedules import Interval, from_utc_us, to_utc_us
from .task import Task

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)

if TYPE_CHECKING:
    import subprocess
    from typing import Any

    from ._dependencies import FlowTracker
    from .clock import Clock
    from .notifications import NotificationDispatcher
    from .protocols import Store

logger = LazyLogger("autocron.scheduler")
# NamedTuple construction without its Python-level __new__ (all fields given, in
# order): a run builds two records and maybe an event, and the frame is a third
# of the cost of each.
_record = partial(tuple.__new__, RunRecord)
_event = partial(tuple.__new__, Event)
# Members as module constants: one global lookup on the hot path instead of two.
_RUNNING, _SUCCEEDED, _FAILED, _TIMED_OUT = (
    RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT
)  # fmt: skip
_SKIPPED = RunStatus.SKIPPED
_CANCELLED = RunStatus.CANCELLED
_STARTED_EVENT, _SUCCEEDED_EVENT = EventKind.STARTED, EventKind.SUCCEEDED
_SIMPLE_EVENTS = {
    RunStatus.SKIPPED: EventKind.SKIPPED,
    RunStatus.MISSED: EventKind.MISSED,
    RunStatus.FAILED: EventKind.FAILED,
}
_NO_ARGUMENT = object()  # what a callback of the original's on_success() form is called with
# States of Run.cancel for a sync function past its timeout (see Run).
_ABANDONED, _HELD, _ENDED = "abandoned", "held", "ended"

_US = 1_000_000
#: Longest single wait: a safety re-check of the wall clock (a suspended machine
#: does not advance the monotonic clock), not a polling tick.
MAX_WAIT = 60.0
#: Grace between SIGTERM and SIGKILL for a timed-out script or command.
KILL_GRACE = 5.0
#: Heap entries dispatched per hold of the engine lock: the first batch of a burst
#: is small, so its runs start at once; later ones double up to the cap, so a
#: large burst costs fewer hand-overs to the pool (and fewer switches of the
#: interpreter between the loop thread and a worker: 10,000 due runs finished
#: 12 % sooner with batches of 1,024 than of 64). The cap bounds how long the
#: loop thread holds the engine lock (a few ms at 5 µs an entry).
_BATCH = 64
_MAX_BATCH = 512
#: Runs claimed in one store transaction at most (a BatchStore's group commit).
_MAX_CLAIMS = 2000
#: Missed occurrences looked at when coalescing a cron backlog before giving up counting.
_BACKLOG_SCAN = 100_000
#: Threads of timed-out sync function attempts that still run (Python cannot stop a
#: thread), per task and in all. At either limit, a new attempt of a task that could
#: leave one more behind (a sync function with a timeout, not in safe_mode) is
#: recorded ``skipped`` instead of started, so the thread count stays bounded.
MAX_ABANDONED_PER_TASK = 4
MAX_ABANDONED = 32
#: Seconds a cluster node waits before claiming an occurrence another live node owns.
TAKEOVER_DELAY = 1.0
#: Longest pause of the loop after a turn that failed as a whole (doubling from 0.1 s).
_FAULT_PAUSE = 30.0


class Waiter(threading.Event):
    """Set when a manual run's final attempt ends; ``succeeded`` says how it went."""

    succeeded = False


class _Retry:
    __slots__ = ("after", "attempt", "scheduled_us", "task", "trigger", "waiter")

    def __init__(
        self,
        task: Task,
        scheduled_us: int,
        attempt: int,
        waiter: Waiter | None,
        after: Run | None = None,
        trigger: str = "schedule",
    ) -> None:
        self.trigger = trigger  # a retry keeps its occurrence's trigger (see RunRecord.trigger)
        self.task = task
        self.scheduled_us = scheduled_us
        self.attempt = attempt
        self.waiter = waiter
        # A timed-out attempt whose thread may still be running: the retry waits for it.
        self.after = after


class _Timer:
    __slots__ = ("kill", "run")

    def __init__(self, run: Run, kill: bool) -> None:
        self.run = run
        self.kill = kill


class Run:
    """One attempt in flight. ``done`` flips once (see ``Engine._finish``).

    Calling it runs a sync attempt on the calling (worker) thread: the pool
    takes runs as jobs as they are, with no wrapper made per run, and the
    attempt's body is here rather than in an engine method (a frame less).

    A sync function that outlives its timeout is recorded ``timed_out`` at once
    but keeps its instance slot until its thread really returns: ``cancel``
    goes ``_ABANDONED`` (timer fired) → ``_HELD`` (recorded, slot kept) →
    ``_ENDED`` (thread returned, slot freed). ``then`` (set only on that path,
    so never in ``__init__``) is a retry waiting for the thread to end.
    """

    __slots__ = ("attempt", "cancel", "cancelled", "done", "engine", "exc", "final", "process", "record",
                 "remote", "scheduled_us", "task", "task_name", "then", "thread", "trigger",
                 "waiter")  # fmt: skip
    # Annotations only: these slots stay unset (no cost per run) until needed.
    then: _Retry  # a retry waiting for this timed-out attempt's thread
    exc: BaseException  # the attempt's exception, for on_failure(exc)
    cancelled: str  # why a newer occurrence cancelled it (cancel_other, terminate_other)
    final: bool  # failed for a reason a retry cannot change (a refused Reschedule): never retried

    def __init__(
        self,
        engine: Engine,
        task: Task,
        scheduled_us: int,
        attempt: int,
        waiter: Waiter | None,
        trigger: str = "schedule",
    ) -> None:
        self.trigger = trigger
        self.engine = engine
        self.task = task
        self.task_name = task.name
        self.scheduled_us = scheduled_us
        self.attempt = attempt
        self.done = False
        self.record: RunRecord | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.thread: threading.Thread | None = None
        self.cancel: Any = None
        self.waiter = waiter
        self.remote: Any = None  # the executor that runs it elsewhere (see _executors.py)

    def __call__(self) -> None:
        engine = self.engine
        # A run of a batch claimed as a whole (BatchStore) comes with its record.
        if self.record is None and not engine._claim(self):
            return
        task = self.task
        if self.remote is not None:  # claimed here, run by an executor, reported back to _finish
            if task.flow is not None and task.flow.when is not None:  # the condition is asked here
                try:
                    if engine._condition_false(self):
                        return
                except Exception as exc:  # the condition raised: a failed attempt, retried by policy
                    self.exc = exc
                    engine._finish(self, _FAILED, f"{type(exc).__name__}: {exc}", None)
                    return
            engine._remote.submit(self)
            return
        if task.policy.overlap_policy in CANCELLING and getattr(self, "cancelled", None) is not None:
            engine._finish(self, _CANCELLED, self.cancelled + "; it had not started", None)
            return
        if task.policy.timeout is not None:  # a timeout gives the thread up: know which
            self.thread = threading.current_thread()
        run_slot.run = self
        output: str | None = None
        error: str | None
        try:
            if task.flow is not None and task.flow.when is not None and engine._condition_false(self):
                return  # recorded skipped: the condition said no
            result = task.execute()
        except CommandFailedError as exc:
            status, error, output = _FAILED, str(exc), exc.output
            self.exc = exc
        except BaseException as exc:  # sys.exit() in a task too: a worker thread has no Ctrl-C to honour
            status, error = _FAILED, f"{type(exc).__name__}: {exc}"
            self.exc = exc
        else:
            status, error = _SUCCEEDED, None
            if task.kind != "func" and isinstance(result, str):
                output = result
            elif type(result) is Reschedule:  # the function sets its own next schedule
                error = engine._apply_returned(task, result)
                if error is not None:
                    status = _FAILED
                    self.final = True  # the function ran; a retry would run it again for nothing
        finally:
            run_slot.run = None
        engine._finish(self, status, error, output)

    @property
    def scheduled_iso(self) -> str:
        """The occurrence as ISO text, for log lines (built only when a line is written)."""
        return from_utc_us(self.scheduled_us).isoformat()

    def attach_process(self, proc: subprocess.Popen[bytes]) -> None:
        self.process = proc
        if getattr(self, "cancelled", None) is not None:  # cancelled while it was starting
            from ._overlap import signal_process

            signal_process(self.engine, self, hard=self.task.policy.overlap_policy == "terminate_other")


class Engine:
    """Heap, loop and run lifecycle. ``AutoCron`` adds the public API on top."""

    def __init__(
        self,
        clock: Clock,
        store: Store,
        max_workers: int,
        node_id: str,
        notifications: NotificationDispatcher,
    ) -> None:
        self._clock = clock
        self._log = logger.get()  # the real logger: its use on every run skips the proxy
        self._store = store
        # Group commit: claims of a dispatch batch in one transaction, finishes
        # through one writer thread (a persistent BatchStore only; the memory
        # store keeps its per-run path, which costs less than a hand-over).
        self._writer: StoreWriter | None = None
        if store.persistent:
            from .protocols import BatchStore

            if isinstance(store, BatchStore):
                self._writer = StoreWriter(store)
        #: Live nodes of a cluster, sorted (set by the cluster agent): each node
        #: starts at once only the occurrences it owns (see ``_owns``).
        self._peers: tuple[str, ...] | None = None
        # Runs waiting for their claim (BatchStore): one claimer at a time takes all
        # of them in one transaction, so occurrences due a few ms apart (tasks whose
        # anchors differ) share a commit too, not only those of one instant.
        self._claim_lock = threading.Lock()
        self._claim_queue: list[Run] = []
        self._claimer_active = False
        self._node_id = node_id
        self._notifications = notifications
        # Hot paths enter the RLock itself: entering the Condition costs a
        # Python-level __enter__/__exit__ per call. Both are the same lock.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        # Run accounting (instance counts, in-flight total, per-task counters) has a
        # lock of its own, held for a few statements at a time: a worker finishing a
        # run then never waits for the loop thread, which holds the engine lock while
        # it dispatches a batch. Order: the engine lock first, then this one.
        self._acct = threading.Lock()
        self._heap: list[tuple[int, int, Any]] = []
        # Due entries taken out of the heap in one go (see _drain), next one last; the
        # loop takes from here and the heap in (fire, seq) order, as if popping one by one.
        self._ready: list[tuple[int, int, Any]] = []
        self._seq = itertools.count(1)
        self._tasks: dict[str, Task] = {}
        self._listeners = Listeners()
        self._listened = self._listeners.by_kind  # `kind in` it: is anyone listening?
        self._pool = WorkerPool(max_workers)
        self._aio = AsyncRunner()
        self._scheduling = False
        self._loop_thread: threading.Thread | None = None
        self._stopping = False
        self._random: Any = None  # made on first jitter: importing random costs start-up time
        # (unanchored interval, anchor, anchored interval) of the last interval task added
        self._anchor_memo: tuple[Interval, int, Interval] | None = None
        # Cluster mode: function tasks added before start(), whose anchors start() shares in one batch.
        self._anchors_due: dict[str, tuple[Task, Interval, int]] = {}
        self.heartbeat_us = 0
        self._in_flight = 0
        self._closed = False
        self._last_dt: tuple[int, _dt.datetime] = (0, from_utc_us(0))
        self._was_started = False
        self._cluster_mode = False  # set by AutoCron on a ClusterStore
        self._batch: list[Run] | None = None  # runs collected by run_due for one hand-over
        self._recorders: list[threading.Thread] = []  # threads recording timed-out runs
        # Timed-out sync attempts whose threads still run, per task (engine lock).
        self._abandoned: dict[Task, int] = {}
        self._abandoned_total = 0
        #: Attempts in flight of tasks whose overlap policy may cancel them (engine lock).
        self._live: dict[Task, list[Run]] = {}
        #: What ended the loop thread, if an exception did (see ``health()``).
        self.loop_failure: BaseException | None = None
        #: Upstream task name -> the names of the tasks with ``after=`` it (issue 17; see _dependencies).
        self._downstream: dict[str, tuple[str, ...]] = {}
        self._flows: FlowTracker | None = None  # made on first use
        # Executors (_executors.RemoteRuns), made when a scheduler has one or a task names one.
        self._remote: Any = None

    # -- heap ---------------------------------------------------------------
    def _push_task(self, task: Task, due_us: int | None) -> None:
        """(Re)schedule ``task`` for ``due_us``; any older entry of it goes stale."""
        seq = next(self._seq)
        task._gen = seq
        task.next_run_us = due_us
        if due_us is None or not self._scheduling or task.paused:
            return
        jitter = task.policy.jitter
        # Without jitter the heap shares the task's due-time int (memory per task counts).
        fire = due_us + int(self._jitter_random() * jitter * _US) if jitter else due_us
        heapq.heappush(self._heap, (fire, seq, task))
        if self._heap[0][1] == seq:
            self._cond.notify()

    def _jitter_random(self) -> float:
        if self._random is None:
            import random

            self._random = random.Random()  # noqa: S311 - jitter spreads load; it is no secret
        return float(self._random.random())

    def _push(self, due_us: int, item: Any) -> None:
        heapq.heappush(self._heap, (due_us, next(self._seq), item))
        self._ensure_loop()  # timers and retries of manual runs need it before start()
        if self._heap[0][2] is item:
            self._cond.notify()

    def _ensure_loop(self) -> None:
        if self._loop_thread is None or not self._loop_thread.is_alive():
            if self._closed:
                return
            self._stopping = False
            self._loop_thread = threading.Thread(target=self._loop, name="autocron-scheduler", daemon=True)
            self._loop_thread.start()

    def _loop(self) -> None:
        try:
            self._turn_forever()
        except KeyboardInterrupt:  # Ctrl-C in a blocking start(): start() stops the scheduler
            raise
        except BaseException as exc:
            # Nothing should get here (a task's fault is caught where it fires); if
            # something does, say so loudly and let health() report it.
            self.loop_failure = exc
            logger.critical("the scheduler loop stopped: no task fires until it is restarted", exc_info=True)
            raise

    def _turn_forever(self) -> None:
        clock = self._clock
        cond = self._cond
        faults = 0
        while True:
            try:
                now = clock.now_us()
                self.heartbeat_us = now
                self.run_due(now)
                faults = 0
            except Exception:  # a fault outside any one task (the clock, the pool): pause, go on
                faults += 1
                pause = min(_FAULT_PAUSE, 0.1 * 2 ** min(faults, 10))
                logger.exception(
                    "scheduler loop: a turn failed (%d in a row); next try in %gs", faults, pause
                )
                with cond:
                    if self._stopping:
                        return
                    clock.wait(cond, pause)
                continue
            with cond:
                if self._stopping:
                    return
                # Decide the wait under the lock that add() notifies under, so a task
                # added after run_due() is either seen here or wakes the wait.
                if self._ready:
                    continue  # a burst being dispatched
                if self._heap:
                    timeout = (self._heap[0][0] - clock.now_us()) / _US
                    if timeout <= 0:
                        continue
                    clock.wait(cond, min(MAX_WAIT, timeout))
                else:
                    clock.wait(cond, MAX_WAIT)
                if self._stopping:
                    return

    def run_due(self, now_us: int) -> int:
        """Dispatch every entry due at ``now_us``; returns how many entries were handled.

        Entries are taken in batches under the engine lock (``_BATCH`` first,
        doubling up to ``_MAX_BATCH``); the runs of a batch are then handed to
        the pool together, outside the lock, so that workers start (and record
        finished runs) while a large burst, 10,000 tasks due at once, is still
        being dispatched.
        """
        handled = 0
        size = _BATCH
        while True:
            batch: list[Run] = []
            with self._lock:
                self._batch = batch
                try:
                    count, more = self._dispatch_batch(now_us, size)
                finally:
                    self._batch = None
            size = min(size * 2, _MAX_BATCH)
            handled += count
            if batch and self._writer is not None:  # claimed in groups, on a worker
                self._queue_claims(batch)
            elif batch:
                try:
                    self._pool.submit_many(batch)  # a Run is a job: calling it runs it
                except RuntimeError:  # the pool closed under us (stop()): these runs never start
                    for run in batch:
                        self._release(run)
            if not more:
                return handled

    def _dispatch_batch(self, now_us: int, size: int) -> tuple[int, bool]:
        """Handle up to ``size`` due entries (lock held): how many, and whether more may be due."""
        heap = self._heap
        ready = self._ready
        if not ready and heap and heap[0][0] <= now_us:
            ready = drain_due(heap, now_us) or ready  # a large burst: out of the heap at once
            self._ready = ready
        for count in range(size):
            # The earlier of the next ready entry and the heap's first (ties cannot
            # happen: seq is unique), as long as it is due.
            if ready and (not heap or ready[-1] < heap[0]):
                if ready[-1][0] > now_us:  # a clock set back since the drain: back to the heap
                    heap.extend(ready)
                    heapq.heapify(heap)
                    ready.clear()
                    return count, False
                _, seq, item = ready.pop()
            elif heap and heap[0][0] <= now_us:
                _, seq, item = heapq.heappop(heap)
            else:
                return count, False
            try:
                if type(item) is _Timer:
                    self._on_timer(item)
                elif type(item) is _Retry:
                    if item.after is not None and self._defer_retry(item):
                        continue
                    self._start_retry(item)
                elif item._gen == seq and self._scheduling:
                    self._on_due(item, now_us)
            except KeyboardInterrupt:  # only a signal raises it here: stop as asked
                raise
            except BaseException as exc:  # one task's fault must never stop the others
                self._fire_failed(item, seq, now_us, exc)
        return size, True

    def _fire_failed(self, item: Any, seq: int, now_us: int, exc: BaseException) -> None:
        """Firing one heap entry raised (engine lock held): log it, record it on its
        task, keep the task scheduled if its next occurrence can still be known."""
        task: Task = item.run.task if type(item) is _Timer else item.task if type(item) is _Retry else item
        error = f"scheduler: {type(exc).__name__}: {exc}"
        logger.error("task %r: could not be fired: %s", task.name, error, exc_info=exc)
        if type(item) is _Timer:
            return  # the attempt itself goes on; only its timeout was lost
        waiter = item.waiter if type(item) is _Retry else None
        scheduled = item.scheduled_us if type(item) is _Retry else task.next_run_us
        if type(item) is not _Retry and task._gen == seq:  # not rescheduled before the fault
            try:
                nxt = task.next_fire_after_us(max(now_us, scheduled or now_us))
            except BaseException:  # whatever it raises, the task cannot be scheduled
                nxt = None
                logger.error("task %r: its next occurrence cannot be computed; it will not fire again "
                             "until it is changed or resumed", task.name)  # fmt: skip
            self._push_task(task, nxt)
        with self._acct:
            task.last_status = RunStatus.FAILED.value
            task.fail_count += 1
            task.failing = True
        attempt = item.attempt if type(item) is _Retry else 1
        self._record_simple(
            task, scheduled if scheduled is not None else now_us, RunStatus.FAILED, error, attempt
        )
        if waiter is not None:
            waiter.set()

    def _start_retry(self, item: _Retry) -> None:
        """Start a due retry (engine lock held), unless its task is gone."""
        if item.task._gen != -1 and self._tasks.get(item.task.name) is item.task:
            self._start(item.task, item.scheduled_us, item.attempt, item.waiter, item.trigger)
        elif item.waiter is not None:  # removed meanwhile: the manual run ends failed
            item.waiter.set()

    def _defer_retry(self, item: _Retry) -> bool:
        """Whether the timed-out attempt before ``item`` still runs; if so, ``item``
        starts when its thread returns (see ``_thread_ended``), never beside it."""
        before = item.after
        with self._acct:
            if before is None or before.cancel != _HELD:
                return False
            before.then = item
            return True

    # -- occurrences ----------------------------------------------------------
    def _on_due(self, task: Task, now_us: int) -> None:
        scheduled = task.next_run_us
        if scheduled is None:  # removed or finished meanwhile
            return
        policy = task.policy
        nxt = task.next_fire_after_us(scheduled)
        if nxt is not None and nxt <= now_us and policy.coalesce:
            # A backlog: collapse it into its latest occurrence.
            latest, missed = self._latest_due(task, nxt, now_us)
            self._record_simple(
                task,
                scheduled,
                RunStatus.MISSED,
                f"{missed} occurrence(s) from this one on coalesced into the run of "
                f"{from_utc_us(latest).isoformat()}",
            )
            scheduled = latest
            nxt = task.next_fire_after_us(latest)
        self._push_task(task, nxt)
        if task.flow is not None and task.flow.after:  # the schedule only opens a window (see _dependencies)
            self._flows_tracker().open_window(task, scheduled)
            return
        grace = policy.misfire_grace_time
        if grace is not None and now_us - scheduled > grace * _US:
            late = (now_us - scheduled) / _US
            self._record_simple(
                task, scheduled, RunStatus.MISSED, f"{late:.1f}s late, misfire_grace_time is {grace:g}s"
            )
            return
        if task.running and task.running >= policy.instance_limit:  # a limit is at least 1
            if self._cluster_mode:
                # In a cluster the limit is per node: recording 'skipped' would take the
                # occurrence's claim from a node that could run it. Leave it to them.
                logger.debug(
                    "task %r: at its instance limit here; leaving %s to other nodes", task.name, scheduled
                )
                return
            if policy.overlap_policy in BUFFERING:
                from ._overlap import on_busy

                why: str | None = on_busy(self, task, scheduled)
            else:
                why = f"{task.running} instance(s) still running (overlap_policy={policy.overlap_policy})"
            if why is not None:
                self._record_simple(task, scheduled, RunStatus.SKIPPED, why)
            return
        if self._peers is not None and not self._owns(task.name, scheduled):
            # Another live node owns this occurrence: claim it only if that node has
            # not after TAKEOVER_DELAY (it died, or is at its instance limit).
            self._push(now_us + int(TAKEOVER_DELAY * _US), _Retry(task, scheduled, 1, None))
            return
        self._start(task, scheduled, 1, None)

    def set_peers(self, nodes: list[str] | None) -> None:
        """The live nodes of the cluster (``None`` or one node: this one claims everything)."""
        peers = tuple(sorted(set(nodes or ()) | {self._node_id}))
        self._peers = peers if len(peers) > 1 else None

    def _owns(self, name: str, scheduled_us: int) -> bool:
        """Whether this node owns an occurrence: a hash of task and time over the live nodes,
        the same on every node that sees the same nodes."""
        peers = self._peers
        if peers is None:
            return True
        spot = zlib.crc32(scheduled_us.to_bytes(8, "little", signed=True), zlib.crc32(name.encode()))
        return peers[spot % len(peers)] == self._node_id

    def _latest_due(self, task: Task, first_us: int, now_us: int) -> tuple[int, int]:
        """The last occurrence at or before ``now_us`` from ``first_us`` on, and how many
        occurrences it stands in for before it (counting the one before ``first_us``)."""
        schedule = task.schedule
        if isinstance(schedule, Interval) and schedule._anchor_us is not None and task.end_at is None:
            latest = schedule.latest_at_or_before_us(now_us)
            if latest is not None and latest >= first_us:
                return latest, (latest - first_us) // schedule._step_us + 1
        latest, count = first_us, 1
        for _ in range(_BACKLOG_SCAN):
            nxt = task.next_fire_after_us(latest)
            if nxt is None or nxt > now_us:
                break
            latest, count = nxt, count + 1
        return latest, count

    def _record_simple(
        self,
        task: Task,
        scheduled_us: int,
        status: RunStatus,
        why: str,
        attempt: int = 1,
        trigger: str = "schedule",
    ) -> None:
        """A skipped, missed or unfireable occurrence: one record, one event, never a run."""
        when = from_utc_us(scheduled_us)
        record = RunRecord(
            task.name, when, attempt, status, None, self._clock.now(), why, self._node_id, None, trigger
        )
        kind = _SIMPLE_EVENTS[status]
        logger.info("task %r: occurrence %s %s (%s)", task.name, when.isoformat(), status.value, why)

        def write() -> None:
            try:
                if self._store.claim_run(record):
                    self._emit(kind, task, record=record, error=why)
            except Exception:
                logger.exception("could not record %s occurrence of task %r", status.value, task.name)

        self._pool.submit(write)

    # -- runs -----------------------------------------------------------------
    def _start(
        self, task: Task, scheduled_us: int, attempt: int, waiter: Waiter | None, trigger: str = "schedule"
    ) -> Run | None:
        """Begin an attempt (engine lock held): count the instance, arm the timeout, hand it over.

        Returns ``None`` (and records the attempt ``skipped``) when the task could
        leave one more stuck thread behind and the limits on those are reached.
        """
        if self._abandoned and self._too_many_abandoned(task, scheduled_us, attempt, waiter):
            return None
        run = Run(self, task, scheduled_us, attempt, waiter, trigger)
        timeout = task.policy.timeout
        if task.route is not None or self._remote is not None:
            from ._executors import executor_for

            run.remote = executor_for(self, task)
            if run.remote is not None:
                timeout = None  # enforced where it runs (protocols.Executor)
        if timeout is not None:
            timer_due = self._clock.now_us() + int(timeout * _US)  # before counting: nothing to undo
        with self._acct:
            task.running += 1
            self._in_flight += 1
        if task.policy.overlap_policy in CANCELLING:
            self._live.setdefault(task, []).append(run)
        if timeout is not None:
            self._push(timer_due, _Timer(run, kill=False))
        if task._async:  # is_async without the property's frame
            self._start_async(run)
        elif self._batch is not None:  # inside run_due: handed over with the rest of the batch
            self._batch.append(run)
        else:
            self._pool.submit(run)
        return run

    def _too_many_abandoned(self, task: Task, scheduled_us: int, attempt: int, waiter: Waiter | None) -> bool:
        """Whether starting ``task`` could exceed the limits on abandoned threads; if so,
        the attempt is recorded ``skipped`` with the reason (engine lock held)."""
        if task.policy.timeout is None or task._async or task.kind != "func" or task.options.safe_mode:
            return False  # this attempt can be stopped at its timeout: it never leaves a thread
        mine = self._abandoned.get(task, 0)
        if mine < MAX_ABANDONED_PER_TASK and self._abandoned_total < MAX_ABANDONED:
            return False
        self._record_simple(
            task,
            scheduled_us,
            RunStatus.SKIPPED,
            f"{mine} timed-out attempt(s) of this task and {self._abandoned_total} in all still run in "
            f"threads Python cannot stop (limits: {MAX_ABANDONED_PER_TASK} per task, {MAX_ABANDONED} in "
            "all); safe_mode=True runs the function in a process that its timeout kills",
            attempt,
        )
        if waiter is not None:
            waiter.set()
        return True

    def _scheduled_dt(self, us: int) -> _dt.datetime:
        """The datetime of an occurrence; runs of one instant (a batch) share one object."""
        cached = self._last_dt
        if cached[0] == us:
            return cached[1]
        moment = from_utc_us(us)
        self._last_dt = (us, moment)
        return moment

    def _claim(self, run: Run) -> bool:
        task = run.task
        cached = self._last_dt  # _scheduled_dt's cache, read inline: this runs for every run
        scheduled = cached[1] if cached[0] == run.scheduled_us else self._scheduled_dt(run.scheduled_us)
        now = self._clock.now()
        record: RunRecord = _record(
            (
                run.task_name,
                scheduled,
                run.attempt,
                _RUNNING,
                now,
                None,
                None,
                self._node_id,
                None,
                run.trigger,
            )
        )
        run.record = record
        try:
            claimed = self._store.claim_run(record)
        except Exception as exc:
            logger.exception("task %r: could not claim occurrence %s", task.name, record.scheduled_for)
            self._finish(run, RunStatus.FAILED, f"store: {exc}", None, claimed=False)
            return False
        if not claimed:
            logger.debug(
                "task %r: occurrence %s attempt %d claimed elsewhere",
                task.name,
                record.scheduled_for.isoformat(),
                run.attempt,
            )
            self._release(run)
            return False
        if _STARTED_EVENT in self._listened:  # only listeners: no notify_on category is "started"
            fields = (
                EventKind.STARTED,
                task.name,
                now,
                task,
                record,
                scheduled,
                run.attempt,
                None,
                None,
                False,
            )
            self._listeners.emit(_event(fields))
        return True

    def _queue_claims(self, batch: list[Run]) -> None:
        """Queue runs for the claimer; start one on a worker unless one is at work."""
        with self._claim_lock:
            self._claim_queue.extend(batch)
            if self._claimer_active:
                return
            self._claimer_active = True
        try:
            self._pool.submit(self._claim_queued)
        except RuntimeError:  # the pool closed under us (stop()): these runs never start
            self._drop_claim_queue()

    def _claim_queued(self) -> None:
        """The claimer: claim what is queued, in groups of at most _MAX_CLAIMS, until none is."""
        while True:
            with self._claim_lock:
                batch = self._claim_queue[:_MAX_CLAIMS]
                del self._claim_queue[:_MAX_CLAIMS]
                if not batch:
                    self._claimer_active = False
                    return
            try:
                self._claim_batch(batch)
            except BaseException:
                with self._claim_lock:
                    self._claimer_active = False
                raise

    def _drop_claim_queue(self) -> None:
        """Release the runs still waiting for a claim (stop()): they never start."""
        with self._claim_lock:
            runs, self._claim_queue = self._claim_queue, []
            self._claimer_active = False
        for run in runs:
            self._release(run)

    def _claim_batch(self, batch: list[Run]) -> None:
        """Claim a dispatch batch in one store transaction, then start the runs it won.

        Runs on a worker: the loop thread never waits on the store. Every claim
        is committed before any run of the batch starts.
        """
        node = self._node_id
        now = self._clock.now()
        records: list[RunRecord] = []
        for run in batch:
            record = _record(
                (run.task_name, self._scheduled_dt(run.scheduled_us), run.attempt, _RUNNING, now, None,
                 None, node, None, run.trigger)
            )  # fmt: skip
            run.record = record
            records.append(record)
        try:
            won = self._store.claim_runs(records)  # type: ignore[attr-defined]
        except Exception as exc:
            logger.exception("could not claim %d occurrence(s) of this batch", len(batch))
            for run in batch:
                self._finish(run, RunStatus.FAILED, f"store: {exc}", None, claimed=False)
            return
        started: list[Run] = []
        listened = _STARTED_EVENT in self._listened
        if len(won) != len(batch):
            raise TypeError(f"claim_runs returned {len(won)} answers for {len(batch)} records")
        for run, record, claimed in zip(batch, records, won, strict=True):
            if not claimed:
                logger.debug("task %r: occurrence %s attempt %d claimed elsewhere",
                             run.task_name, run.scheduled_iso, run.attempt)  # fmt: skip
                self._release(run)
                continue
            started.append(run)
            if listened:
                self._listeners.emit(
                    _event((EventKind.STARTED, run.task_name, now, run.task, record, record.scheduled_for,
                            run.attempt, None, None, False))
                )  # fmt: skip
        if started:
            try:
                self._pool.submit_many(started)
            except RuntimeError:  # the pool closed under us (stop()): these runs never start
                writer = self._writer
                for run in started:
                    # Claimed but never started: recorded as a crash would leave it, no event.
                    claim = run.record
                    if writer is not None and claim is not None:
                        writer.put(
                            claim.finished(
                                RunStatus.ABANDONED,
                                self._clock.now(),
                                error="the scheduler stopped before it started",
                            ),
                            None,
                        )
                    self._release(run)

    def flush_writes(self, timeout: float | None = 30.0) -> bool:
        """Wait until finished runs handed to the store writer are written (nothing without one)."""
        return True if self._writer is None else self._writer.flush(timeout)

    def _stop_writer(self) -> None:
        """Drop unclaimed runs, write what the store writer holds and end its thread (stop())."""
        self._drop_claim_queue()
        if self._writer is not None and not self._writer.stop():
            logger.error("some finished runs could not be written in time; they will show as abandoned")

    def _start_async(self, run: Run) -> None:
        def begin() -> None:
            if not self._claim(run):
                return
            if getattr(run, "cancelled", None) is not None:  # a newer occurrence came first
                self._finish(run, _CANCELLED, run.cancelled + "; it had not started", None)
                return
            if run.task.flow is not None and run.task.flow.when is not None:
                try:
                    if self._condition_false(run):
                        return
                except Exception as exc:  # the condition raised: a failed attempt, retried by policy
                    run.exc = exc
                    self._finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}", None)
                    return

            def done(error: BaseException | None, timed_out: bool, result: Any = None) -> None:
                if getattr(run, "cancelled", None) is not None:  # cancelled for a newer occurrence
                    args: tuple[Any, ...] = (_CANCELLED, run.cancelled, None)
                elif timed_out:
                    args = (
                        RunStatus.TIMED_OUT,
                        f"timed out after {run.task.policy.timeout:g}s",
                        None,
                    )
                elif error is not None:
                    run.exc = error
                    args = (RunStatus.FAILED, f"{type(error).__name__}: {error}", None)
                elif type(result) is Reschedule:  # the coroutine sets its own next schedule
                    why = self._apply_returned(run.task, result)
                    args = (RunStatus.SUCCEEDED if why is None else RunStatus.FAILED, why, None)
                    if why is not None:
                        run.final = True
                else:
                    args = (RunStatus.SUCCEEDED, None, None)
                if self._store.persistent:
                    self._pool.submit(lambda: self._finish(run, *args))
                else:
                    self._finish(run, *args)

            run.cancel = self._aio.submit(run.task.execute, done, None)
            if getattr(run, "cancelled", None) is not None:  # cancelled while it was submitted
                run.cancel()

        if self._store.persistent:
            self._pool.submit(begin)
        else:
            begin()

    # -- flow: conditions, dependencies, pause on failure (issue 17) ---------------
    def _flows_tracker(self) -> FlowTracker:
        """The dependency and pause-on-failure machinery, made on first use."""
        tracker = self._flows
        if tracker is None:
            from ._dependencies import FlowTracker

            with self._lock:
                if self._flows is None:
                    self._flows = FlowTracker(self)
                tracker = self._flows
        return tracker

    def _condition_false(self, run: Run) -> bool:
        """Evaluate the run's ``when=`` condition (after its claim); when it is false, record the
        run ``skipped`` and return ``True``. What the condition raises propagates: a failed run."""
        from ._flow import run_condition

        why = run_condition(
            run.task, from_utc_us(run.scheduled_us), run.attempt, run.trigger, self._clock.now()
        )
        if why is None:
            return False
        self._finish(run, RunStatus.SKIPPED, why, None)
        return True

    def _finish_skipped(self, run: Run, why: str) -> None:
        """End a claimed attempt whose condition was false: record it ``skipped``, free its slot,
        emit a ``skipped`` event. Not a failure, not a success: no retry, no callback."""
        task = run.task
        now = self._clock.now()
        claim = run.record
        record = (
            RunRecord(task.name, from_utc_us(run.scheduled_us), run.attempt, RunStatus.SKIPPED, now, now,
                      why, self._node_id, None, run.trigger)
            if claim is None
            else claim.finished(RunStatus.SKIPPED, now, error=why)
        )  # fmt: skip
        if self._writer is not None:
            self._writer.put(record, task if task.kind != "func" else None)
        else:
            try:
                self._store.finish_run(record)
            except Exception:
                logger.exception("task %r: could not record the run of %s", task.name, record.scheduled_for)
        logger.info("task %r: occurrence %s skipped (%s)", task.name, run.scheduled_iso, why)
        with self._lock:
            with self._acct:
                task.running -= 1
                self._in_flight -= 1
                idle = not self._in_flight
            self._drain_backlog(task)
            if idle:
                self._cond.notify_all()
        self._emit(EventKind.SKIPPED, task, record=record, error=why)
        if run.waiter is not None:
            run.waiter.succeeded = False
            run.waiter.set()

    def _on_timer(self, timer: _Timer) -> None:
        run = timer.run
        if run.done:
            return
        if timer.kill:
            if run.process is not None:
                from ._process import signal_group

                signal_group(run.process, kill=True)
            return
        timeout = run.task.policy.timeout or 0
        logger.warning("task %r: attempt %d timed out after %gs", run.task_name, run.attempt, timeout)
        if run.process is not None:  # the worker records the run when the process ends
            from ._process import signal_group

            run.cancel = "timed_out"
            signal_group(run.process, kill=False)
            self._push(self._clock.now_us() + int(KILL_GRACE * _US), _Timer(run, kill=True))
            return
        if run.cancel is not None and callable(run.cancel):  # async: cancel the coroutine
            run.cancel()
            return
        # A sync function: Python cannot stop a thread. Record the timeout now, on a
        # thread of its own (the pool may be draining for stop(), and the loop thread
        # must not wait on the store); then give the stuck worker up and let the pool
        # start another in its place. The recorder is registered first, so a stop()
        # that sees the pool go idle also waits for the record to land.
        # The thread keeps the task's instance slot until it returns (_thread_ended):
        # with overlap_policy="skip" no second run starts beside it, timeout or not.
        run.cancel = _ABANDONED
        task = run.task
        self._abandoned[task] = self._abandoned.get(task, 0) + 1
        self._abandoned_total += 1
        recorder = threading.Thread(
            target=self._finish,
            args=(run, RunStatus.TIMED_OUT, f"timed out after {timeout:g}s", None),
            kwargs={"abandoned": True},
            name="autocron-timeout",
            daemon=True,
        )
        recorder.start()  # before stop() can see it: join() refuses an unstarted thread
        self._recorders = [t for t in self._recorders if t.is_alive()] + [recorder]
        if run.thread is not None:
            self._pool.abandon(run.thread)

    def _apply_returned(self, task: Task, wanted: Reschedule) -> str | None:
        """Apply the ``Reschedule`` a run returned; the error text when it is refused."""
        from ._reschedule import apply_returned

        return apply_returned(self, task, wanted)

    def _kill_later(self, run: Run) -> None:
        """SIGKILL the run's process group ``KILL_GRACE`` seconds from now, if it still runs."""
        self._push(self._clock.now_us() + int(KILL_GRACE * _US), _Timer(run, kill=True))

    def _forget_live(self, run: Run) -> None:
        """Drop an ended attempt from the cancellable ones (engine lock held)."""
        runs = self._live.get(run.task)
        if runs is not None and run in runs:
            runs.remove(run)
            if not runs:
                del self._live[run.task]

    def _release(self, run: Run) -> None:
        """End an attempt that never ran (claimed elsewhere, or the pool closed)."""
        task = run.task
        # A queued backlog is only touched under the engine lock (as in _finish).
        queue = task.policy.overlap_policy in BUFFERING
        if queue:
            self._lock.acquire()
        try:
            with self._acct:
                run.done = True
                task.running -= 1
                self._in_flight -= 1
                idle = not self._in_flight
            if queue:
                self._forget_live(run)
                self._drain_backlog(task)
        finally:
            if queue:
                self._lock.release()
        if idle:
            self._notify_idle()
        if run.waiter is not None:
            run.waiter.set()

    def _notify_idle(self) -> None:
        """Wake wait_idle(), stop() and settle(): nothing is in flight any more."""
        with self._lock:
            self._cond.notify_all()

    def _drain_backlog(self, task: Task) -> None:
        backlog = task._backlog
        if self._closed:
            return
        while backlog and task.running < task.policy.instance_limit and self._tasks.get(task.name) is task:
            entry = backlog.popleft()
            self._start(task, entry[0], entry[1], None, entry[2] if len(entry) == 3 else "schedule")

    def _thread_ended(self, run: Run, status: RunStatus) -> None:
        """The thread of a timed-out sync attempt returned: free its slot, log it, and
        start the retry that waited for it (the outcome was recorded at the timeout)."""
        task = run.task
        with self._lock:
            left = self._abandoned.pop(task, 1) - 1
            if left:
                self._abandoned[task] = left
            self._abandoned_total -= 1
            with self._acct:
                run.cancel = _ENDED
                task.running -= 1
                waiting: _Retry | None = getattr(run, "then", None)
            if waiting is not None:
                if self._closed:  # a stopping scheduler starts nothing new
                    if waiting.waiter is not None:
                        waiting.waiter.set()
                else:
                    self._start_retry(waiting)
            self._drain_backlog(task)
        started = run.record.started_at if run.record is not None else None
        took = (
            "" if started is None else f" {(self._clock.now() - started).total_seconds():.3f}s after it began"
        )
        logger.warning(
            "task %r: attempt %d of %s, recorded timed_out, ended%s (%s); its instance slot is free again",
            task.name,
            run.attempt,
            run.scheduled_iso,
            took,
            status.value,
        )

    def _finish(
        self,
        run: Run,
        status: RunStatus,
        error: str | None,
        output: str | None,
        *,
        claimed: bool = True,
        abandoned: bool = False,
    ) -> None:
        """Record an attempt's outcome once, then retry, notify and call back.

        Written for the common case, a success with no listener: every check
        below costs a run's worth of time when 10,000 tasks fire at once.
        ``abandoned``: a sync attempt past its timeout, recorded while its
        thread still runs; the task's instance slot stays taken until then.
        """
        task = run.task
        policy = task.policy
        if policy.overlap_policy in CANCELLING and getattr(run, "cancelled", None) is not None:
            status, error = _CANCELLED, run.cancelled  # whatever the stopped process or coroutine said
        if policy.timeout is None:
            run.done = True  # only a timeout timer can race the worker to finish an attempt
        else:
            # Timed out even when the leader then exits 0 on SIGTERM.
            if run.cancel == "timed_out" and status is not _TIMED_OUT:
                status, error = _TIMED_OUT, f"timed out after {policy.timeout:g}s"
            with self._acct:
                if run.done:
                    ended = run.cancel == _HELD and not abandoned
                    if not ended:
                        return
                else:
                    ended = False
                    run.done = True
                    if abandoned:
                        run.cancel = _HELD
            if ended:  # the worker of an attempt recorded timed_out came back
                self._thread_ended(run, status)
                return
        if status is _SKIPPED:  # a when= condition said no (see _condition_false)
            self._finish_skipped(run, error or "skipped")
            return
        finished_at = self._clock.now()
        claim = run.record
        if claim is None:  # never claimed: the attempt starts and ends now
            record = RunRecord(task.name, from_utc_us(run.scheduled_us), run.attempt, status,
                               finished_at, finished_at, error, self._node_id, output,
                               run.trigger)  # fmt: skip
        else:  # built directly: NamedTuple._replace costs several times more
            record = _record((claim.task, claim.scheduled_for, claim.attempt, status,
                              claim.started_at, finished_at, error, claim.node_id, output,
                              claim.trigger))  # fmt: skip
        writer = self._writer
        if writer is not None:  # group commit: the record and the task's state go together, later
            stored = task.kind != "func"  # function tasks live in code: no state row to update
            if claimed or stored:
                writer.put(record if claimed else None, task if stored else None)
        elif claimed:
            try:
                self._store.finish_run(record)
            except Exception:
                logger.exception("task %r: could not record the run of %s", task.name, record.scheduled_for)
        failed = status is not _SUCCEEDED and status is not _CANCELLED
        retry = (
            failed
            and claimed  # an unclaimed attempt may be running elsewhere: retrying it could run it twice
            and not getattr(run, "final", False)
            and run.attempt <= policy.retries
            and self._tasks.get(task.name) is task
            and not self._closed
        )  # a stopping scheduler starts nothing new
        # The heap and a task's backlog belong to the engine lock; the counters to _acct.
        locked = retry or policy.overlap_policy in BUFFERING
        if locked:
            self._lock.acquire()
        try:
            with self._acct:
                if not abandoned:
                    task.running -= 1
                self._in_flight -= 1
                idle = not self._in_flight
                task.run_count += 1
                task.last_status = status._value_
                if task.last_run_us is None or run.scheduled_us >= task.last_run_us:
                    task.last_run_us = run.scheduled_us
                recovered = False
                if failed:
                    task.fail_count += 1
                    if not retry:
                        task.failing = True
                elif task.failing and status is _SUCCEEDED:
                    recovered, task.failing = True, False
            if locked:
                if retry:
                    delay = policy.retry_delay_for(run.attempt)
                    after = run if abandoned else None
                    self._push(
                        to_utc_us(finished_at) + int(delay * _US),
                        _Retry(task, run.scheduled_us, run.attempt + 1, run.waiter, after, run.trigger),
                    )
                if policy.overlap_policy in CANCELLING:
                    self._forget_live(run)
                self._drain_backlog(task)
                if not self._in_flight:
                    self._cond.notify_all()
                idle = False
        finally:
            if locked:
                self._lock.release()
        if idle:
            self._notify_idle()
        if not retry and (task.flow is not None or task.name in self._downstream):
            self._flows_tracker().final_outcome(task, record, failed)
        if failed:
            logger.log(
                WARNING if retry else ERROR,
                "task %r: attempt %d %s: %s",
                task.name,
                run.attempt,
                status.value,
                error,
            )
        elif status is _CANCELLED:
            logger.info("task %r: attempt %d cancelled: %s", task.name, run.attempt, error)
        elif self._log.isEnabledFor(INFO):  # skip building the arguments on the hot path
            self._log.info(
                "task %r: attempt %d succeeded in %.3fs", task.name, run.attempt, record.duration or 0
            )
        if self._store.persistent and writer is None:
            try:
                self._store.save_state(task)
            except Exception:
                logger.exception("task %r: could not save its state", task.name)
        options = task.options
        if retry:
            self._emit(
                EventKind.RETRY_SCHEDULED,
                task,
                record=record,
                error=error,
                retry_in=policy.retry_delay_for(run.attempt),
            )
        elif failed:
            kind = EventKind.TIMED_OUT if status is _TIMED_OUT else EventKind.FAILED
            wants_event = bool(options.callback_event & FAILURE_WANTS_EVENT)
            event = self._emit(kind, task, record=record, error=error, force=wants_event)
            if kind is EventKind.TIMED_OUT and self._listeners.wants(EventKind.FAILED):
                self._emit(EventKind.FAILED, task, record=record, error=error)
            if options.on_failure is not None:
                self._callback(
                    options.on_failure, (event if wants_event else _final_exception(run, status, error)), task
                )
        elif status is _CANCELLED:  # stopped for a newer occurrence: neither success nor failure
            self._emit(EventKind.CANCELLED, task, record=record, error=error)
        elif (  # a success event is built only when a callback, a listener or the notifier wants it
            options.on_success is not None
            or _SUCCEEDED_EVENT in self._listened
            or (
                (options.notify or self._notifications.defaults)
                and self._notifications.wants(task, _SUCCEEDED_EVENT, recovered)
            )
        ):
            wants_event = bool(options.callback_event & SUCCESS_WANTS_EVENT)
            event = self._emit(_SUCCEEDED_EVENT, task, record=record, recovered=recovered, force=wants_event)
            if options.on_success is not None:
                self._callback(options.on_success, event if wants_event else _NO_ARGUMENT, task)
        waiter = run.waiter
        if waiter is not None and not retry:
            waiter.succeeded = not failed
            waiter.set()

    def _notify_wanted(self, task: Task, kind: EventKind, recovered: bool) -> bool:
        """Whether the notification dispatcher must see this event."""
        notifications = self._notifications
        # Asking the dispatcher only when a channel could apply keeps a run's cost down.
        return bool(task.options.notify or notifications.defaults) and notifications.wants(
            task, kind, recovered
        )

    # -- events -----------------------------------------------------------------
    def _emit(
        self,
        kind: EventKind,
        task: Task,
        *,
        record: RunRecord | None = None,
        error: str | None = None,
        retry_in: float | None = None,
        recovered: bool = False,
        force: bool = False,
    ) -> Event | None:
        """Build the event and deliver it, unless no listener, notifier or callback wants it."""
        notify = self._notify_wanted(task, kind, recovered)
        if not (force or notify or self._listeners.wants(kind)):
            return None
        if record is None:
            event = Event(kind, task.name, self._clock.now(), task, error=error)
        else:  # the record's own time stamp is when this happened
            when = record.finished_at or record.started_at or self._clock.now()
            event = _event((kind, task.name, when, task, record, record.scheduled_for, record.attempt,
                            error, retry_in, recovered))  # fmt: skip
        self._listeners.emit(event)
        if notify:
            self._notifications.dispatch(task, event)
        return event

    @staticmethod
    def _callback(callback: Any, argument: Any, task: Task) -> None:
        """Call a task's callback with ``argument`` (none for ``_NO_ARGUMENT``); log what it raises."""
        try:
            if argument is _NO_ARGUMENT:
                callback()
            else:
                callback(argument)
        except Exception:
            logger.exception("task %r: callback %r raised", task.name, callback)


def _final_exception(run: Run, status: RunStatus, error: str | None) -> BaseException:
    """What ``on_failure(exc)`` gets, as the original AutoCron documented: the final
    attempt's exception; ``TaskTimeoutError`` for a timeout (the run's own exception,
    if any, is its cause); an ``AutoCronError`` with the recorded error otherwise."""
    raised: BaseException | None = getattr(run, "exc", None)
    if status is _TIMED_OUT:
        timeout = TaskTimeoutError(run.task_name, run.task.policy.timeout or 0.0)
        timeout.__cause__ = raised
        return timeout
    return raised if raised is not None else AutoCronError(error or status.value)
