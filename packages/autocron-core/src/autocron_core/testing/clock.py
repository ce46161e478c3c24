"""A clock that moves only when told to."""

from __future__ import annotations

import datetime as _dt
import threading

from autocron_core.schedules import from_utc_us, to_utc_us

__all__ = ["FakeClock"]


class FakeClock:
    """Wall and monotonic time that advance only through ``advance`` and ``set``.

    A scheduler started with it wakes whenever the clock moves, so tests drive
    time explicitly and never sleep to synchronise.
    """

    def __init__(self, start: _dt.datetime | None = None) -> None:
        start = start or _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)
        if start.tzinfo is None:
            raise ValueError(f"start={start!r}: expected an aware datetime")
        self._now_us = to_utc_us(start)
        self._mono = 1000.0
        self._lock = threading.Lock()
        self._conditions: list[threading.Condition] = []

    def now_us(self) -> int:
        return self._now_us

    def now(self) -> _dt.datetime:
        """The current fake time as an aware UTC datetime."""
        return from_utc_us(self._now_us)

    def monotonic(self) -> float:
        return self._mono

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        with self._lock:
            if condition not in self._conditions:
                self._conditions.append(condition)
        # Real time never decides anything here: wake on notify or on advance();
        # the short real wait only bounds how long a missed wake-up could stall.
        condition.wait(0.05)

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        with self._lock:
            self._now_us += round(seconds * 1_000_000)
            self._mono += seconds
            conditions = list(self._conditions)
        self._wake(conditions)

    def jump(self, seconds: float) -> None:
        """Move only the wall clock (a suspended laptop, an NTP step)."""
        with self._lock:
            self._now_us += round(seconds * 1_000_000)
            conditions = list(self._conditions)
        self._wake(conditions)

    def set(self, moment: _dt.datetime) -> None:
        """Set the wall clock to ``moment`` (aware)."""
        with self._lock:
            self._now_us = to_utc_us(moment)
            conditions = list(self._conditions)
        self._wake(conditions)

    @staticmethod
    def _wake(conditions: list[threading.Condition]) -> None:
        for condition in conditions:
            with condition:
                condition.notify_all()
