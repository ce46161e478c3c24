"""The in-memory store: the default, for embedded apps that need no persistence."""

from __future__ import annotations

import datetime as _dt
import heapq
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from .protocols import TaskStats
from .records import RunRecord
from .stats import stats_by_task
from .task import Task

__all__ = ["DEFAULT_HISTORY_LIMIT", "MemoryStore", "open_memory_store"]

#: Run records kept per task; older ones are dropped first.
DEFAULT_HISTORY_LIMIT = 1000
#: Finished runs between two age checks when ``keep_days`` is set.
PRUNE_EVERY = 100

_Key = tuple[_dt.datetime, int]


class MemoryStore:
    """Keeps tasks and a bounded run history per task in this process only.

    Args:
        history_limit: run records kept per task, the oldest going first
            (``None``: no limit).
        keep_days: also drop records of occurrences older than this many days,
            checked every ``PRUNE_EVERY`` finished runs (``None``: no age limit).
    """

    persistent = False

    def __init__(
        self, history_limit: int | None = DEFAULT_HISTORY_LIMIT, keep_days: float | None = None
    ) -> None:
        if history_limit is not None and history_limit < 1:
            raise ValueError(f"history_limit={history_limit!r}: expected at least 1, or None")
        if keep_days is not None and not keep_days > 0:
            raise ValueError(f"keep_days={keep_days!r}: expected a number of days above 0, or None")
        self.history_limit = history_limit
        self.keep_days = keep_days
        self._finished = 0
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._runs: dict[str, RunRecord | OrderedDict[_Key, RunRecord]] = {}

    def load_tasks(self) -> list[Task]:
        with self._lock:
            return list(self._tasks.values())

    def save_task(self, task: Task) -> None:
        with self._lock:
            self._tasks[task.name] = task

    def save_state(self, task: Task) -> None:
        with self._lock:
            if task.name in self._tasks:
                self._tasks[task.name] = task

    def delete_task(self, name: str) -> bool:
        with self._lock:
            return self._tasks.pop(name, None) is not None

    # A task's history is its lone record while it has one (one-shot tasks, and
    # every task until its second run), then an OrderedDict by (occurrence,
    # attempt), oldest first. A hundred thousand one-shot tasks then cost no
    # container each (about 400 bytes apiece), and no objects the garbage collector
    # would otherwise walk on every full collection.

    def claim_run(self, record: RunRecord) -> bool:
        name = record.task
        with self._lock:
            runs = self._runs.get(name)
            if runs is None:
                self._runs[name] = record
                return True
            key = (record.scheduled_for, record.attempt)
            if isinstance(runs, RunRecord):
                if (runs.scheduled_for, runs.attempt) == key:
                    return False
                runs = self._grow_locked(runs)
            elif key in runs:
                return False
            self._add_locked(runs, key, record)
            return True

    def finish_run(self, record: RunRecord) -> None:
        name = record.task
        with self._lock:
            runs = self._runs.get(name)
            if runs is None or (
                isinstance(runs, RunRecord)
                and runs.scheduled_for == record.scheduled_for
                and runs.attempt == record.attempt
            ):
                self._runs[name] = record  # the first record, or the lone claim now finished
            else:
                if isinstance(runs, RunRecord):
                    runs = self._grow_locked(runs)
                # A claimed run keeps its place in the history.
                self._add_locked(runs, (record.scheduled_for, record.attempt), record)
            if self.keep_days is not None:
                self._finished += 1
                if self._finished >= PRUNE_EVERY:
                    self._finished = 0
                    self._prune_locked()

    def claim_runs(self, records: Sequence[RunRecord]) -> list[bool]:
        """Claim each record as ``claim_run`` does; whether each was inserted."""
        return [self.claim_run(record) for record in records]

    def finish_runs(self, records: Sequence[RunRecord], tasks: Sequence[Task] = ()) -> None:
        """Finish each record as ``finish_run`` does and save each task's state."""
        for record in records:
            self.finish_run(record)
        for task in tasks:
            self.save_state(task)

    def _grow_locked(self, lone: RunRecord) -> OrderedDict[_Key, RunRecord]:
        """A task's second record is coming: its history becomes a container."""
        runs = self._runs[lone.task] = OrderedDict((((lone.scheduled_for, lone.attempt), lone),))
        return runs

    def _add_locked(self, runs: OrderedDict[_Key, RunRecord], key: _Key, record: RunRecord) -> None:
        runs[key] = record
        if self.history_limit is not None and len(runs) > self.history_limit:
            runs.popitem(last=False)

    def _records_locked(self, name: str) -> list[RunRecord]:
        runs = self._runs.get(name)
        if runs is None:
            return []
        return [runs] if isinstance(runs, RunRecord) else list(runs.values())

    def prune(self) -> int:
        """Drop records of occurrences older than ``keep_days``; how many went."""
        with self._lock:
            return self._prune_locked()

    def _prune_locked(self) -> int:
        if self.keep_days is None:
            return 0
        cutoff = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=self.keep_days)
        removed = 0
        for name, runs in list(self._runs.items()):
            if isinstance(runs, RunRecord):
                if runs.scheduled_for < cutoff:
                    del self._runs[name]
                    removed += 1
                continue
            old = [key for key in runs if key[0] < cutoff]
            for key in old:
                del runs[key]
            removed += len(old)
        return removed

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        with self._lock:
            if name is not None:
                records = self._records_locked(name)
            else:
                records = [r for task in self._runs for r in self._records_locked(task)]
        return heapq.nlargest(limit, records, key=lambda r: (r.scheduled_for, r.attempt))

    def stats(
        self, name: str | None = None, since: _dt.datetime | None = None, last_n: int | None = None
    ) -> list[TaskStats]:
        """Per-task aggregates over the kept history, within an optional window."""
        return stats_by_task(self.history(name, limit=10**9), name, since, last_n)

    def close(self) -> None:
        """Nothing to release."""


def open_memory_store(url: str = "memory://", **_: Any) -> MemoryStore:
    """Entry-point factory for ``memory://`` (takes ``?history_limit=N``)."""
    limit = DEFAULT_HISTORY_LIMIT
    if "history_limit=" in url:
        limit = int(url.split("history_limit=", 1)[1].split("&", 1)[0])
    return MemoryStore(history_limit=limit)
