"""Group commit of finished runs: one store writer thread, one transaction per window.

A persistent store that offers ``finish_runs`` (a ``BatchStore``) gets its
finished runs and task states from this writer instead of from each worker:
the first finish of a quiet moment waits at most ``WINDOW`` seconds for
others to join it, then the whole group goes to the store in one transaction.
What a crash can cost is therefore bounded: the finishes still waiting here
(at most ``WINDOW`` seconds' worth, and never more than ``MAX_PENDING``
records). Their claims stay ``running`` in the store and end ``abandoned``
when their lease expires; they are never lost and never run twice.
"""

from __future__ import annotations

import threading
import time

from ._lazylog import LazyLogger

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)

if TYPE_CHECKING:
    from .protocols import BatchStore
    from .records import RunRecord
    from .task import Task

__all__ = ["MAX_BATCH", "MAX_PENDING", "WINDOW", "StoreWriter"]

logger = LazyLogger("autocron.store.writer")

#: Seconds the first finish of a group waits for others before it is written.
WINDOW = 0.02
#: Records written in one transaction at most.
MAX_BATCH = 2000
#: Records waiting at most; a finishing worker blocks beyond it (the store is
#: slower than the runs), which also bounds what a crash can cost.
MAX_PENDING = 4 * MAX_BATCH


class StoreWriter:
    """Writes finished runs and task states to a ``BatchStore`` in groups, on a thread of its own."""

    def __init__(self, store: BatchStore, window: float = WINDOW) -> None:
        self._store = store
        self._window = window
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._records: list[RunRecord] = []
        self._tasks: dict[str, Task] = {}
        self._queued = 0  # puts ever made
        self._taken = 0  # puts taken into the group being written
        self._written = 0  # puts whose group went to the store (written, or given up on and logged)
        self._urgent = False  # a flush() waits: write without waiting out the window
        self._stopping = False
        self._thread: threading.Thread | None = None

    def put(self, record: RunRecord | None, task: Task | None) -> None:
        """Queue a finished run and/or a task whose state must be saved."""
        # The condition's own lock, taken directly: Condition.__enter__/__exit__ are
        # Python frames, about a fifth of put()'s CPU (yappi), once per run.
        with self._lock:
            while len(self._records) >= MAX_PENDING and self._thread is not None:
                self._cond.wait(1.0)
            self._queued += 1
            if record is not None:
                self._records.append(record)
            if task is not None:
                self._tasks[task.name] = task  # one save of the latest state per group
            # _run clears _thread when it ends (is_alive() per put was 5 % of a persisted burst's CPU).
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="autocron-store-writer", daemon=True)
                self._thread.start()
            elif len(self._records) == 1 or len(self._records) >= MAX_BATCH:
                self._cond.notify_all()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything queued so far is written; whether that happened in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._queued
            while self._written < target:
                if self._thread is None or not self._thread.is_alive():
                    return False
                self._urgent = True
                self._cond.notify_all()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Write what is queued, then end the thread (``put`` starts a new one)."""
        done = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return done

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            with self._cond:  # ended by an error: the next put() starts a new thread
                if self._thread is threading.current_thread():
                    self._thread = None
                self._cond.notify_all()

    def _loop(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._records and not self._tasks:
                    if self._stopping:
                        self._thread = None
                        cond.notify_all()
                        return
                    cond.wait()
                # Group: wait out the window for more finishes, unless the group is
                # full or someone waits for it (flush).
                deadline = time.monotonic() + self._window
                while len(self._records) < MAX_BATCH and not self._urgent and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    cond.wait(left)
                records = self._records[:MAX_BATCH]
                del self._records[:MAX_BATCH]
                tasks = list(self._tasks.values())
                self._tasks.clear()
                # The puts of this group: all of them, unless records were left for the next.
                puts = self._queued - self._taken if not self._records else len(records)
                self._taken += puts
                if not self._records:
                    self._urgent = False
                cond.notify_all()  # a put() blocked at MAX_PENDING may go on
            self._write(records, tasks)
            with cond:
                self._written += puts
                cond.notify_all()

    def _write(self, records: list[RunRecord], tasks: list[Task]) -> None:
        try:
            self._store.finish_runs(records, tasks)
            return
        except Exception:
            logger.exception("could not record %d finished run(s) together; trying one by one", len(records))
        # One bad record must not cost the others theirs.
        for record in records:
            try:
                self._store.finish_run(record)
            except Exception:
                logger.exception("task %r: could not record the run of %s", record.task, record.scheduled_for)
        for task in tasks:
            try:
                self._store.save_state(task)
            except Exception:
                logger.exception("task %r: could not save its state", task.name)
