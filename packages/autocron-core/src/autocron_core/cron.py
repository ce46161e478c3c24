"""Cron expressions, evaluated in an IANA time zone with Debian cron's rules.

The grammar (names, ranges, steps, lists, ``L``, ``#``) is parsed by
``_cronfields`` and the walk through time is ours, because both must match the
cron daemon that ``autocron-os`` writes crontabs for, so an expression means
the same in-process and in the OS (croniter 7 reads ``12-12`` as ``*``; see
docs/architecture.md):

* Day fields: when both day-of-month and day-of-week are restricted a day
  matches either; when either field begins with ``*`` (also ``*/4``) both must
  match, as in Vixie cron.
* A job is *fixed* when neither its minute nor its hour field begins with
  ``*``. A fixed job whose time falls in a spring-forward gap fires once at the
  first instant after the gap; one whose time occurs twice fires at the first
  occurrence. Other (*wildcard*) jobs follow the wall clock: nothing is made up
  for the gap, and the repeated hour runs again.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import threading
from collections.abc import Iterator
from typing import Any

from ._cronfields import FieldError, parse_field
from .errors import ScheduleError
from .schedules import Schedule
from .timezones import UTC, resolve_timezone, zone_name

__all__ = ["Cron", "parse_cron"]

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_EXPECTED = (
    "five fields: minute (0-59) hour (0-23) day-of-month (1-31 or L) month (1-12 or JAN-DEC) "
    "day-of-week (0-7 or SUN-SAT, with #n), or an alias such as @daily"
)
_EXPECTED_SECONDS = "six fields, seconds (0-59) first, then " + _EXPECTED.split(": ", 1)[1]
# How far ahead to look before deciding an expression never fires (covers Feb 29
# on a given weekday, which recurs within 28 years).
_HORIZON_DAYS = 366 * 29
# Any instant of a wall time lies within this of it: bounds the reordering that
# a repeated hour causes, so the search knows when it can stop.
_MAX_SHIFT = _dt.timedelta(hours=3)
_ONE_DAY = _dt.timedelta(days=1)


class _Spec:
    """The parsed fields of one expression; shared by every ``Cron`` with that text."""

    __slots__ = (
        "dom",
        "dom_last",
        "dom_star",
        "dow",
        "dow_star",
        "fixed",
        "hours",
        "minutes",
        "months",
        "nth",
        "seconds",
    )

    def __init__(self, fields: list[str], seconds_field: str | None) -> None:
        minutes, _, _ = parse_field(fields[0], "minute")
        hours, _, _ = parse_field(fields[1], "hour")
        dom, self.dom_last, _ = parse_field(fields[2], "day-of-month")
        months, _, _ = parse_field(fields[3], "month")
        dow, _, nth = parse_field(fields[4], "day-of-week")
        self.seconds = sorted(parse_field(seconds_field, "second")[0]) if seconds_field else [0]
        self.minutes = sorted(minutes)
        self.hours = sorted(hours)
        self.dom = frozenset(dom)
        self.months = frozenset(months)
        self.dow = frozenset(dow)
        self.nth = {day: frozenset(ns) for day, ns in nth.items()}
        self.dom_star = fields[2].startswith(("*", "?"))
        self.dow_star = fields[4].startswith(("*", "?"))
        self.fixed = not fields[0].startswith("*") and not fields[1].startswith("*")

    def day_matches(self, day: _dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom_ok = day.day in self.dom or (self.dom_last and (day + _ONE_DAY).day == 1)
        weekday = (day.weekday() + 1) % 7  # cron counts from Sunday = 0
        dow_ok = weekday in self.dow and (
            weekday not in self.nth or (day.day - 1) // 7 + 1 in self.nth[weekday]
        )
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    def times(self, after: _dt.time | None) -> Iterator[tuple[int, int, int]]:
        """Times of day in order, strictly after ``after`` when given."""
        hours, minutes, seconds = self.hours, self.minutes, self.seconds
        if after is None:
            for h in hours:
                for m in minutes:
                    for s in seconds:
                        yield h, m, s
            return
        first_hour = True
        for h in hours[bisect.bisect_left(hours, after.hour) :]:
            same_hour = first_hour and h == after.hour
            first_hour = False
            for m in minutes[bisect.bisect_left(minutes, after.minute) if same_hour else 0 :]:
                if same_hour and m == after.minute:
                    for s in seconds[bisect.bisect_right(seconds, after.second) :]:
                        yield h, m, s
                else:
                    for s in seconds:
                        yield h, m, s


_SPECS: dict[tuple[str, ...], _Spec] = {}
_INSTANCES: dict[tuple[str, str, bool], Cron] = {}
_LOCK = threading.Lock()


def _split(expr: str, seconds: bool) -> tuple[list[str], str | None]:
    text = " ".join(expr.split())
    expected = _EXPECTED_SECONDS if seconds else _EXPECTED
    if text.startswith("@"):
        alias = ALIASES.get(text.lower())
        if alias is None or seconds:
            raise ScheduleError(
                "cron", expr, expected, detail=f"unknown alias {text!r}" if alias is None else None
            )
        return alias.split(), None
    fields = text.split(" ")
    want = 6 if seconds else 5
    if len(fields) != want:
        raise ScheduleError("cron", expr, expected, detail=f"found {len(fields)} fields")
    for field in fields:
        if "w" in field.lower().replace("wed", "") and not field.lower().startswith("@"):
            raise ScheduleError(
                "cron", expr, expected, detail="the W (nearest weekday) form is not supported"
            )
    return (fields[1:], fields[0]) if seconds else (fields, None)


def _build_spec(expr: str, fields: list[str], seconds_field: str | None, seconds: bool) -> _Spec:
    key = (*fields, seconds_field or "")
    spec = _SPECS.get(key)
    if spec is not None:
        return spec
    try:
        spec = _Spec(fields, seconds_field)
    except FieldError as exc:
        raise ScheduleError(
            "cron", expr, _EXPECTED_SECONDS if seconds else _EXPECTED, detail=str(exc)
        ) from None
    with _LOCK:
        _SPECS[key] = spec
    return spec


class Cron(Schedule):
    """A cron expression evaluated in a time zone (IANA name, ``tzinfo`` or ``"local"``).

    Five fields, or six with seconds first when ``seconds=True``. Equal
    expressions share one parse, and tasks with the same expression and zone
    share one ``Cron`` object and its last next-fire computation.
    """

    __slots__ = ("_memo", "_spec", "expr", "seconds", "tz")
    kind = "cron"

    expr: str
    tz: _dt.tzinfo
    seconds: bool
    _spec: _Spec
    _memo: tuple[_dt.datetime, _dt.datetime | None] | None

    def __new__(cls, expr: str, timezone: str | _dt.tzinfo | None = None, *, seconds: bool = False) -> Cron:
        if not isinstance(expr, str) or not expr.strip():
            raise ScheduleError("cron", expr, _EXPECTED)
        tz = resolve_timezone(timezone)
        key = (expr.strip(), zone_name(tz) if getattr(tz, "key", None) or tz is UTC else repr(tz), seconds)
        cached = _INSTANCES.get(key)
        if cached is not None:
            return cached
        fields, seconds_field = _split(expr, seconds)
        self = super().__new__(cls)
        self.expr = expr.strip()
        self.tz = tz
        self.seconds = seconds
        self._spec = _build_spec(expr, fields, seconds_field, seconds)
        self._memo = None
        # An expression that cannot fire (Feb 30) is a mistake to report now, not silence.
        if self._search(_dt.datetime.now(UTC)) is None:
            raise ScheduleError(
                "cron", expr, "an expression that matches at least one day", detail="it never fires"
            )
        with _LOCK:
            if len(_INSTANCES) > 4096:
                _INSTANCES.clear()
            _INSTANCES[key] = self
        return self

    def __init__(self, expr: str, timezone: str | _dt.tzinfo | None = None, *, seconds: bool = False) -> None:
        pass  # all work is done once, in __new__

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.expr, zone_name(self.tz), self.seconds))

    @property
    def spec(self) -> _Spec:
        """The parsed fields (read-only by convention): ``seconds``, ``minutes``, ``hours``,
        ``dom`` and ``dom_last`` (``L``), ``months``, ``dow`` (0 = Sunday), ``nth``
        (weekday → the n of ``DAY#n``), ``dom_star``/``dow_star`` (the day-field rule)
        and ``fixed``. OS adapters translate these into their own calendar syntax."""
        return self._spec

    @property
    def fixed(self) -> bool:
        """Whether this is a *fixed* job for the DST rules (minute and hour not ``*``)."""
        return self._spec.fixed

    def next_after(self, moment: _dt.datetime) -> _dt.datetime | None:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ScheduleError("moment", moment, "an aware datetime (with tzinfo)")
        # Key the memo in UTC: within one zone Python compares datetimes ignoring
        # fold, so 01:30 BST and 01:30 GMT of the repeated hour would look equal.
        key = moment.astimezone(UTC)
        memo = self._memo
        # Nothing fires between the memo's moment and its answer, so the answer
        # holds for any moment in that span: ten thousand tasks added a few
        # microseconds apart share one computation.
        if memo is not None and memo[0] <= key and (memo[1] is None or key < memo[1]):
            return memo[1]
        result = self._search(moment)
        self._memo = (key, result)
        return result

    def _instants(self, wall: _dt.datetime) -> list[_dt.datetime]:
        """The UTC instants at which a wall time fires, by the DST rules."""
        tz = self.tz
        local = wall.replace(tzinfo=tz)
        first = local.astimezone(UTC)
        second = local.replace(fold=1).astimezone(UTC)
        if first == second:
            return [first]
        if first.astimezone(tz).replace(tzinfo=None) == wall:  # the wall time happens twice
            return [min(first, second)] if self._spec.fixed else sorted((first, second))
        if not self._spec.fixed:  # in a spring-forward gap: nothing is made up
            return []
        low, high = sorted((first, second))  # the first instant after the gap lies between
        while (high - low) > _dt.timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(tz).replace(tzinfo=None) > wall:
                high = middle
            else:
                low = middle
        return [high.replace(microsecond=0)]

    def _search(self, moment: _dt.datetime) -> _dt.datetime | None:
        spec = self._spec
        tz = self.tz
        start_wall = moment.astimezone(tz).replace(tzinfo=None)
        # A repeated hour can put a later wall time's instant before an earlier
        # one's, so begin a little back and keep the least instant after moment.
        begin = start_wall - _MAX_SHIFT
        moment_utc = moment.astimezone(UTC)
        best: _dt.datetime | None = None
        stop_wall: _dt.datetime | None = None
        day = begin.date()
        last_day = day + _dt.timedelta(days=_HORIZON_DAYS)
        after: _dt.time | None = begin.time()
        while day <= last_day:
            if day.month not in spec.months:
                day = (day.replace(day=1) + _dt.timedelta(days=32)).replace(day=1)
                after = None
                continue
            if spec.day_matches(day):
                for h, m, s in spec.times(after):
                    wall = _dt.datetime(day.year, day.month, day.day, h, m, s)
                    if stop_wall is not None and wall > stop_wall:
                        return best.astimezone(tz) if best else None
                    for instant in self._instants(wall):
                        if instant > moment_utc and (best is None or instant < best):
                            best = instant
                            stop_wall = best.astimezone(tz).replace(tzinfo=None) + _MAX_SHIFT
            day += _dt.timedelta(days=1)
            after = None
            if stop_wall is not None and _dt.datetime(day.year, day.month, day.day) > stop_wall:
                break
        return best.astimezone(tz) if best else None

    def to_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"cron": self.expr, "timezone": zone_name(self.tz)}
        if self.seconds:
            config["cron_seconds"] = True
        return config

    def describe(self) -> str:
        from ._describe import describe_cron

        return describe_cron(self.expr, self.seconds, zone_name(self.tz))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Cron)
            and other.expr == self.expr
            and other.seconds == self.seconds
            and zone_name(other.tz) == zone_name(self.tz)
        )

    def __hash__(self) -> int:
        return hash((Cron, self.expr, self.seconds, zone_name(self.tz)))

    def __repr__(self) -> str:
        return f"Cron({self.expr!r}, timezone={zone_name(self.tz)!r})"


def _rebuild(expr: str, tz: str, seconds: bool) -> Cron:
    return Cron(expr, tz, seconds=seconds)


def parse_cron(expr: str, timezone: str | _dt.tzinfo | None = None) -> Cron:
    """Validate a cron expression and return its ``Cron`` schedule.

    Raises:
        ScheduleError: naming the field that is not valid.
    """
    return Cron(expr, timezone)
