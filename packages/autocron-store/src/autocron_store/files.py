"""``FileStore``: tasks in a YAML or JSON document, written atomically.

The document is ``{version: 2, saved_at, tasks: [Task.to_dict(), ...]}``.
Every change rewrites the whole file through a temporary file in the same
folder (fsync, rename, fsync of the folder), so a crash leaves the old or the
new document, never a mix. Writers in several processes take turns through a
lock file beside the document, and each re-reads the document under that lock
before applying its own change: a change touches only the tasks it names, so
concurrent writers never lose each other's tasks. A temporary copy left by a
writer that was killed mid-save is removed by the next save. Run history is kept in memory only: a file is a
place for definitions, not a log (use the SQL store for history that lasts).
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
from typing import Any

from autocron_core.errors import TaskError
from autocron_core.memory_store import MemoryStore
from autocron_core.protocols import TaskStats
from autocron_core.records import RunRecord
from autocron_core.schedules import from_utc_us
from autocron_core.task import Task

from ._atomic import atomic_write, remove_stale_temps
from ._document import document_format, dump_document, entries_of, read_document, scrub_notifier_secrets
from ._filelock import locked
from .retention import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_RUNS, check_retention

__all__ = ["FileStore"]


def _state(task: Task) -> dict[str, Any]:
    def iso(us: int | None) -> str | None:
        if us is None:
            return None
        try:
            return from_utc_us(us).isoformat()
        except OverflowError:
            raise TaskError("next_run", us, "a time within years 1 to 9999 in UTC") from None

    return {
        "next_run": iso(task.next_run_us),
        "last_run": iso(task.last_run_us),
        "run_count": task.run_count,
        "fail_count": task.fail_count,
        "paused": task.paused,
        "last_status": task.last_status,
    }


class FileStore:
    """A ``Store`` over one YAML or JSON file (the format follows the suffix).

    Args:
        path: the document; ``.yaml``/``.yml`` or ``.json``. It need not exist yet.
        keep_runs: run records kept per task (in memory).
        keep_days: run records scheduled longer ago than this are dropped
            (checked every few hundred finished runs).

    Raises:
        ConfigError: the suffix is neither YAML nor JSON.
    """

    persistent = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keep_runs: int | None = DEFAULT_KEEP_RUNS,
        keep_days: float | None = DEFAULT_KEEP_DAYS,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.format = document_format(self.path)
        self.keep_runs, self.keep_days = check_retention(keep_runs, keep_days)
        self._lock = threading.RLock()
        self._entries: dict[str, Any] | None = None
        self._seen: tuple[int, ...] | None = None
        self._runs = MemoryStore(history_limit=self.keep_runs, keep_days=self.keep_days)  # history: in memory

    def __repr__(self) -> str:
        return f"FileStore({self.path!r})"

    # -- definitions --------------------------------------------------------
    def _stat(self) -> tuple[int, ...] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        # Every save renames a new file into place, so the inode changes even within one mtime tick.
        return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)

    def _read(self) -> list[Task]:
        self._entries = None
        seen = self._stat()
        if seen is None:
            self._entries, self._seen = {}, None
            return []
        entries, tasks = read_document(self.path)
        self._entries = {task.name: entry for entry, task in zip(entries, tasks, strict=True)}
        self._seen = seen
        return tasks

    def _loaded(self) -> dict[str, Any]:
        # Called with the file locked: mutations start from what is on disk now (another
        # process may have saved since); a corrupt file raises here and stays untouched.
        if self._entries is None or self._stat() != self._seen:
            self._read()
        return self._entries  # type: ignore[return-value]

    def _flush(self) -> None:
        # Called with the file locked, so any temporary copy present is a dead writer's.
        if self._entries is None:
            return
        # A hand-written notifier password is read, never written back; task arguments stay as written.
        entries = [scrub_notifier_secrets(entry, f"task {name!r}") for name, entry in self._entries.items()]
        data = dump_document(entries, self.format)
        remove_stale_temps(self.path)
        atomic_write(self.path, data)
        self._seen = self._stat()

    def load_tasks(self) -> list[Task]:
        """Every task in the file, with its state (an empty list when the file does not exist).

        Raises:
            ConfigError: corrupt, truncated or newer file, or tasks that cannot
                be rebuilt (all listed, with their lines).
        """
        with self._lock:
            return self._read()

    def write_tasks(self, tasks: list[Task]) -> int:
        """Replace the whole file with ``tasks``; returns how many were written.

        Raises:
            TaskError: listing every function task that is not importable as
                ``module:qualname``; the file is not touched then.
            StoreError: the file could not be written; the old one is intact.
        """
        entries = entries_of(tasks)
        with self._lock, locked(self.path):
            self._entries = {entry["name"]: entry for entry in entries}
            self._flush()
        return len(entries)

    def save_task(self, task: Task) -> None:
        """Insert or replace ``task`` and rewrite the file; other tasks stay as the file has them.

        Raises:
            TaskError: the task cannot be written (see ``entries_of``); the file is untouched.
        """
        (entry,) = entries_of([task])
        with self._lock, locked(self.path):
            self._loaded()[task.name] = entry
            self._flush()

    def save_state(self, task: Task) -> None:
        """Update the task's state in the file (nothing when the file does not hold it)."""
        state = _state(task)
        with self._lock, locked(self.path):
            entries = self._loaded()
            entry = entries.get(task.name)
            if entry is None:
                return
            entries[task.name] = {**entry, "state": state}
            self._flush()

    def delete_task(self, name: str) -> bool:
        """Remove ``name`` from the file; whether it was there."""
        with self._lock, locked(self.path):
            entries = self._loaded()
            if entries.pop(name, None) is None:
                return False
            self._flush()
            return True

    # -- runs (in memory) -------------------------------------------------------
    def claim_run(self, record: RunRecord) -> bool:
        """Insert ``record`` unless its key exists (in this process's memory)."""
        return self._runs.claim_run(record)

    def finish_run(self, record: RunRecord) -> None:
        """Replace the record with the same key."""
        self._runs.finish_run(record)

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The newest ``limit`` records kept in memory, newest first."""
        return self._runs.history(name, limit)

    def stats(
        self, name: str | None = None, since: _dt.datetime | None = None, last_n: int | None = None
    ) -> list[TaskStats]:
        """Per-task aggregates over the kept history (see ``SqlStore.stats``)."""
        return self._runs.stats(name, since, last_n)

    def close(self) -> None:
        """Nothing to release: every change is already on disk."""
