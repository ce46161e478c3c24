"""The contracts autocron-core consumes and other packages implement.

Core never imports an implementation: stores, notifiers and OS adapters are
found through the plugin registry (``autocron_core.registry``) or passed in as
objects. Each protocol's docstring says what an implementation must guarantee;
``autocron_core.testing`` holds the suites that check it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .events import Event
    from .records import RunRecord, RunStatus
    from .schedules import Schedule
    from .task import Task

__all__ = [
    "BatchStore",
    "ClusterStore",
    "Executor",
    "InstalledEntry",
    "Notifier",
    "OSScheduler",
    "Outcome",
    "Store",
    "Submission",
    "Support",
    "TaskStats",
    "claim_many",
]


@runtime_checkable
class Store(Protocol):
    """Where task definitions, their state and run records live.

    Guarantees an implementation must give:

    * ``save_task`` is an upsert by task name; ``load_tasks`` returns every
      saved task rebuilt with ``Task.from_dict`` (so with its state), and a
      task whose definition cannot be rebuilt is reported, not dropped.
    * ``claim_run`` inserts a record and returns ``True``, or returns ``False``
      and changes nothing when a record with the same
      ``(task, scheduled_for, attempt)`` exists. It is atomic: when several
      schedulers claim one key at once, exactly one gets ``True``.
    * ``finish_run`` replaces the claimed record with its final form.
    * ``history`` returns records newest first (by ``scheduled_for``, then attempt).
    * Every method is safe to call from several threads.
    * Secrets (keys in ``SECRET_KEYS``) are never written.

    Attributes:
        persistent: whether definitions survive the process (``False`` for memory).
    """

    persistent: bool

    def load_tasks(self) -> list[Task]:
        """Every saved task, with its state."""
        ...

    def save_task(self, task: Task) -> None:
        """Insert or replace the task's definition and state."""
        ...

    def save_state(self, task: Task) -> None:
        """Update only the task's runtime state (next and last run, counts, paused)."""
        ...

    def delete_task(self, name: str) -> bool:
        """Remove a task's definition (its history stays); whether it existed."""
        ...

    def claim_run(self, record: RunRecord) -> bool:
        """Insert ``record`` unless its key exists; whether this call inserted it."""
        ...

    def finish_run(self, record: RunRecord) -> None:
        """Replace the record with the same key by ``record``."""
        ...

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The newest ``limit`` records, of one task or of all."""
        ...

    def close(self) -> None:
        """Release connections and files; the store is not used afterwards."""
        ...


@runtime_checkable
class BatchStore(Store, Protocol):
    """A ``Store`` that claims and finishes many runs per transaction (group commit).

    Optional: the scheduler uses it when a persistent store offers it, and
    calls ``claim_run``/``finish_run`` one record at a time otherwise.
    Guarantees, on top of ``Store``'s:

    * ``claim_runs(records)`` claims each record as ``claim_run`` would and
      returns, in order, whether this call inserted it. Every claim it reports
      is durable (committed) before it returns, so a run starts only after its
      claim is stored; when several callers claim overlapping batches at once,
      each key goes to exactly one of them. A key repeated within one batch is
      claimed by its first record only.
    * ``finish_runs(records, tasks)`` finishes each record as ``finish_run``
      would and saves each task's state as ``save_state`` would, together.
    """

    def claim_runs(self, records: Sequence[RunRecord]) -> list[bool]:
        """Insert each record unless its key exists; whether this call inserted each one."""
        ...

    def finish_runs(self, records: Sequence[RunRecord], tasks: Sequence[Task] = ()) -> None:
        """Replace each record with the same key, and save the state of ``tasks``."""
        ...


def claim_many(store: Store, records: Sequence[RunRecord]) -> list[bool]:
    """Claim ``records`` through ``store``: in one batch where it can, one by one otherwise."""
    if isinstance(store, BatchStore):
        return store.claim_runs(records)
    return [store.claim_run(record) for record in records]


class TaskStats(NamedTuple):
    """Aggregates over one task's runs, as a store computes them (in SQL where it can).

    ``runs`` counts started attempts; durations are of succeeded attempts, in
    seconds; lateness is ``started_at - scheduled_for`` of started attempts.
    """

    task: str
    runs: int
    succeeded: int
    failed: int
    timed_out: int
    skipped: int
    missed: int
    abandoned: int
    duration_p50: float | None
    duration_p95: float | None
    duration_max: float | None
    last_run: _dt.datetime | None
    last_success: _dt.datetime | None
    lateness_p50: float | None = None
    lateness_p95: float | None = None

    @property
    def success_rate(self) -> float | None:
        """Succeeded over finished attempts, or ``None`` before any finished."""
        done = self.succeeded + self.failed + self.timed_out + self.abandoned
        return None if done == 0 else self.succeeded / done


@runtime_checkable
class Notifier(Protocol):
    """A channel that tells people about events (desktop, email, webhook, ...).

    Guarantees: ``notify`` may block (the scheduler calls it off the worker
    that ran the task) but must give up within its own timeout; a delivery
    failure is raised as ``NotificationError`` or logged, and is never retried
    forever. It never writes secrets to a log.
    """

    def notify(self, event: Event) -> None:
        """Deliver one event."""
        ...


class Support(NamedTuple):
    """Whether an OS scheduler can express a schedule; ``reason`` says why not."""

    supported: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.supported


class InstalledEntry(NamedTuple):
    """One entry an OS adapter installed: the task name and the schedule as the OS holds it.

    ``legacy`` is true for an entry the original AutoCron (``autocron-scheduler``)
    left behind: listed and removable, replaced when a task of its name is installed.
    """

    name: str
    schedule: str
    location: str
    details: dict[str, Any] | None = None
    legacy: bool = False


@runtime_checkable
class OSScheduler(Protocol):
    """Hands tasks to the host's scheduler (cron, systemd, launchd, Task Scheduler).

    Guarantees: touches only entries it created (they carry a marker);
    ``install`` replaces an entry of the same task name; every value written is
    quoted or escaped for its target; a schedule the host cannot express
    exactly is refused with ``OSAdapterError`` (``supports`` says why first).
    """

    name: str

    def is_supported(self) -> bool:
        """Whether this scheduler is usable on this host now."""
        ...

    def supports(self, schedule: Schedule) -> Support:
        """Whether ``schedule`` can be expressed exactly, and if not, why."""
        ...

    def install(self, task: Task) -> InstalledEntry:
        """Install or replace the entry that runs ``autocron run <task>``."""
        ...

    def remove(self, name: str) -> bool:
        """Remove the task's entry; whether there was one."""
        ...

    def list(self) -> Sequence[InstalledEntry]:
        """This project's entries only."""
        ...


@runtime_checkable
class ClusterStore(Store, Protocol):
    """A store several schedulers share (PostgreSQL): claims with leases, nodes, shared anchors.

    Guarantees, on top of ``Store``'s:

    * ``claim_run`` of an attempt gives the claim a lease of ``lease_seconds``
      from the store's clock.
    * ``heartbeat(node_id)`` records that the node is alive and renews the
      lease of every ``running`` record it holds.
    * ``reap_abandoned(node_id)`` marks ``abandoned`` every ``running`` record
      of another node whose lease has expired, atomically (when several nodes
      reap at once, each record goes to exactly one), and returns the records
      this call marked: the caller now owns their retry.
    * ``shared_anchor(name, anchor)`` stores ``anchor`` for the task unless one
      is stored already, and returns the stored one, so every node counts an
      interval task's occurrences from the same instant.

    Optional: ``live_nodes()``, the ids of nodes whose heartbeat is younger
    than a lease; with it, nodes split the occurrences between them (see
    docs/distributed.md) instead of all claiming each one at once. And
    ``shared_anchors({name: anchor})``, ``shared_anchor`` for many tasks in a
    few round trips, returning ``{name: shared anchor}``: a scheduler asks it
    once at ``start()`` for the interval tasks added before.

    Attributes:
        lease_seconds: how long a claim lives without a heartbeat.
    """

    lease_seconds: float

    def register_node(self, node_id: str) -> None:
        """Record that ``node_id`` has started."""
        ...

    def heartbeat(self, node_id: str) -> None:
        """Record that ``node_id`` is alive and renew its running claims' leases."""
        ...

    def reap_abandoned(self, node_id: str, tasks: Collection[str] | None = None) -> list[RunRecord]:
        """Mark other nodes' expired running claims ``abandoned`` (only of ``tasks``, when
        given); return those this call marked."""
        ...

    def unregister_node(self, node_id: str) -> None:
        """Record that ``node_id`` stopped cleanly."""
        ...

    def shared_anchor(self, name: str, anchor: _dt.datetime) -> _dt.datetime:
        """The interval anchor every node uses for task ``name`` (the first one stored wins)."""
        ...


class Submission(NamedTuple):
    """One attempt the scheduler hands to an ``Executor``.

    Attributes:
        claim_id: the attempt's idempotency key, ``"<task>@<occurrence ISO>#<attempt>"``:
            the same on every node, naming exactly one run record.
        task: the task (its target, ``args``, ``kwargs``, ``route``).
        scheduled_for: the occurrence (aware, UTC).
        attempt: 1 for the first try, k+1 for the k-th retry.
        expires_at: no worker may start the attempt after this moment (from
            ``misfire_grace_time``); ``None``: no limit.
        timeout: seconds the attempt may run (the task's ``timeout``), or ``None``.
        queue: where to send it (``add_task(queue=...)``); ``None``: the executor's default.
    """

    claim_id: str
    task: Task
    scheduled_for: _dt.datetime
    attempt: int
    expires_at: _dt.datetime | None
    timeout: float | None
    queue: str | None


class Outcome(NamedTuple):
    """How a submitted attempt ended, as its executor reports it.

    ``status`` is ``succeeded``, ``failed``, ``timed_out``, or ``missed`` for an
    attempt that expired before any worker started it (never retried).
    ``started_at``, when the executor knows it, replaces the claim's start time
    in the run record.
    """

    status: RunStatus
    error: str | None = None
    output: str | None = None
    started_at: _dt.datetime | None = None


@runtime_checkable
class Executor(Protocol):
    """Runs attempts outside the scheduler's worker pool (autocron-celery's Celery workers).

    The scheduler claims each attempt first (its run record is ``running``),
    then calls ``submit``; every policy stays the scheduler's: retries (each
    retry is a new ``submit`` with the next attempt number), overlap (the
    record stays ``running`` until ``report`` is called), misfires, events,
    notifications and history. Guarantees an implementation must give:

    * ``submit`` returns without waiting for the attempt to run. When it
      raises, the attempt was not handed over, and ``report`` is never called
      for it (the scheduler records it ``failed`` and retries per policy).
    * ``report`` is called at most once per submission, from any thread, with
      the attempt's ``Outcome``; a second outcome for the same ``claim_id``
      (a redelivered message) is dropped, not reported.
    * Nothing starts the attempt after ``expires_at``: such an attempt is
      reported ``missed`` with the reason.
    * ``timeout`` is enforced where the attempt runs, and reported ``timed_out``.
    * ``close`` ends the executor's threads and connections; submissions not
      yet reported are left to the scheduler (recorded ``abandoned``).
    * Secrets in the task's options never reach a log or a message header.

    Attributes:
        name: the executor's registry name (``"celery"``); tasks route to it with
            ``add_task(executor=name)``.
    """

    name: str

    def submit(self, submission: Submission, report: Callable[[Outcome], None]) -> None:
        """Send one attempt; call ``report`` once when its outcome is known."""
        ...

    def close(self) -> None:
        """Stop watching for outcomes and release connections."""
        ...
