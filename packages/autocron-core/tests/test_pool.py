"""The worker pool: every job runs once, blocked jobs get every worker, the size is a cap.

Real threads and real (short) time: what is tested is how the pool hands work
to threads.
"""

from __future__ import annotations

import threading
import time

import pytest

from autocron_core._pool import WorkerPool


class Tracker:
    """Counts jobs running at once and which threads ran them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.done = 0
        self.threads: set[str] = set()

    def job(self, seconds: float = 0.0) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.threads.add(threading.current_thread().name)
        if seconds:
            time.sleep(seconds)
        with self.lock:
            self.active -= 1
            self.done += 1


@pytest.fixture
def pool():
    made: list[WorkerPool] = []

    def make(size: int) -> WorkerPool:
        made.append(WorkerPool(size))
        return made[-1]

    yield make
    for p in made:
        p.shutdown(wait=False)


def test_every_job_runs_exactly_once(pool) -> None:
    p = pool(4)
    seen: list[int] = []
    lock = threading.Lock()

    def job(i: int) -> None:
        with lock:
            seen.append(i)

    p.submit_many([lambda i=i: job(i) for i in range(5000)])
    for i in range(5000, 5100):
        p.submit(lambda i=i: job(i))
    assert p.join_idle(timeout=30)
    assert sorted(seen) == list(range(5100))


def test_blocked_jobs_get_every_worker_and_never_more(pool) -> None:
    p = pool(4)
    tracker = Tracker()
    started = time.monotonic()
    p.submit_many([lambda: tracker.job(0.2)] * 8)
    assert p.join_idle(timeout=10)
    elapsed = time.monotonic() - started
    assert tracker.done == 8
    assert tracker.peak == 4  # all four ran at once, never a fifth
    assert elapsed < 0.2 * 8 / 2  # two rounds of four, not eight jobs one after another


def test_jobs_behind_a_stuck_one_still_run(pool) -> None:
    p = pool(2)
    release = threading.Event()
    tracker = Tracker()
    p.submit(release.wait)
    p.submit_many([tracker.job] * 50)
    deadline = time.monotonic() + 5
    while tracker.done < 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tracker.done == 50  # the second worker took over while the first was blocked
    release.set()
    assert p.join_idle(timeout=5)


def test_an_abandoned_thread_is_replaced(pool) -> None:
    p = pool(1)
    stuck = threading.Event()
    entered = threading.Event()
    holder: list[threading.Thread] = []

    def hang() -> None:
        holder.append(threading.current_thread())
        entered.set()
        stuck.wait()

    p.submit(hang)
    assert entered.wait(5)
    p.abandon(holder[0])
    tracker = Tracker()
    p.submit_many([tracker.job] * 10)
    assert p.join_idle(timeout=5)  # the abandoned job no longer counts as busy
    assert tracker.done == 10
    assert holder[0].name not in tracker.threads
    stuck.set()


def test_a_raising_job_does_not_kill_its_worker(pool, caplog) -> None:
    p = pool(1)
    tracker = Tracker()

    def boom() -> None:
        raise RuntimeError("boom")

    p.submit(boom)
    p.submit_many([tracker.job] * 5)
    assert p.join_idle(timeout=5)
    assert tracker.done == 5
    assert "worker job raised" in caplog.text


def test_join_idle_times_out_while_a_job_runs(pool) -> None:
    p = pool(2)
    release = threading.Event()
    p.submit(release.wait)
    assert p.join_idle(timeout=0.05) is False
    release.set()
    assert p.join_idle(timeout=5) is True


def test_shutdown_drops_queued_jobs_and_waits_for_running_ones(pool) -> None:
    p = pool(1)
    tracker = Tracker()
    entered = threading.Event()

    def first() -> None:
        entered.set()
        time.sleep(0.1)
        tracker.job()

    p.submit(first)
    assert entered.wait(5)
    p.submit_many([tracker.job] * 10)
    assert p.shutdown(wait=True, timeout=5) is True
    assert tracker.done == 1  # the running job finished; the ten queued ones were dropped
    with pytest.raises(RuntimeError, match="shut down"):
        p.submit(tracker.job)


def test_shutdown_runs_queued_jobs_that_idle_workers_could_take(pool) -> None:
    """Jobs queued behind a running one are not lost at shutdown while workers are free:
    a plain pool would already be running them."""
    p = pool(4)
    tracker = Tracker()
    release = threading.Event()
    entered = threading.Event()

    def long_job() -> None:
        entered.set()
        release.wait(5)
        tracker.job()

    p.submit(long_job)
    assert entered.wait(5)
    p.submit_many([tracker.job] * 2)  # shut down at once, before any watcher looks
    threading.Timer(0.2, release.set).start()
    assert p.shutdown(wait=True, timeout=5) is True
    assert tracker.done == 3


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_workers=0"):
        WorkerPool(0)
