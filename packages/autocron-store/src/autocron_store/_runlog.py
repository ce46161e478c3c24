"""Run records held in memory, bounded per task and by age (the file store's history)."""

from __future__ import annotations

import datetime as _dt
import heapq
import threading
from collections import OrderedDict

from autocron_core.records import RunRecord

__all__ = ["RunLog"]

_Key = tuple[_dt.datetime, int]


class RunLog:
    """Thread-safe run records per task; the oldest-inserted go first past ``keep_runs``."""

    def __init__(self, keep_runs: int | None, keep_days: float | None, prune_every: int) -> None:
        self.keep_runs = keep_runs
        self.keep_days = keep_days
        self._prune_every = prune_every
        self._finished = 0
        self._lock = threading.Lock()
        self._runs: dict[str, OrderedDict[_Key, RunRecord]] = {}

    def _put(self, record: RunRecord, only_new: bool) -> bool:
        key = (record.scheduled_for, record.attempt)
        runs = self._runs.setdefault(record.task, OrderedDict())
        if only_new and key in runs:
            return False
        runs[key] = record
        if self.keep_runs is not None and len(runs) > self.keep_runs:
            runs.popitem(last=False)
        return True

    def claim(self, record: RunRecord) -> bool:
        """Insert unless the key exists; whether it was inserted."""
        with self._lock:
            return self._put(record, only_new=True)

    def finish(self, record: RunRecord) -> None:
        """Insert or replace; every ``prune_every`` calls, drop records past ``keep_days``."""
        with self._lock:
            self._put(record, only_new=False)
            self._finished += 1
            if self._finished >= self._prune_every:
                self._finished = 0
                self.prune_locked()

    def prune_locked(self) -> int:
        """Drop records scheduled before ``keep_days`` ago (lock held); how many went."""
        if self.keep_days is None:
            return 0
        cutoff = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=self.keep_days)
        removed = 0
        for runs in self._runs.values():
            old = [key for key in runs if key[0] < cutoff]
            for key in old:
                del runs[key]
            removed += len(old)
        return removed

    def prune(self) -> int:
        """``prune_locked`` under the lock."""
        with self._lock:
            return self.prune_locked()

    def newest(self, name: str | None, limit: int) -> list[RunRecord]:
        """The newest ``limit`` records by occurrence then attempt."""
        with self._lock:
            if name is not None:
                records = list(self._runs.get(name, {}).values())
            else:
                records = [r for runs in self._runs.values() for r in runs.values()]
        return heapq.nlargest(limit, records, key=lambda r: (r.scheduled_for, r.attempt))
