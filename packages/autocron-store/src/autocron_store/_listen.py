"""PostgreSQL LISTEN/NOTIFY: tell the nodes at once that task definitions changed.

A store that changes a definition (add, replace, pause, resume, remove) sends
``NOTIFY`` on one channel per table prefix; every node's cluster agent LISTENs
on a dedicated connection and syncs at once instead of at its next poll. The
poll (every 2 s) stays as the fallback, so a lost notification or a dropped
listening connection only delays a change, never loses it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger("autocron.store.listen")

#: Seconds between attempts to listen again after the connection dropped.
RECONNECT_DELAY = 2.0


def channel_name(prefix: str) -> str:
    """The NOTIFY channel of one set of tables (the prefix keeps separate deployments apart)."""
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in prefix.lower())
    return f"{safe}autocron_tasks"[:63]


def notify(conn: Connection, channel: str) -> None:
    """Send the change notice inside the caller's transaction (delivered when it commits)."""
    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Listener:
    """A daemon thread that LISTENs on ``channel`` and calls ``callback`` per notice."""

    def __init__(self, engine: Engine, channel: str, callback: Callable[[], None]) -> None:
        self._engine = engine
        self._channel = channel
        self._callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autocron-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (within about a second)."""
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            raw: Any = None
            try:
                raw = self._engine.raw_connection()
                conn = raw.driver_connection  # read before detach(), which lets go of it
                raw.detach()  # a dedicated connection: never handed back to the pool
                conn.autocommit = True
                conn.execute(f'LISTEN "{self._channel}"')
                while not self._stop.is_set():
                    for _ in conn.notifies(timeout=1.0):
                        self._callback()
            except Exception:
                logger.warning(
                    "listening for task changes failed; polling covers it until it is back", exc_info=True
                )
                self._stop.wait(RECONNECT_DELAY)
            finally:
                if raw is not None:
                    with contextlib.suppress(Exception):  # the connection may be gone already
                        raw.close()
