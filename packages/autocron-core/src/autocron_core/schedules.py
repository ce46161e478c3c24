"""Schedules: immutable values that say when a task fires next.

Every schedule answers ``next_after(moment)`` with an aware datetime strictly
after ``moment``, or ``None`` when it will never fire again. ``Cron`` lives in
``autocron_core.cron`` and is re-exported here.
"""

from __future__ import annotations

import datetime as _dt
import math

from .errors import ScheduleError, TaskError
from .timezones import UTC, resolve_timezone

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "LATEST",
    "MAX_SECONDS",
    "At",
    "Interval",
    "Schedule",
    "format_interval",
    "parse_interval",
    "parse_schedule",
]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000

#: The longest duration AutoCron accepts anywhere (an interval, a timeout, a retry
#: delay, jitter, a grace time): 100 years of 365.25 days. Any "now + duration"
#: then stays far inside ``datetime``'s range (year 9999) and inside the integer
#: microsecond arithmetic; longer waits are clamped to ``threading.TIMEOUT_MAX``.
MAX_SECONDS = 36_525 * 86_400
#: The latest instant a task may fire. The last day of year 9999 is kept free:
#: a fire time must show in every time zone (offsets reach a day), and
#: ``datetime`` ends at 9999-12-31 23:59:59.
LATEST = _dt.datetime(9999, 12, 30, tzinfo=UTC)
_LATEST_US = (LATEST - _EPOCH) // _dt.timedelta(microseconds=1)

_UNITS = {
    "w": 604800, "week": 604800, "weeks": 604800,
    "d": 86400, "day": 86400, "days": 86400,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
}  # fmt: skip
_INTERVAL_EXPECTED = (
    'a positive duration such as "30s", "5m", "2h", "1d", "1w", "1h30m", or a number of seconds'
)
_DURATION_EXPECTED = 'a number of seconds or a duration such as "90s" or "5m"'


def parse_interval(
    text: str | float | _dt.timedelta,
    *,
    field: str = "every",
    allow_zero: bool = False,
    error: type[ScheduleError] | type[TaskError] = ScheduleError,
) -> float:
    """Return the number of seconds an interval stands for.

    Accepts ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"``, ``"1w"``, compounds such as
    ``"1h30m"`` or ``"1h 30m"``, a bare number of seconds (``90`` or ``"90"``)
    and ``timedelta``. This is the one check every duration of AutoCron goes
    through (intervals, timeouts, retry delays, jitter, grace times): the
    result is finite, above zero (or zero with ``allow_zero``) and at most
    ``MAX_SECONDS``.

    Args:
        text: the duration.
        field: the option's name, for the error.
        allow_zero: accept ``0`` (a delay or a grace time may be zero; an interval not).
        error: the error class to raise (``TaskError`` for task options).

    Raises:
        ScheduleError: (or ``error``) the text is not a duration, or is out of range.
    """
    expected = _INTERVAL_EXPECTED if error is ScheduleError else _DURATION_EXPECTED
    if isinstance(text, bool):
        raise error(field, text, expected)
    try:
        if isinstance(text, _dt.timedelta):
            seconds = text.total_seconds()
        elif isinstance(text, (int, float)):
            seconds = float(text)  # an int beyond a float's range raises OverflowError
        elif isinstance(text, str):
            seconds = _parse_interval_text(text, field, error, expected)
        else:
            raise error(field, text, expected)
    except OverflowError:
        seconds = math.inf
    if math.isnan(seconds) or math.isinf(seconds):
        raise error(field, text, expected, detail="it must be a finite number")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        sign = "0 or more" if allow_zero else "above zero"
        raise error(field, text, expected, detail=f"it must be {sign}")
    if seconds > MAX_SECONDS:
        raise error(field, text, expected, detail=f"it must be at most 100 years ({MAX_SECONDS} seconds)")
    return seconds


def _parse_interval_text(
    text: str, field: str, error: type[ScheduleError] | type[TaskError], expected: str
) -> float:
    """Seconds of ``"90"``, ``"1h30m"`` or ``"1h 30m"``: whitespace, then parts of a
    decimal number and a unit word, or one bare number.

    A scanner rather than a regular expression: ``re`` would be a fifth of the
    time ``import autocron_core`` takes. Digits are Unicode decimals (as
    ``float()`` reads them), units ASCII letters in any case.
    """
    end = len(text)
    pos = 0
    seconds = 0.0
    parts = 0
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos == end:
            break
        start = pos
        while pos < end and text[pos].isdecimal():
            pos += 1
        if pos == start:
            raise error(field, text, expected)
        if pos + 1 < end and text[pos] == "." and text[pos + 1].isdecimal():
            pos += 2
            while pos < end and text[pos].isdecimal():
                pos += 1
        number = float(text[start:pos])
        while pos < end and text[pos].isspace():
            pos += 1
        unit_start = pos
        while pos < end and text[pos].isascii() and text[pos].isalpha():
            pos += 1
        if pos == unit_start:
            if parts == 0 and pos == end:  # one bare number of seconds
                return number
            raise error(field, text, expected)
        unit = _UNITS.get(text[unit_start:pos].lower())
        if unit is None:
            raise error(field, text, expected, detail=f"unknown unit {text[unit_start:pos]!r}")
        seconds += number * unit
        parts += 1
    if parts == 0:
        raise error(field, text, expected)
    return seconds


def format_interval(seconds: float) -> str:
    """The shortest compound text for a number of seconds: ``5400`` → ``"1h30m"``."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest = int(seconds)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def to_utc_us(moment: _dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly (no float rounding)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * _US + delta.microseconds


def from_utc_us(us: int, tz: _dt.tzinfo = UTC) -> _dt.datetime:
    """The aware datetime for microseconds since the epoch, in ``tz``."""
    seconds, micro = divmod(us, _US)
    moment = _EPOCH + _dt.timedelta(0, seconds, micro)  # already normalised: cheaper to build
    return moment if tz is UTC else moment.astimezone(tz)


def _aware(moment: _dt.datetime, field: str) -> _dt.datetime:
    if not isinstance(moment, _dt.datetime):
        raise ScheduleError(field, moment, "a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ScheduleError(field, moment, "an aware datetime (with tzinfo)")
    return moment


class Schedule:
    """Base of every schedule value.

    Subclasses are immutable and hashable; ``next_after`` must be strictly
    increasing: ``next_after(m) > m`` whenever it is not ``None``.
    """

    __slots__ = ()
    kind: str = "schedule"

    def next_after(self, moment: _dt.datetime) -> _dt.datetime | None:
        """The first fire time strictly after ``moment`` (aware), or ``None``."""
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """The keys that recreate this schedule in a task definition."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short plain-language description, for listings and ``autocron next``."""
        raise NotImplementedError


class Interval(Schedule):
    """Fire every ``seconds``, fixed-rate: occurrences are ``anchor + k·seconds`` (k ≥ 1).

    Fixed-rate means a run that takes long never pushes later occurrences back.
    An unanchored interval counts from the moment it is asked about; a task
    anchors its interval when it is first registered, and keeps that anchor.
    """

    __slots__ = ("_anchor_us", "_step_us", "_text")
    kind = "interval"

    def __init__(self, every: str | float | _dt.timedelta, anchor: _dt.datetime | None = None) -> None:
        seconds = parse_interval(every)
        step = round(seconds * _US)
        if step <= 0:
            raise ScheduleError("every", every, _INTERVAL_EXPECTED, detail="shorter than a microsecond")
        self._step_us = step
        self._anchor_us = None if anchor is None else to_utc_us(_aware(anchor, "anchor"))
        self._text = every if isinstance(every, str) else None

    @property
    def text(self) -> str:
        """The interval as the user wrote it, or its shortest form (``"1h30m"``)."""
        return self._text if self._text is not None else format_interval(self.seconds)

    @property
    def seconds(self) -> float:
        """The interval in seconds."""
        return self._step_us / _US

    @property
    def anchor(self) -> _dt.datetime | None:
        """The instant the occurrences count from (UTC), if anchored."""
        return None if self._anchor_us is None else from_utc_us(self._anchor_us)

    def anchored(self, anchor: _dt.datetime) -> Interval:
        """The same interval counting from ``anchor``."""
        return self.anchored_us(to_utc_us(_aware(anchor, "anchor")))

    def anchored_us(self, anchor_us: int) -> Interval:
        """The same interval counting from ``anchor_us`` (microseconds since the epoch)."""
        clone = Interval.__new__(Interval)
        clone._step_us = self._step_us
        clone._text = self._text
        clone._anchor_us = anchor_us
        return clone

    def next_after_us(self, moment_us: int) -> int:
        """``next_after`` in integer microseconds, so every node computes the same instant."""
        anchor = moment_us if self._anchor_us is None else self._anchor_us
        if moment_us < anchor:
            return anchor + self._step_us
        return anchor + ((moment_us - anchor) // self._step_us + 1) * self._step_us

    def latest_at_or_before_us(self, moment_us: int) -> int | None:
        """The last occurrence at or before ``moment_us``, for coalescing a backlog."""
        if self._anchor_us is None or moment_us < self._anchor_us + self._step_us:
            return None
        return self._anchor_us + ((moment_us - self._anchor_us) // self._step_us) * self._step_us

    def next_after(self, moment: _dt.datetime) -> _dt.datetime | None:
        nxt = self.next_after_us(to_utc_us(_aware(moment, "moment")))
        if nxt > _LATEST_US:  # past what a datetime holds: the interval has run its course
            return None
        return from_utc_us(nxt, moment.tzinfo or UTC)

    def to_config(self) -> dict[str, Any]:
        return {"every": self.text}

    def describe(self) -> str:
        return f"every {format_interval(self.seconds)}"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Interval)
            and other._step_us == self._step_us
            and other._anchor_us == self._anchor_us
        )

    def __hash__(self) -> int:
        return hash((Interval, self._step_us, self._anchor_us))

    def __repr__(self) -> str:
        anchor = "" if self._anchor_us is None else f", anchor={from_utc_us(self._anchor_us).isoformat()}"
        return f"Interval({self.text!r}{anchor})"


class At(Schedule):
    """Fire once, at one moment. A naive datetime is read in ``timezone`` (default: local)."""

    __slots__ = ("when", "when_us")
    kind = "at"

    def __init__(self, when: _dt.datetime | str, timezone: str | _dt.tzinfo | None = None) -> None:
        given = when
        if isinstance(when, str):
            try:
                when = _dt.datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ScheduleError(
                    "at", when, 'an ISO 8601 date and time such as "2026-12-01T09:30"'
                ) from None
        if not isinstance(when, _dt.datetime):
            raise ScheduleError("at", when, "a datetime or an ISO 8601 string")
        if when.tzinfo is None or when.utcoffset() is None:
            when = when.replace(tzinfo=resolve_timezone(timezone))
        try:
            when_us: int | None = to_utc_us(when)
        except OverflowError:  # e.g. 9999-12-31T23:00 in New York is in year 10000 in UTC
            when_us = None
        if when_us is None or when_us > _LATEST_US:
            raise ScheduleError("at", given, f"a time that is no later than {LATEST.isoformat()} in UTC")
        self.when = when
        self.when_us = when_us

    def next_after(self, moment: _dt.datetime) -> _dt.datetime | None:
        return self.when if self.when > _aware(moment, "moment") else None

    def to_config(self) -> dict[str, Any]:
        return {"at": self.when.isoformat()}

    def describe(self) -> str:
        return f"once at {self.when.isoformat(sep=' ')}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, At) and other.when == self.when

    def __hash__(self) -> int:
        return hash((At, self.when))

    def __repr__(self) -> str:
        return f"At({self.when.isoformat()!r})"


def looks_like_cron(text: str) -> bool:
    """Whether a ``schedule:`` text is a cron expression rather than an interval."""
    words = text.split()
    if len(words) == 1:  # a nickname such as @daily
        word = words[0]
        return len(word) > 1 and word[0] == "@" and word[1:].replace("_", "a").isalnum()
    return 5 <= len(words) <= 7  # croniter's seconds and year fields


_INTERVALS: dict[Any, Interval] = {}


def parse_schedule(
    *,
    every: Any = None,
    cron: Any = None,
    at: Any = None,
    timezone: str | _dt.tzinfo | None = None,
) -> Schedule:
    """Build the one schedule named by exactly one of ``every``, ``cron`` and ``at``.

    A ``Schedule`` object may be passed as any of the three.

    Raises:
        ScheduleError: none or more than one was given, or the one given is invalid.
    """
    if every is not None and cron is None and at is None:  # the common case, without building a dict
        field, value = "every", every
    else:
        given = {k: v for k, v in (("every", every), ("cron", cron), ("at", at)) if v is not None}
        if len(given) != 1:
            names = ", ".join(given) or "none"
            raise ScheduleError("schedule", names, "exactly one of every=, cron= or at=")
        ((field, value),) = given.items()
    if isinstance(value, Schedule):
        return value
    if field == "every":
        # Intervals are immutable: equal texts share one parsed, unanchored value.
        try:
            cached = _INTERVALS.get(value)
        except TypeError:  # unhashable: let Interval() explain what is wrong
            return Interval(value)
        if cached is None:
            cached = Interval(value)
            if len(_INTERVALS) < 4096:
                _INTERVALS[value] = cached
        return cached
    if field == "cron":
        from .cron import Cron

        if not isinstance(value, str):
            raise ScheduleError("cron", value, 'a cron expression such as "*/5 * * * *"')
        return Cron(value, timezone=timezone)
    return At(value, timezone=timezone)


def __getattr__(name: str) -> Any:
    # The cron module loads on first use; keep ``from autocron_core.schedules import Cron`` working.
    if name == "Cron":
        from .cron import Cron

        return Cron
    raise AttributeError(name)
