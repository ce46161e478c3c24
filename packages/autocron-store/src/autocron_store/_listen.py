"""PostgreSQL LISTEN/NOTIFY: tell the nodes at once that task definitions changed.

A store that changes a definition (add, replace, pause, resume, remove) sends
``NOTIFY`` on one channel per table prefix; every node's cluster agent LISTENs
on a dedicated connection and syncs at once instead of at its next poll. The
poll (every 2 s) stays as the fallback, so a lost notification or a dropped
listening connection only delays a change, never loses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ._watcher import NoticeWatcher


def channel_name(prefix: str) -> str:
    """The NOTIFY channel of one set of tables (the prefix keeps separate deployments apart)."""
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in prefix.lower())
    return f"{safe}autocron_tasks"[:63]


def notify(conn: Connection, channel: str) -> None:
    """Send the change notice inside the caller's transaction (delivered when it commits)."""
    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Listener(NoticeWatcher):
    """A daemon thread that LISTENs on ``channel`` and calls ``callback`` per notice."""

    def __init__(self, engine: Engine, channel: str, callback: Callable[[], None]) -> None:
        self._engine = engine
        self._channel = channel
        super().__init__(callback)

    def _open(self) -> Any:
        raw: Any = self._engine.raw_connection()
        try:
            conn = raw.driver_connection  # read before detach(), which lets go of it
            raw.detach()  # a dedicated connection: never handed back to the pool
            conn.autocommit = True
            conn.execute(f'LISTEN "{self._channel}"')
        except BaseException:
            raw.close()
            raise
        return raw, conn

    def _notices(self, conn: Any) -> Iterable[object]:
        notices: Iterable[object] = conn[1].notifies(timeout=1.0)  # yields each notice as it comes
        return notices

    def _close(self, conn: Any) -> None:
        conn[0].close()
