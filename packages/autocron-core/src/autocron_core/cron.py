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

The walk (issue 16) goes field by field in wall time (``_cronspec``) and
looks at the zone only to turn the answer into an instant, applying the DST
rules where the zone's offset changes between the moment and the answer
(``_tzsegments``): a next fire time costs a few microseconds, not one zone
look-up per candidate minute.

Field order: five fields are ``minute hour day-of-month month day-of-week``.
Six put seconds last, as croniter does, unless ``seconds=True`` puts them
first. Seven add the year after the seconds (croniter's order).
"""

from __future__ import annotations

import datetime as _dt
import threading
from typing import Any

from ._cronfields import FieldError
from ._cronspec import Spec
from ._tzsegments import segment
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
# on a given weekday, which recurs within 28 years), counted from 3 hours before
# the moment's wall time as it always was.
_HORIZON = _dt.timedelta(days=366 * 29)
_THREE_HOURS = _dt.timedelta(hours=3)
_ONE_SECOND = _dt.timedelta(seconds=1)
# No offset change in the tz database moves the wall clock by more than a day:
# a change later than a day after the moment cannot repeat wall times before it.
_NEAR = _dt.timedelta(days=1)
_FAR = _dt.timedelta(days=2)


_SPECS: dict[tuple[str | None, ...], Spec] = {}
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
) -> Spec:
    key = (*fields, seconds_field, year_field)
    spec = _SPECS.get(key)
    if spec is not None:
        return spec
    try:
        spec = Spec(fields, seconds_field, year_field)
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
    _spec: Spec
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
    def spec(self) -> Spec:
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
        result = self._search(key)
        self._memo = (key, result)
        return result

    def _search(self, moment: _dt.datetime) -> _dt.datetime | None:
        """The first instant after ``moment`` (aware, UTC) at which the expression fires."""
        tz = self.tz
        spec = self._spec
        instant = moment.replace(tzinfo=None)
        if type(tz) is _dt.timezone:  # a fixed offset, UTC among them: wall time maps straight through
            wall = instant + tz.utcoffset(None)
            found = spec.next_wall(wall.replace(microsecond=0) + _ONE_SECOND, _last_day(spec, wall))
            return None if found is None else found.replace(tzinfo=tz)
        return self._search_zone(instant)

    def _search_zone(self, moment: _dt.datetime) -> _dt.datetime | None:
        """``_search`` in a zone whose offset changes; ``moment`` is naive UTC.

        Walks the zone's constant-offset spans from the one holding ``moment``.
        Within a span wall time and UTC differ by one offset, so the first
        matching wall time in the span's wall range is the answer. Crossing a
        change applies the DST rules: a fixed job whose time falls in a gap
        fires when the gap ends; in a repeat, a fixed job's times already ran
        (the first occurrence) while a wildcard job runs them again.
        """
        spec, tz, fixed = self._spec, self.tz, self._spec.fixed
        start, before, offset, end, after = segment(tz, moment)
        wall = moment + offset
        last_day = _last_day(spec, wall)
        lo = wall.replace(microsecond=0) + _ONE_SECOND
        if fixed and start is not None and before > offset:
            lo = max(lo, start + before)  # the second pass of a repeated hour: fixed jobs ran in the first
        found = spec.next_wall(lo, last_day)
        near = moment + _NEAR
        while True:
            if end is None or (found is not None and found < end + offset):
                if found is None:
                    return None
                return (found - offset).replace(tzinfo=UTC).astimezone(tz)
            if end > near:
                # Past the first day, wall times repeated by a later change lie after
                # the moment's and did not match (found is the first match after lo):
                # only the offset at found matters, so go straight to its span.
                if found is None:
                    return None
                if found - offset > end + _FAR:
                    start, before, offset, end, after = segment(tz, found - offset - _NEAR)
                    continue
            gap_end = end + after
            if after > offset and fixed and found is not None and found < gap_end:
                return end.replace(tzinfo=UTC).astimezone(tz)  # the fixed time fell in the gap
            span_end = end + offset
            lo = max(gap_end, span_end) if fixed else gap_end
            if found is None:
                if lo >= span_end:  # nothing matched from an earlier wall time on
                    return None
                found = spec.next_wall(lo, last_day)
            elif found < lo or (lo < span_end and end <= near):
                # found lay in the gap (a wildcard job skips it), or the wall clock
                # goes back right after the moment and may match again before found.
                found = spec.next_wall(lo, last_day)
            start, before, offset, end, after = segment(tz, end)

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


def _last_day(spec: Spec, wall: _dt.datetime) -> _dt.date:
    """The last date the search looks at, from the moment's wall time (raises OverflowError near 9999)."""
    last_day = (wall - _THREE_HOURS).date() + _HORIZON
    return last_day if spec._last_day is None else spec._last_day


def _rebuild(expr: str, tz: str, seconds: bool) -> Cron:
    return Cron(expr, tz, seconds=seconds)


def parse_cron(expr: str, timezone: str | _dt.tzinfo | None = None) -> Cron:
    """Validate a cron expression and return its ``Cron`` schedule.

    Raises:
        ScheduleError: naming the field that is not valid.
    """
    return Cron(expr, timezone)
