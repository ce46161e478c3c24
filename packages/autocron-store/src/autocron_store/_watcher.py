"""A daemon thread that waits for change notices and calls back once per notice.

PostgreSQL's LISTEN (``_listen.Listener``) and Redis pub/sub
(``_redis_cluster``) share this loop: open a listening connection, hand each
notice to the callback, and after a failure log it, wait ``RECONNECT_DELAY``
and listen again. The store's poll stays the fallback, so a dropped connection
only delays a change, never loses it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["RECONNECT_DELAY", "NoticeWatcher"]

logger = logging.getLogger("autocron.store.listen")

#: Seconds between attempts to listen again after the connection dropped.
RECONNECT_DELAY = 2.0


class NoticeWatcher:
    """Calls ``callback`` per notice until ``stop()``; subclasses say how to listen.

    A subclass sets what its hooks need, then calls ``super().__init__``, which
    starts the thread.
    """

    thread_name = "autocron-listen"

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (within about a second)."""
        self._stop.set()
        self._thread.join(5)

    def _open(self) -> Any:
        """A connection listening for notices."""
        raise NotImplementedError

    def _notices(self, conn: Any) -> Iterable[object]:
        """The notices that arrive within about a second (empty when none)."""
        raise NotImplementedError

    def _close(self, conn: Any) -> None:
        """Let go of the connection ``_open`` made."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            conn: Any = None
            try:
                conn = self._open()
                while not self._stop.is_set():
                    for _ in self._notices(conn):
                        self._callback()
            except Exception:
                logger.warning(
                    "listening for task changes failed; polling covers it until it is back", exc_info=True
                )
                self._stop.wait(RECONNECT_DELAY)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):  # the connection may be gone already
                        self._close(conn)
