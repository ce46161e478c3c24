"""A lean pool of worker threads that can abandon a thread stuck in a timed-out call.

``ThreadPoolExecutor`` cannot give up on a running thread: a sync function that
overruns its timeout would hold a worker forever. Here the scheduler calls
``abandon(thread)``: the pool starts a replacement at once and the stuck thread
exits when (if ever) its call returns, so capacity stays at ``max_workers``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

logger = logging.getLogger("autocron.pool")

Job = Callable[[], None]


class WorkerPool:
    """``size`` daemon threads taking jobs from one queue, started on first use."""

    def __init__(self, size: int, name: str = "autocron-worker") -> None:
        if size < 1:
            raise ValueError(f"max_workers={size!r}: expected at least 1")
        self.size = size
        self._name = name
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._threads: set[threading.Thread] = set()
        self._abandoned: set[threading.Thread] = set()
        self._busy = 0
        self._closing = False
        self._counter = 0

    def submit(self, job: Job) -> None:
        """Queue ``job``; it runs on the next free worker."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the worker pool is shut down")
            self._jobs.append(job)
            if len(self._threads) - len(self._abandoned) < self.size and self._busy + len(self._jobs) > len(
                self._threads
            ) - len(self._abandoned):
                self._spawn()
            self._cond.notify()

    def submit_many(self, jobs: list[Job]) -> None:
        """Queue several jobs under one lock and wake as many workers as can take them."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the worker pool is shut down")
            self._jobs.extend(jobs)
            idle = len(self._threads) - len(self._abandoned) - self._busy
            while len(self._threads) - len(self._abandoned) < self.size and len(self._jobs) > max(idle, 0):
                self._spawn()
                idle += 1
            self._cond.notify(len(jobs))

    def _spawn(self) -> None:
        self._counter += 1
        thread = threading.Thread(target=self._work, name=f"{self._name}-{self._counter}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def abandon(self, thread: threading.Thread) -> None:
        """Give up on ``thread`` (stuck in a timed-out call) and start a replacement."""
        with self._cond:
            if thread in self._threads and thread not in self._abandoned:
                self._abandoned.add(thread)
                self._busy -= 1
                if not self._closing:
                    self._spawn()
                self._cond.notify_all()  # shutdown() and join_idle() count busy workers

    def _work(self) -> None:
        me = threading.current_thread()
        cond = self._cond
        while True:
            with cond:
                while not self._jobs and not self._closing:
                    cond.wait()
                if not self._jobs:  # closing and drained
                    self._threads.discard(me)
                    cond.notify_all()
                    return
                job = self._jobs.popleft()
                self._busy += 1
            try:
                job()
            except BaseException:  # a job must never kill its worker
                logger.exception("worker job raised")
            with cond:
                if me in self._abandoned:
                    self._abandoned.discard(me)
                    self._threads.discard(me)
                    cond.notify_all()
                    return
                self._busy -= 1
                if not self._jobs:
                    cond.notify_all()

    @property
    def busy(self) -> int:
        """Jobs running now (abandoned ones excluded)."""
        return self._busy

    def join_idle(self, timeout: float | None = None) -> bool:
        """Wait until no job is queued or running; whether that happened in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._jobs or self._busy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Take no new jobs, drop queued ones, and wait for running ones (up to ``timeout``).

        Returns:
            Whether every running job finished in time.
        """
        with self._cond:
            self._closing = True
            dropped = len(self._jobs)
            self._jobs.clear()
            self._cond.notify_all()
        if dropped:
            logger.info("dropped %d queued runs at shutdown", dropped)
        if not wait:
            return self._busy == 0
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._busy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True
