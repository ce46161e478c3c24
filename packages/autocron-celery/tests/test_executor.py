"""CeleryExecutor end to end: real RabbitMQ, real Redis, real ``celery worker`` processes."""

from __future__ import annotations

import datetime as _dt
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import celeryapp
import pytest

from autocron_celery import CeleryExecutor
from autocron_celery.testing import CeleryWorker, wait_for
from autocron_core import AutoCron, EventKind, RunStatus

pytestmark = pytest.mark.timeout(180)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _soon(seconds: float = 1.0) -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=seconds)


@pytest.fixture
def scheduler() -> Iterator[Callable[..., AutoCron]]:
    made: list[AutoCron] = []

    def make(**options: object) -> AutoCron:
        options.setdefault("celery_app", celeryapp.app)
        made.append(AutoCron(**options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for one in made:
        one.stop(timeout=30)


def _finished(s: AutoCron, name: str) -> list:
    return [r for r in s.store.history(name) if r.status is not RunStatus.RUNNING]


def test_a_celery_task_runs_on_a_worker_and_lands_in_history(
    scheduler: Callable[..., AutoCron], workers: Callable[..., CeleryWorker], celery_queue: str, journal: Path
) -> None:
    """add_task(celery=...) sends the named task to the queue; the outcome is the run record."""
    workers()
    s = scheduler()
    name = _name("adder")
    s.add_task(name, celery="tests.add", args=(2, 3), at=_soon(), queue=celery_queue)
    s.start(blocking=False)
    wait_for(lambda: _finished(s, name), what="the run record")
    (record,) = s.store.history(name)
    assert record.status is RunStatus.SUCCEEDED
    assert record.attempt == 1 and record.node_id == s.node_id
    assert record.started_at is not None and record.finished_at >= record.started_at
    claim = f"{name}@{record.scheduled_for.isoformat()}#1"
    assert f"add {claim} " in journal.read_text()  # the claim id travelled in the message's headers
    (stats,) = s.store.stats(name)  # what `autocron stats` and the dashboard read
    assert (stats.runs, stats.succeeded, stats.failed) == (1, 1, 0)


def test_failures_are_retried_by_autocron_each_attempt_a_new_message(
    scheduler: Callable[..., AutoCron], workers: Callable[..., CeleryWorker], celery_queue: str, journal: Path
) -> None:
    """retries=2: three messages (claims #1, #2, #3), two retry events, one final failure callback."""
    workers()
    s = scheduler()
    name = _name("failer")
    events: list[EventKind] = []
    failures: list[BaseException] = []
    s.add_listener(lambda e: events.append(e.kind), kinds=[EventKind.RETRY_SCHEDULED, EventKind.FAILED])
    s.add_task(
        name,
        celery="tests.fail",
        kwargs={"message": "no luck"},
        at=_soon(),
        queue=celery_queue,
        retries=2,
        retry_delay=0.2,
        on_failure=failures.append,
    )
    s.start(blocking=False)
    wait_for(lambda: failures, what="the final failure")
    records = sorted(s.store.history(name), key=lambda r: r.attempt)
    assert [(r.attempt, r.status) for r in records] == [
        (1, RunStatus.FAILED),
        (2, RunStatus.FAILED),
        (3, RunStatus.FAILED),
    ]
    assert all("RuntimeError: no luck" in (r.error or "") for r in records)
    claims = [line.split()[1] for line in journal.read_text().splitlines() if line.startswith("fail ")]
    assert [c.rsplit("#", 1)[1] for c in claims] == ["1", "2", "3"]
    assert events == [EventKind.RETRY_SCHEDULED, EventKind.RETRY_SCHEDULED, EventKind.FAILED]


def test_timeout_becomes_the_celery_time_limit(
    scheduler: Callable[..., AutoCron], workers: Callable[..., CeleryWorker], celery_queue: str, journal: Path
) -> None:
    """timeout=1 stops the task on the worker; the record says timed_out."""
    workers()
    s = scheduler()
    name = _name("sleeper")
    s.add_task(name, celery="tests.sleep", args=(30,), at=_soon(), queue=celery_queue, timeout=1)
    s.start(blocking=False)
    wait_for(lambda: _finished(s, name), what="the timed-out record")
    (record,) = s.store.history(name)
    assert record.status is RunStatus.TIMED_OUT
    assert "timed out after 1s" in (record.error or "")
    assert "sleep-end" not in journal.read_text()


def test_with_no_worker_an_occurrence_expires_and_is_recorded_missed(
    scheduler: Callable[..., AutoCron], workers: Callable[..., CeleryWorker], celery_queue: str, journal: Path
) -> None:
    """No worker: the message expires (misfire_grace_time), the run is recorded missed, the queue
    does not keep it, and a worker started later never runs it."""
    s = scheduler(executor=CeleryExecutor(celeryapp.app, expiry_slack=0.5))
    stale, fresh = _name("stale"), _name("fresh")
    s.add_task(stale, celery="tests.add", args=(1, 1), at=_soon(), queue=celery_queue, misfire_grace_time=1)
    s.start(blocking=False)
    wait_for(lambda: _finished(s, stale), what="the expired record")
    (record,) = s.store.history(stale)
    assert record.status is RunStatus.MISSED
    assert "expired" in (record.error or "")
    with celeryapp.app.connection_for_write() as conn:
        left = conn.default_channel.queue_declare(celery_queue, passive=True).message_count
    assert left == 0  # RabbitMQ dropped it (the message's TTL): nothing piles up
    workers()
    s.add_task(fresh, celery="tests.add", args=(2, 2), at=_soon(), queue=celery_queue)
    wait_for(lambda: _finished(s, fresh), what="the fresh run")
    assert s.store.history(fresh)[0].status is RunStatus.SUCCEEDED
    assert f"{stale}@" not in journal.read_text()


def test_every_task_can_run_on_celery_function_and_command_alike(
    scheduler: Callable[..., AutoCron], workers: Callable[..., CeleryWorker], celery_queue: str, journal: Path
) -> None:
    """AutoCron(executor=CeleryExecutor(app)): functions (by reference) and commands run on a worker
    through autocron.run; executor="local" keeps a task in this process."""
    workers()
    s = scheduler(executor=CeleryExecutor(celeryapp.app), celery_app=None)
    func, command, local = _name("func"), _name("cmd"), _name("local")
    ran_here = threading.Event()
    s.add_task(func, func="celeryapp:local_func", args=(7,), at=_soon(), queue=celery_queue)
    s.add_task(command, command=["echo", "from the worker"], at=_soon(), queue=celery_queue)
    s.add_task(local, func=ran_here.set, at=_soon(), executor="local")
    s.start(blocking=False)
    wait_for(lambda: _finished(s, func) and _finished(s, command) and _finished(s, local), what="three runs")
    assert s.store.history(func)[0].output == "got 7"
    assert "local_func 7" in journal.read_text()
    cmd = s.store.history(command)[0]
    assert cmd.status is RunStatus.SUCCEEDED and "from the worker" in (cmd.output or "")
    assert ran_here.is_set() and s.store.history(local)[0].status is RunStatus.SUCCEEDED


def test_overlap_skip_holds_while_a_run_is_out_on_a_worker(
    scheduler: Callable[..., AutoCron], workers: Callable[..., CeleryWorker], celery_queue: str, journal: Path
) -> None:
    """A run stays running until its outcome arrives: later occurrences are skipped, never overlapped."""
    workers(concurrency=2)
    s = scheduler()
    name = _name("long")
    s.add_task(name, celery="tests.sleep", args=(2.5,), every="1s", queue=celery_queue)
    s.start(blocking=False)
    wait_for(
        lambda: len([r for r in _finished(s, name) if r.status is RunStatus.SUCCEEDED]) >= 2,
        timeout=90,
        what="two finished runs",
    )
    s.stop(timeout=30)
    statuses = [r.status for r in s.store.history(name)]
    assert RunStatus.SKIPPED in statuses
    lines = [line.split()[0] for line in journal.read_text().splitlines() if line.startswith("sleep")]
    for i in range(0, len(lines) - 1, 2):  # strictly start, end, start, end: never two at once
        assert lines[i : i + 2] == ["sleep-start", "sleep-end"]


def test_stop_waits_for_outcomes_of_runs_out_on_workers(
    scheduler: Callable[..., AutoCron], workers: Callable[..., CeleryWorker], celery_queue: str
) -> None:
    """stop() waits for attempts out on Celery as for local ones; then history has their outcome."""
    workers()
    s = scheduler()
    name = _name("tail")
    s.add_task(name, celery="tests.sleep", args=(1.5,), at=_soon(0.2), queue=celery_queue)
    s.start(blocking=False)
    wait_for(lambda: s.store.history(name), what="the claim")
    assert s.stop(timeout=60) is True
    assert s.store.history(name)[0].status is RunStatus.SUCCEEDED
