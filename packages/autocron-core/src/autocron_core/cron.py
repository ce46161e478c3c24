"""Cron expressions, evaluated in an IANA time zone with Debian cron's rules.

The grammar is croniter's dialect (the original AutoCron used croniter): names,
ranges, steps, lists, ``L``, ``W``, ``#``, aliases, a seconds field and a year
field; ``_cronfields`` parses it. The walk through time is ours, because it must
match the cron daemon that ``autocron-os`` writes crontabs for, so an
expression means the same in-process and in the OS (croniter 5 and later read
``12-12`` as ``*``; see docs/schedules.md):

* Day fields: when both day-of-month and day-of-week are restricted a day
  matches either; when either field begins with ``*`` (also ``*/4``) both must
  match, as in Vixie cron.
* A job is *fixed* when neither its minute nor its hour field begins with
  ``*``. A fixed job whose time falls in a spring-forward gap fires once at the
  first instant after the gap; one whose time occurs twice fires at the first
  occurrence. Other (*wildcard*) jobs follow the wall clock: nothing is made up
  for the gap, and the repeated hour runs again.

Field order: five fields are ``minute hour day-of-month month day-of-week``.
Six put seconds last, as croniter does, unless ``seconds=True`` puts them
first. Seven add the year after the seconds (croniter's order).
"""

from __future__ import annotations

import bisect
import datetime as _dt
import threading
from collections.abc import Iterator
from typing import Any

from ._cronfields import FieldError, parse_dom, parse_dow, parse_field
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
_FIVE = (
    "minute (0-59) hour (0-23) day-of-month (1-31, L, nW or LW) month (1-12 or JAN-DEC) "
    "day-of-week (0-7 or SUN-SAT, with #n or nL)"
)
_EXPECTED = (
    f"five fields: {_FIVE}; a sixth for seconds (0-59) and a seventh for the year (1970-2099) may follow; "
    "or an alias such as @daily"
)
_EXPECTED_SECONDS = (
    f"six fields, seconds (0-59) first, then {_FIVE}; a seventh for the year (1970-2099) may follow"
)
# How far ahead to look before deciding an expression never fires (covers Feb 29
# on a given weekday, which recurs within 28 years).
_HORIZON_DAYS = 366 * 29
# Any instant of a wall time lies within this of it: bounds the reordering that
# a repeated hour causes, so the search knows when it can stop.
_MAX_SHIFT = _dt.timedelta(hours=3)
_ONE_DAY = _dt.timedelta(days=1)


def _month_length(day: _dt.date) -> int:
    return ((day.replace(day=28) + _dt.timedelta(days=4)).replace(day=1) - _ONE_DAY).day


def _nearest_weekday(n: int, day: _dt.date) -> int | None:
    """The day of ``day``'s month that ``nW`` names (Quartz's rule), or None when the month lacks day n."""
    length = _month_length(day)
    if n > length:
        return None
    weekday = day.replace(day=n).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: the Friday before, or the Monday after the 1st
        return n - 1 if n > 1 else n + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before the last day
        return n + 1 if n < length else n - 2
    return n


class _Spec:
    """The parsed fields of one expression; shared by every ``Cron`` with that text."""

    __slots__ = (
        "_dom_more",
        "_dow_more",
        "_plain",
        "dom",
        "dom_last",
        "dom_last_weekday",
        "dom_nearest",
        "dom_star",
        "dow",
        "dow_last",
        "dow_star",
        "fixed",
        "hours",
        "minutes",
        "months",
        "nth",
        "seconds",
        "texts",
        "unportable",
        "years",
    )

    def __init__(self, fields: list[str], seconds_field: str | None, year_field: str | None) -> None:
        dom, self.dom_last, self.dom_last_weekday, nearest = parse_dom(fields[2])
        plain, nth, last = parse_dow(fields[4])
        self.seconds = sorted(parse_field(seconds_field, "second")) if seconds_field else [0]
        self.minutes = sorted(parse_field(fields[0], "minute"))
        self.hours = sorted(parse_field(fields[1], "hour"))
        self.months = frozenset(parse_field(fields[3], "month"))
        years = None if year_field in (None, "*", "?") else frozenset(parse_field(year_field, "year"))
        self.years = years
        self.dom = frozenset(dom)
        self.dom_nearest = frozenset(nearest)
        self._plain = frozenset(plain)
        self.nth = {day: frozenset(ns) for day, ns in nth.items()}
        self.dow = frozenset(plain | nth.keys())
        self.dow_last = frozenset(last)
        # Only expressions that use L, W, #n or nL pay for checking them.
        self._dom_more = self.dom_last or self.dom_last_weekday or bool(nearest)
        self._dow_more = bool(nth or last)
        self.dom_star = fields[2].startswith(("*", "?"))
        self.dow_star = fields[4].startswith(("*", "?"))
        self.fixed = not fields[0].startswith(("*", "?")) and not fields[1].startswith(("*", "?"))
        self.texts = (seconds_field, fields[0], fields[1], fields[2], fields[3], fields[4], year_field)
        unportable = []
        if nearest:
            unportable.append("nW (nearest weekday)")
        if self.dom_last_weekday:
            unportable.append("LW (last weekday of the month)")
        if last:
            unportable.append("nL (last such weekday of the month)")
        if years is not None:
            unportable.append("a year field")
        self.unportable = tuple(unportable)

    def _dom_extra(self, day: _dt.date) -> bool:
        if self.dom_last and (day + _ONE_DAY).day == 1:
            return True
        if self.dom_last_weekday and day.weekday() < 5:
            following = (day + _ONE_DAY, day + _dt.timedelta(days=2), day + _dt.timedelta(days=3))
            # The last weekday: no later weekday of the same month follows it.
            if not any(d.month == day.month and d.weekday() < 5 for d in following):
                return True
        return any(_nearest_weekday(n, day) == day.day for n in self.dom_nearest)

    def _dow_extra(self, day: _dt.date, weekday: int) -> bool:
        ns = self.nth.get(weekday)
        if ns is not None and (day.day - 1) // 7 + 1 in ns:
            return True
        return weekday in self.dow_last and day.day + 7 > _month_length(day)

    def day_matches(self, day: _dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom_ok = day.day in self.dom or (self._dom_more and self._dom_extra(day))
        weekday = (day.weekday() + 1) % 7  # cron counts from Sunday = 0
        dow_ok = weekday in self._plain or (self._dow_more and self._dow_extra(day, weekday))
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


_SPECS: dict[tuple[str | None, ...], _Spec] = {}
_INSTANCES: dict[tuple[str, str, bool], Cron] = {}
_LOCK = threading.Lock()


def _split(expr: str, seconds: bool) -> tuple[list[str], str | None, str | None]:
    """The five classic fields, the seconds field and the year field of ``expr``."""
    text = " ".join(expr.split())
    expected = _EXPECTED_SECONDS if seconds else _EXPECTED
    if text.startswith("@"):
        alias = ALIASES.get(text.lower())
        if alias is None:
            raise ScheduleError("cron", expr, expected, detail=f"unknown alias {text!r}")
        return alias.split(), None, None
    fields = text.split(" ")
    if not (6 if seconds else 5) <= len(fields) <= 7:
        raise ScheduleError("cron", expr, expected, detail=f"found {len(fields)} fields")
    year = fields.pop(6) if len(fields) == 7 else None
    if seconds:
        return fields[1:], fields[0], year
    return fields[:5], (fields[5] if len(fields) == 6 else None), year


def _build_spec(
    expr: str, fields: list[str], seconds_field: str | None, year_field: str | None, seconds: bool
) -> _Spec:
    key = (*fields, seconds_field, year_field)
    spec = _SPECS.get(key)
    if spec is not None:
        return spec
    try:
        spec = _Spec(fields, seconds_field, year_field)
    except FieldError as exc:
        raise ScheduleError(
            "cron", expr, _EXPECTED_SECONDS if seconds else _EXPECTED, detail=str(exc)
        ) from None
    with _LOCK:
        _SPECS[key] = spec
    return spec


class Cron(Schedule):
    """A cron expression evaluated in a time zone (IANA name, ``tzinfo`` or ``"local"``).

    Five fields; six with seconds last (croniter's order), or first when
    ``seconds=True``; seven with the year after those six. Equal expressions
    share one parse, and tasks with the same expression and zone share one
    ``Cron`` object and its last next-fire computation.
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
        fields, seconds_field, year_field = _split(expr, seconds)
        self = super().__new__(cls)
        self.expr = expr.strip()
        self.tz = tz
        self.seconds = seconds
        self._spec = spec = _build_spec(expr, fields, seconds_field, year_field, seconds)
        self._memo = None
        # An expression that cannot fire (Feb 30) is a mistake to report now, not
        # silence. One whose years are all past did fire: it is valid and done.
        probe = _dt.datetime.now(UTC)
        if spec.years is not None:
            probe = _dt.datetime(min(spec.years) - 1, 12, 30, tzinfo=UTC)
        if self._search(probe) is None:
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
        and ``fixed``. OS adapters translate these into their own calendar syntax.

        ``unportable`` names the forms used that no OS adapter translates
        (``nW``, ``LW``, ``nL`` and a year field, held in ``dom_nearest``,
        ``dom_last_weekday``, ``dow_last`` and ``years``); it is empty for the
        classic grammar, so an adapter refuses an expression when it is not."""
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
        years = spec.years
        if years is not None:
            last_day = _dt.date(max(years), 12, 31)
        after: _dt.time | None = begin.time()
        while day <= last_day:
            if years is not None and day.year not in years:
                later = [y for y in years if y > day.year]
                if not later:
                    break
                day = _dt.date(min(later), 1, 1)
                after = None
                continue
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

        return describe_cron(self._spec.texts, zone_name(self.tz))

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
