"""A lean pool of worker threads, sized by what the GIL lets run, that can give up a stuck thread.

Two things set it apart from ``ThreadPoolExecutor``:

* **Abandoning a stuck thread.** A sync function that overruns its timeout
  cannot be stopped in Python; the scheduler calls ``abandon(thread)``, the pool
  starts a replacement at once and the stuck thread exits when (if ever) its
  call returns, so capacity stays at ``size``.
* **Adding threads only when they can help.** Under the GIL, several threads
  running short Python jobs are slower than one: they spend their time handing
  the interpreter lock to each other (measured here: 10,000 no-op runs cost
  twice the CPU with four busy workers as with one). So a worker that finishes
  a job goes on with the next queued one, and queued jobs wake another worker
  only when none is running. While jobs wait behind running ones, one idle
  worker *watches*, every ``stall`` seconds: if it gets the interpreter at once
  when it wakes, and again at two quick looks after that, nobody is computing
  (the running jobs wait on I/O, a sleep, a subprocess), so idle workers join
  in, as many as the waiting jobs need. If it
  had to wait for the interpreter while two or more workers kept finishing
  jobs, they are competing for it, and one of them steps back after its job.
  A burst of short jobs is drained by one thread at full speed; a burst of
  jobs that block gets every thread within one ``stall`` and the two looks
  (2.4 ms by default).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from ._lazylog import LazyLogger

logger = LazyLogger("autocron.pool")

Job = Callable[[], None]

#: How often the watching worker looks at the running ones while jobs wait (seconds).
STALL = 0.002
#: A watcher woken later than this past its deadline had to wait for the interpreter:
#: some thread was running Python, so another worker would only compete with it.
GIL_BUSY = 0.0005
#: How much longer the watcher waits between looks while every worker is taken.
FULL_FACTOR = 25
#: Looks in a row that must find the interpreter free before idle workers are called
#: in, the ones after the first ``PROBE_GAP`` apart. One free moment proves little:
#: two threads computing hand the interpreter over whenever one waits on a lock,
#: and a watcher that wakes then would call in workers that only compete (seen:
#: one dispatch of 10,000 short runs in five took twice as long, four workers
#: switching 5,000 times each). Blocked jobs leave it free at every look.
PROBES = 3
PROBE_GAP = 0.0002


class WorkerPool:
    """Up to ``size`` daemon threads running jobs from one queue (and one watching while
    jobs wait), started on first use."""

    def __init__(self, size: int, name: str = "autocron-worker", stall: float = STALL) -> None:
        if size < 1:
            raise ValueError(f"max_workers={size!r}: expected at least 1")
        self.size = size
        self.stall = stall
        self._name = name
        self._jobs: deque[Job] = deque()
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # idle workers wait here for jobs
        # join_idle() and shutdown() wait here, so a worker going idle never wakes
        # the other idle workers.
        self._idle = threading.Condition(lock)
        self._idle_waiters = 0
        self._threads: set[threading.Thread] = set()
        self._abandoned: set[threading.Thread] = set()
        self._busy = 0  # workers running a job (abandoned ones excluded)
        self._parked = 0  # workers waiting in _cond
        self._done_by: dict[threading.Thread, int] = {}  # jobs finished, per worker
        self._watcher: threading.Thread | None = None
        self._joining = 0  # workers told to take a job, not yet running one
        self._shed = 0  # workers asked to step back after their job (they compete for the GIL)
        self._closing = False
        self._counter = 0

    def submit(self, job: Job) -> None:
        """Queue ``job``; it runs on the next free worker."""
        self.submit_many((job,))

    def submit_many(self, jobs: Sequence[Job]) -> None:
        """Queue several jobs under one lock (the scheduler hands over a batch at once)."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the worker pool is shut down")
            self._jobs.extend(jobs)
            self._wake()

    def _live(self) -> int:
        return len(self._threads) - len(self._abandoned)

    def _wake(self) -> None:
        """Jobs are queued (lock held): make sure a worker runs them, and one watches."""
        if self._busy + self._joining == 0:
            self._joining += 1  # one worker must start now
        elif self._watcher is not None:
            return  # running workers will take them; the watcher covers the rest
        if self._parked:
            self._cond.notify()
        elif self._live() <= self.size:  # size workers running jobs, and one watching
            self._spawn()

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
                self._notify_idle()  # shutdown() and join_idle() count busy workers

    def _work(self) -> None:
        me = threading.current_thread()
        cond = self._cond
        jobs = self._jobs
        done_by = self._done_by
        finished = 0
        job: Job | None = None
        with cond:
            while True:
                if job is None:
                    job = self._next_job(me, False)
                else:  # account for the job just run
                    if me in self._abandoned:
                        self._abandoned.discard(me)
                        self._threads.discard(me)
                        done_by.pop(me, None)
                        self._notify_idle()
                        return
                    self._busy -= 1
                    finished += 1
                    done_by[me] = finished
                    if jobs and not self._shed:  # the common case: go on with the next job
                        # _take() inline: a call per job is a fifth of the pool's cost per job.
                        job = jobs.popleft()
                        self._busy += 1
                        if jobs and self._watcher is None:
                            self._wake()  # someone must watch the rest
                    else:
                        job = self._next_job(me, True)
                if job is None:  # closing and drained
                    self._threads.discard(me)
                    done_by.pop(me, None)
                    self._notify_idle()
                    return
                cond.release()
                try:
                    job()
                except BaseException:  # a job must never kill its worker
                    logger.exception("worker job raised")
                finally:
                    cond.acquire()

    def _next_job(self, me: threading.Thread, continuing: bool) -> Job | None:
        """Take the job this worker runs next (lock held), waiting as long as it must.

        A worker that just finished a job goes on with the next one unless asked
        to step back; an idle one takes a job when nobody runs any or when it
        was called in, and otherwise watches the running workers (or parks while
        another watches). ``None`` means the pool is closing and no job is left.
        """
        jobs = self._jobs
        while True:
            if jobs:
                if continuing and self._shed and self._busy:
                    self._shed -= 1  # others are cycling through jobs: leave them to it
                    continuing = False
                called_in = self._joining and self._watcher is not me
                if continuing or called_in or not self._busy or self._closing:
                    if self._joining and not continuing:
                        self._joining -= 1
                    if self._watcher is me:
                        self._watcher = None
                    return self._take()
                if self._watcher is None or self._watcher is me:
                    self._watch(me)
                    continue
            else:
                if self._watcher is me:
                    self._watcher = None
                self._joining = self._shed = 0  # nothing waits any more
                if not self._busy:
                    self._notify_idle()
                if self._closing:
                    return None
            continuing = False
            self._parked += 1
            try:
                self._cond.wait()
            finally:
                self._parked -= 1

    def _take(self) -> Job:
        """Take the next queued job to run (lock held, a job queued)."""
        jobs = self._jobs
        job = jobs.popleft()
        self._busy += 1
        if jobs and self._watcher is None:
            self._wake()  # someone must watch the rest
        return job

    def _watch(self, me: threading.Thread) -> None:
        """Look at the running workers every ``stall`` seconds while jobs wait (lock held).

        Returns when there is nothing to watch any more, or when nobody runs a
        job (the caller then takes one). The watcher itself runs no job while
        others do: it is the one thread beyond ``size``, and only while jobs wait.
        """
        self._watcher = me
        seen = dict(self._done_by)
        free = 0  # looks in a row that found the interpreter free
        busy_looks = 0  # looks in a row that found it taken
        while self._jobs and not self._closing and self._watcher is me and self._busy:
            # With every worker taken, nobody can be called in: only asking cyclers to
            # step back is left, and that can wait longer (long blocking jobs with runs
            # queued behind them would otherwise cost 500 wake-ups a second).
            if free:
                interval = PROBE_GAP
            elif self._busy + self._joining < self.size:
                # Each look takes the interpreter from a computing worker: while they
                # compute, look less often (2, 4, 8 ... up to 50 ms apart).
                interval = self.stall * min(FULL_FACTOR, 1 << busy_looks)
            else:
                interval = self.stall * FULL_FACTOR
            deadline = time.monotonic() + interval
            self._parked += 1
            try:
                notified = self._cond.wait(interval)
            finally:
                self._parked -= 1
            late = time.monotonic() - deadline
            if notified or not self._jobs or self._closing or self._watcher is not me or not self._busy:
                free = 0
                continue  # the loop condition (or the caller) decides
            if late < GIL_BUSY:
                # The interpreter was free: the running jobs may be blocked, not computing.
                busy_looks = 0
                free += 1
                if free >= PROBES or self._busy + self._joining >= self.size:
                    free = 0
                    self._call_in()  # with every worker taken, this only cancels step-backs
                continue
            free = 0
            busy_looks = min(busy_looks + 1, 5)
            cycling = sum(1 for thread, count in self._done_by.items() if seen.get(thread) != count)
            if cycling > 1:
                self._shed = cycling - 1
            seen = dict(self._done_by)
        if self._watcher is me:
            self._watcher = None

    def _call_in(self) -> None:
        """Let as many idle workers as the waiting jobs need take one (the watcher stays)."""
        self._shed = 0
        wanted = min(len(self._jobs), self.size - self._busy - self._joining)
        if wanted <= 0:
            return
        self._joining += wanted
        woken = min(wanted, self._parked)
        if woken:
            self._cond.notify(woken)
        for _ in range(wanted - woken):
            if self._live() > self.size:  # size workers running jobs, and this one watching
                break
            self._spawn()

    def _notify_idle(self) -> None:
        if self._idle_waiters:
            self._idle.notify_all()

    def _wait_idle(self, timeout: float | None) -> None:
        self._idle_waiters += 1
        try:
            # Waits past TIMEOUT_MAX (about 49 days on Windows) raise OverflowError.
            self._idle.wait(None if timeout is None else min(timeout, threading.TIMEOUT_MAX))
        finally:
            self._idle_waiters -= 1

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
                self._wait_idle(remaining)
        return True

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Take no new jobs, drop the queued ones no idle worker could take, and wait
        for the others to run (up to ``timeout``).

        Returns:
            Whether every running job finished in time.
        """
        with self._cond:
            self._closing = True
            # A plain pool would already run as many queued jobs as it has idle
            # workers: start those (this one may have held them back to spare the
            # GIL) and drop only the ones beyond max_workers, newest first.
            keep = max(0, min(len(self._jobs), self.size - self._busy))
            dropped = len(self._jobs) - keep
            for _ in range(dropped):
                self._jobs.pop()
            for _ in range(keep - self._parked):
                if self._live() > self.size:
                    break
                self._spawn()
            self._cond.notify_all()
        if dropped:
            logger.info("dropped %d queued runs at shutdown", dropped)
        if not wait:
            return self._busy == 0
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._busy or self._jobs:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._wait_idle(remaining)
        return True
