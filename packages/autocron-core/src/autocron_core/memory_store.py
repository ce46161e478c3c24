"""The in-memory store: the default, for embedded apps that need no persistence."""

from __future__ import annotations

import datetime as _dt
import heapq
import threading
from collections import OrderedDict
from typing import Any

from .protocols import TaskStats
from .records import RunRecord, RunStatus
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

    def stats(self, name: str | None = None) -> list[TaskStats]:
        """Per-task aggregates over the kept history."""
        with self._lock:
            names = [name] if name is not None else sorted(self._runs)
            groups = {n: list(self._runs.get(n, {}).values()) for n in names}
        return [_stats(n, records) for n, records in groups.items()]

    def close(self) -> None:
        """Nothing to release."""


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _stats(name: str, records: list[RunRecord]) -> TaskStats:
    counts = {status: 0 for status in RunStatus}
    for record in records:
        counts[record.status] += 1
    durations = [d for d in (r.duration for r in records if r.status is RunStatus.SUCCEEDED) if d is not None]
    started = [r.started_at for r in records if r.started_at is not None]
    succeeded = [r.finished_at for r in records if r.status is RunStatus.SUCCEEDED and r.finished_at]
    lateness = [(r.started_at - r.scheduled_for).total_seconds() for r in records if r.started_at is not None]
    return TaskStats(
        task=name,
        runs=sum(1 for r in records if r.started_at is not None),
        succeeded=counts[RunStatus.SUCCEEDED],
        failed=counts[RunStatus.FAILED],
        timed_out=counts[RunStatus.TIMED_OUT],
        skipped=counts[RunStatus.SKIPPED],
        missed=counts[RunStatus.MISSED],
        abandoned=counts[RunStatus.ABANDONED],
        duration_p50=_percentile(durations, 0.5),
        duration_p95=_percentile(durations, 0.95),
        duration_max=max(durations) if durations else None,
        last_run=max(started) if started else None,
        last_success=max(succeeded) if succeeded else None,
        lateness_p50=_percentile(lateness, 0.5),
        lateness_p95=_percentile(lateness, 0.95),
    )


def open_memory_store(url: str = "memory://", **_: Any) -> MemoryStore:
    """Entry-point factory for ``memory://`` (takes ``?history_limit=N``)."""
    limit = DEFAULT_HISTORY_LIMIT
    if "history_limit=" in url:
        limit = int(url.split("history_limit=", 1)[1].split("&", 1)[0])
    return MemoryStore(history_limit=limit)
