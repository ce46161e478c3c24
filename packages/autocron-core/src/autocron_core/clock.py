"""Clocks: the scheduler reads time and waits only through one of these.

``SystemClock`` is the real one. ``autocron_core.testing.FakeClock`` lets tests
move time by hand, so scheduling logic is tested without sleeping.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from functools import partial

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # the classes below are plain bases at run time


__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """What the scheduler needs from a clock."""

    def now_us(self) -> int:
        """Wall time: microseconds since the Unix epoch (UTC)."""
        ...

    def now(self) -> _dt.datetime:
        """Wall time as an aware UTC datetime (the same instant ``now_us`` gives)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (for measuring and waiting)."""
        ...

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait on ``condition`` (its lock held) until notified or ``timeout`` seconds pass."""
        ...


class SystemClock:
    """The real clock. Waiting uses the monotonic clock (``Condition.wait``)."""

    def now_us(self) -> int:
        return time.time_ns() // 1000

    # datetime.now(UTC) called through a C partial, without a Python frame: a run
    # stamps two of these, and from_utc_us(now_us()) costs twice as much.
    now = staticmethod(partial(_dt.datetime.now, _dt.timezone.utc))

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        condition.wait(timeout)
