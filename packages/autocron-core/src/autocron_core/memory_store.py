"""The in-memory store: the default, for embedded apps that need no persistence."""

from __future__ import annotations

import datetime as _dt
import heapq
import threading
from collections import OrderedDict
from typing import Any

from .protocols import TaskStats
from .records import RunRecord
from .stats import stats_by_task
from .task import Task

__all__ = ["DEFAULT_HISTORY_LIMIT", "MemoryStore", "open_memory_store"]

#: Run records kept per task; older ones are dropped first.
DEFAULT_HISTORY_LIMIT = 1000

_Key = tuple[_dt.datetime, int]


class MemoryStore:
    """Keeps tasks and a bounded run history per task in this process only."""

    persistent = False

    def __init__(self, history_limit: int = DEFAULT_HISTORY_LIMIT) -> None:
        if history_limit < 1:
            raise ValueError(f"history_limit={history_limit!r}: expected at least 1")
        self.history_limit = history_limit
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._runs: dict[str, OrderedDict[_Key, RunRecord]] = {}

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

    def claim_run(self, record: RunRecord) -> bool:
        key = (record.scheduled_for, record.attempt)
        with self._lock:
            runs = self._runs.get(record.task)
            if runs is None:
                runs = self._runs[record.task] = OrderedDict()
            elif key in runs:
                return False
            runs[key] = record
            if len(runs) > self.history_limit:
                runs.popitem(last=False)
            return True

    def finish_run(self, record: RunRecord) -> None:
        key = (record.scheduled_for, record.attempt)
        with self._lock:
            runs = self._runs.setdefault(record.task, OrderedDict())
            runs[key] = record
            if len(runs) > self.history_limit:
                runs.popitem(last=False)

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        with self._lock:
            if name is not None:
                records = list(self._runs.get(name, {}).values())
            else:
                records = [r for runs in self._runs.values() for r in runs.values()]
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
