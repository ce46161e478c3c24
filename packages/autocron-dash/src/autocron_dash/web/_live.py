"""Live pages: a change counter that long-polling requests wait on.

Each page's live part asks ``/live/...?v=N`` (htmx, ``hx-trigger="load"``);
the server holds the request until the counter moves past ``N`` (or
``HOLD`` seconds pass) and answers with the part redrawn, which asks again.
A change reaches the page as soon as the server sees it: at once for the
scheduler's own events and the dashboard's actions, within ``POLL`` seconds
for runs that other processes record in the store (the newest rows are
compared, which is one short index walk).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["HOLD", "POLL", "Changes"]

logger = logging.getLogger("autocron.dash.web")

#: Seconds a live request is held open when nothing changes (times in words go stale slowly).
HOLD = 25.0
#: Seconds between two looks at the store for runs recorded by other processes.
POLL = 0.25
#: Newest rows compared on each look.
_WATCHED_ROWS = 50
#: Looks at the store between two looks at the task definitions (pause state, next runs).
_TASKS_EVERY = 8


class Changes:
    """A version number that moves on every change, and the requests waiting for it to move."""

    def __init__(self) -> None:
        self.version = 0
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Future[None]] = set()

    def close(self) -> None:
        """Answer every waiting request now and every later one at once (the server is stopping)."""
        self.closed = True
        self.bump()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the server's loop, so other threads can report changes to it."""
        self._loop = loop

    @property
    def waiting(self) -> int:
        """Requests waiting now."""
        return len(self._waiters)

    def _bump(self) -> None:
        self.version += 1
        waiters, self._waiters = self._waiters, set()
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def bump(self) -> None:
        """Record a change; safe from any thread (scheduler listeners, action threads)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.version += 1
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._bump()
        else:
            loop.call_soon_threadsafe(self._bump)

    async def wait(self, seen: int, timeout: float) -> int:
        """Return the version once it differs from ``seen``, or after ``timeout`` seconds."""
        if self.version != seen or self.closed:
            return self.version
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(future)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            self._waiters.discard(future)
        return self.version


def fingerprint(source: Any, with_tasks: bool) -> tuple[Any, ...]:
    """What the store looks like now, cheaply: the newest rows, and with ``with_tasks`` the tasks' state."""
    rows = tuple(
        (r.task, r.scheduled_for, r.attempt, r.status, r.finished_at)
        for r in source.store.history(None, _WATCHED_ROWS)
    )
    if not with_tasks:
        return (rows,)
    tasks = tuple((t.name, t.paused, t.next_run, getattr(t, "pause_note", None)) for t in source.tasks())
    return (rows, tasks)


def _look(source_getter: Callable[[], Any], with_tasks: bool) -> tuple[Any, ...]:
    return fingerprint(source_getter(), with_tasks)


async def watch_store(
    changes: Changes,
    read: Callable[[Callable[[], Any]], Any],
    source_getter: Callable[[], Any],
    started: asyncio.Event | None = None,
) -> None:
    """Bump ``changes`` whenever the store's fingerprint changes, looking only while someone waits.

    The first look is taken at once, so a change made before anybody waits
    still counts as a change when somebody does.
    """
    try:
        first = await read(lambda: fingerprint(source_getter(), True))
    finally:
        if started is not None:
            started.set()
    last_rows: Any = first[0]
    last_tasks: Any = first[1]
    turn = 0
    while True:
        await asyncio.sleep(POLL)
        if not changes.waiting:
            continue
        turn += 1
        with_tasks = turn % _TASKS_EVERY == 0 or last_tasks is None
        try:
            seen = await read(functools.partial(_look, source_getter, with_tasks))
        except Exception:  # a busy or briefly unreachable store: look again next turn
            logger.debug("could not read the store's newest rows", exc_info=True)
            continue
        rows = seen[0]
        changed = last_rows is not None and rows != last_rows
        last_rows = rows
        if with_tasks:
            changed = changed or (last_tasks is not None and seen[1] != last_tasks)
            last_tasks = seen[1]
        if changed:
            changes.bump()
