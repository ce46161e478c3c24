"""What the dashboard's buttons do: run now, pause with a note, resume, backfill.

Run now, pause, resume and backfill go through a live scheduler when the
dashboard runs beside one (``autocron start --web``, ``serve_dashboard(scheduler)``).
On a store alone (``autocron dashboard --web``) each action opens a
short-lived, never-started ``AutoCron`` over the store's URL, as ``autocron
pause`` or ``autocron run NAME`` do, so the change lands in the store where a
running daemon picks it up; "run now" then runs in a background thread of the
server and its run is recorded in the store like any other.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from autocron_core.errors import TaskError

__all__ = ["Actions", "PauseInfo", "pause_info"]

logger = logging.getLogger("autocron.dash.web")


class PauseInfo:
    """Why and since when a task is paused, when the scheduler records it."""

    __slots__ = ("at", "by", "note")

    def __init__(self, note: str | None, by: str | None, at: _dt.datetime | None) -> None:
        self.note = note
        self.by = by
        self.at = at


def pause_info(task: Any) -> PauseInfo:
    """The pause note, who paused and when, from ``task`` (``None`` where unset)."""
    at = getattr(task, "paused_at", None)
    return PauseInfo(
        getattr(task, "pause_note", None),
        getattr(task, "paused_by", None),
        at if isinstance(at, _dt.datetime) else None,
    )


class Actions:
    """The dashboard's actions on one scheduler or one store.

    Args:
        scheduler: a live ``AutoCron`` to act through, or ``None``.
        store_target: without a scheduler, what ``AutoCron(store=...)`` opens
            for each action (a store URL, or a writable store object).
        on_change: called after each action, so live pages update at once.
    """

    def __init__(
        self, scheduler: Any = None, store_target: Any = None, on_change: Callable[[], None] | None = None
    ) -> None:
        if scheduler is None and store_target is None:
            raise ValueError("Actions needs a scheduler or a store")
        self.scheduler = scheduler
        self.store_target = store_target
        self._on_change = on_change or (lambda: None)
        self._threads: list[threading.Thread] = []

    @contextlib.contextmanager
    def _scheduler(self) -> Iterator[Any]:
        if self.scheduler is not None:
            yield self.scheduler
            return
        from autocron_core import AutoCron

        owned = isinstance(self.store_target, str)
        scheduler = AutoCron(store=self.store_target, log_level=None)
        try:
            yield scheduler
        finally:
            if owned:
                scheduler.close()  # never started: stop() writes no task state back

    @staticmethod
    def _require(scheduler: Any, name: str) -> None:
        if scheduler.get_task(name=name) is None:
            raise TaskError("name", name, "the name of a defined task")

    def pause(self, name: str, note: str | None = None, by: str | None = None) -> None:
        """Pause ``name`` with an optional note and who paused it.

        Raises:
            TaskError: no task has that name.
        """
        with self._scheduler() as scheduler:
            self._require(scheduler, name)
            scheduler.pause_task(name, note=note or None, by=by)
        self._on_change()

    def resume(self, name: str) -> None:
        """Resume ``name`` from its next occurrence after now.

        Raises:
            TaskError: no task has that name.
        """
        with self._scheduler() as scheduler:
            self._require(scheduler, name)
            scheduler.resume_task(name)
        self._on_change()

    def backfill(self, name: str, start: _dt.datetime, end: _dt.datetime) -> Any:
        """Run the occurrences of ``name`` between ``start`` and ``end`` (what the scheduler returns).

        Raises:
            TaskError: no task has that name.
        """
        with self._scheduler() as scheduler:
            self._require(scheduler, name)
            result = scheduler.backfill(name, start, end)
        self._on_change()
        return result

    def run_now(self, name: str) -> None:
        """Start a run of ``name`` now and return at once; its record lands in the store.

        Raises:
            TaskError: no task has that name.
        """
        if self.scheduler is not None:
            self._require(self.scheduler, name)
            self.scheduler.run_task(name=name, wait=False)
            self._on_change()
            return
        with self._scheduler() as scheduler:  # fail now, in the request, for an unknown name
            self._require(scheduler, name)
        thread = threading.Thread(target=self._run_in_background, args=(name,), name="autocron-web-run")
        thread.daemon = True
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        self._on_change()

    def _run_in_background(self, name: str) -> None:
        try:
            with self._scheduler() as scheduler:
                scheduler.run_task(name=name, wait=True)
        except Exception:  # a background thread has nobody to raise to: the log says what went wrong
            logger.exception("run now of task %r failed to start", name)
        self._on_change()

    def join(self, timeout: float | None = None) -> None:
        """Wait for runs started in the background (tests, and a server shutting down)."""
        for thread in list(self._threads):
            thread.join(timeout)
