"""Exclusion calendars: days on which a task does not fire, and the schedule that skips them.

``exclude=`` takes one entry or a list of entries:

- a date: ``"2026-12-25"`` or a ``datetime.date`` (not a ``datetime``);
- an inclusive range of dates: ``"2026-12-24..2026-12-31"`` (the one range
  syntax: a two-item tuple would read as a list of two dates);
- a weekday: ``"SAT"``, ``"sun"``, ``"Monday"``;
- a holiday calendar: ``"holidays:GB"``, ``"holidays:US-CA"`` (country, then an
  optional subdivision), through the optional ``holidays`` package.

``business_days=True`` adds ``SAT`` and ``SUN``. Every check is made on the
*local date of the occurrence*, in the task's time zone.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Iterable

from .errors import ScheduleError
from .schedules import Interval, Schedule

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["WEEKDAYS", "Excluding", "ExclusionCalendar", "exclude_schedule", "parse_exclusions"]

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_FULL_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_EXPECTED = (
    'dates ("2026-12-25"), ranges ("2026-12-24..2026-12-31"), weekdays ("SAT"), '
    'holiday calendars ("holidays:GB", "holidays:US-CA"), or a list of them'
)
_HOLIDAYS_INSTALL = "pip install holidays"
#: Runs of consecutive excluded days the search walks through before giving up:
#: far beyond any real calendar (ranges are jumped over whole), and bounded, so a
#: calendar that leaves no day free is an error, never a hang.
MAX_EXCLUDED_RUN = 100_000
#: Occurrences of the inner schedule that may fall on excluded days in a row.
MAX_SKIPPED_FIRES = 10_000
_ONE_DAY = _dt.timedelta(days=1)
_ONE_US = _dt.timedelta(microseconds=1)

_HOLIDAY_CACHE: dict[str, Any] = {}
_HOLIDAY_LOCK = threading.Lock()  # a holidays object fills in years as it is asked: not thread-safe


def _holiday_calendar(spec: str, given: Any) -> Any:
    """The ``holidays`` object for ``"GB"`` or ``"US-CA"``, made once per spec.

    Raises:
        ScheduleError: the package is missing (with the pip line) or does not know the place.
    """
    with _HOLIDAY_LOCK:
        found = _HOLIDAY_CACHE.get(spec)
        if found is not None:
            return found
        try:
            import importlib

            holidays = importlib.import_module("holidays")  # optional: no stubs needed when absent
        except ImportError:
            raise ScheduleError(
                "exclude",
                given,
                "a holiday calendar from the optional holidays package",
                detail=f"it is not installed; install it with: {_HOLIDAYS_INSTALL}",
            ) from None
        country, _, subdiv = spec.partition("-")
        try:
            calendar = holidays.country_holidays(country, subdiv=subdiv or None)
        except (NotImplementedError, KeyError, ValueError) as exc:
            raise ScheduleError(
                "exclude",
                given,
                'a country (and subdivision) the holidays package knows, e.g. "holidays:GB"',
                detail=str(exc),
            ) from None
        _HOLIDAY_CACHE[spec] = calendar
        return calendar


def _parse_date(text: str, given: Any) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleError(
            "exclude", given, _EXPECTED, detail=f"{text!r} is not a date YYYY-MM-DD"
        ) from None


class ExclusionCalendar:
    """An immutable set of excluded local dates: single dates, ranges, weekdays, holidays.

    Build it with ``parse_exclusions``; ``entries`` is its canonical text form,
    which ``parse_exclusions`` reads back (what task files and stores hold).
    """

    __slots__ = ("_holidays", "dates", "holiday_specs", "ranges", "weekdays")

    def __init__(
        self,
        weekdays: frozenset[int],
        dates: frozenset[_dt.date],
        ranges: tuple[tuple[_dt.date, _dt.date], ...],
        holiday_specs: tuple[str, ...],
    ) -> None:
        self.weekdays = weekdays
        self.dates = dates
        self.ranges = ranges
        self.holiday_specs = holiday_specs
        self._holidays = tuple(_holiday_calendar(spec, f"holidays:{spec}") for spec in holiday_specs)

    @property
    def entries(self) -> list[str]:
        """The calendar as ``exclude=`` text entries, in a stable order."""
        out = [WEEKDAYS[day] for day in sorted(self.weekdays)]
        out += [day.isoformat() for day in sorted(self.dates)]
        out += [f"{start.isoformat()}..{end.isoformat()}" for start, end in self.ranges]
        out += [f"holidays:{spec}" for spec in self.holiday_specs]
        return out

    def excludes(self, day: _dt.date) -> bool:
        """Whether ``day`` (a local date) is excluded."""
        if day.weekday() in self.weekdays or day in self.dates:
            return True
        for start, end in self.ranges:
            if start <= day <= end:
                return True
        if self._holidays:
            with _HOLIDAY_LOCK:
                return any(day in calendar for calendar in self._holidays)
        return False

    def next_free_day(self, day: _dt.date) -> _dt.date | None:
        """The first date after ``day`` that is not excluded, or ``None`` (past year 9999).

        Ranges are jumped over whole; other excluded days one at a time, at most
        ``MAX_EXCLUDED_RUN`` of them.

        Raises:
            ScheduleError: more than ``MAX_EXCLUDED_RUN`` excluded days in a row.
        """
        try:
            candidate = day + _ONE_DAY
            for _ in range(MAX_EXCLUDED_RUN):
                if not self.excludes(candidate):
                    return candidate
                ends = [end for start, end in self.ranges if start <= candidate <= end]
                candidate = (max(ends) if ends else candidate) + _ONE_DAY
        except OverflowError:  # past 9999-12-31: nothing is free any more
            return None
        raise ScheduleError(
            "exclude",
            self.entries,
            "a calendar that leaves some days free",
            detail=f"more than {MAX_EXCLUDED_RUN} excluded days in a row after {day.isoformat()}",
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExclusionCalendar) and other.entries == self.entries

    def __hash__(self) -> int:
        return hash(tuple(self.entries))

    def __repr__(self) -> str:
        return f"ExclusionCalendar({self.entries!r})"


def _flatten(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, _dt.date)):
        return [value]
    if isinstance(value, ExclusionCalendar):
        return list(value.entries)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        items: list[Any] = []
        for item in value:
            if isinstance(item, (list, tuple, set, frozenset)):
                raise ScheduleError("exclude", value, _EXPECTED, detail=f"{item!r} is a nested list")
            items.append(item)
        return items
    raise ScheduleError("exclude", value, _EXPECTED)


def parse_exclusions(value: Any, *, business_days: bool = False) -> ExclusionCalendar | None:
    """Validate ``exclude=`` (and ``business_days=``) into a calendar; ``None`` when empty.

    Raises:
        ScheduleError: naming the entry and what was expected; a calendar that
            excludes all seven weekdays; a holiday calendar without the
            ``holidays`` package (the error carries ``pip install holidays``).
    """
    if not isinstance(business_days, bool):
        raise ScheduleError("business_days", business_days, "True or False")
    weekdays: set[int] = {5, 6} if business_days else set()
    dates: set[_dt.date] = set()
    ranges: set[tuple[_dt.date, _dt.date]] = set()
    specs: list[str] = []
    for item in _flatten(value):
        if isinstance(item, _dt.datetime):
            raise ScheduleError("exclude", item, "a date, not a datetime (whole local days are excluded)")
        if isinstance(item, _dt.date):
            dates.add(item)
            continue
        if not isinstance(item, str):
            raise ScheduleError("exclude", item, _EXPECTED)
        text = item.strip()
        upper = text.upper()
        if not text or not item.isprintable():
            raise ScheduleError("exclude", item, _EXPECTED)
        if upper in WEEKDAYS:
            weekdays.add(WEEKDAYS.index(upper))
        elif upper in _FULL_NAMES:
            weekdays.add(_FULL_NAMES.index(upper))
        elif text.lower().startswith("holidays:"):
            spec = text.partition(":")[2].strip().upper()
            country, _, subdiv = spec.partition("-")
            if not (country.isascii() and country.isalpha() and 2 <= len(country) <= 3) or (
                subdiv and not (subdiv.isascii() and subdiv.replace("-", "").isalnum())
            ):
                raise ScheduleError(
                    "exclude", item, 'a holiday calendar "holidays:CC" or "holidays:CC-SUBDIV" (ISO codes)'
                )
            if spec not in specs:
                specs.append(spec)
        elif ".." in text:
            first, _, last = text.partition("..")
            start, end = _parse_date(first, item), _parse_date(last, item)
            if end < start:
                raise ScheduleError("exclude", item, "a range whose end is not before its start")
            ranges.add((start, end))
        else:
            dates.add(_parse_date(text, item))
    if len(weekdays) == 7:
        raise ScheduleError(
            "exclude",
            value if value is not None else "business_days",
            "a calendar that leaves some weekday free",
            detail="every day of the week is excluded, so the task could never fire",
        )
    if not (weekdays or dates or ranges or specs):
        return None
    return ExclusionCalendar(frozenset(weekdays), frozenset(dates), tuple(sorted(ranges)), tuple(specs))


def _local_midnight(day: _dt.date, tz: _dt.tzinfo) -> _dt.datetime:
    """The first instant of ``day`` in ``tz`` (after a gap at midnight: its end, per fold=0)."""
    return _dt.datetime(day.year, day.month, day.day, tzinfo=tz)


class Excluding(Schedule):
    """``inner``'s occurrences, except those whose local date (in ``tz``) the calendar excludes.

    Every occurrence of ``inner`` on a free day is kept, unchanged; an excluded
    day is skipped whole (the search asks ``inner`` for its first occurrence
    from the next free day's midnight), so a minutely schedule over a
    fortnight's holiday costs one step per day, not one per minute.
    """

    __slots__ = ("calendar", "inner", "tz")
    kind = "excluding"

    def __init__(self, inner: Schedule, calendar: ExclusionCalendar, tz: _dt.tzinfo) -> None:
        if isinstance(inner, Excluding):
            raise ScheduleError("exclude", calendar.entries, "one exclusion calendar per schedule")
        self.inner = inner
        self.calendar = calendar
        self.tz = tz

    def with_inner(self, inner: Schedule) -> Excluding:
        """The same exclusions over another schedule (an anchored interval, a new cron)."""
        return Excluding(inner, self.calendar, self.tz)

    def next_after(self, moment: _dt.datetime) -> _dt.datetime | None:
        """The first occurrence of ``inner`` after ``moment`` on a day that is not excluded.

        Raises:
            ScheduleError: more than ``MAX_SKIPPED_FIRES`` occurrences in a row
                fall on excluded days.
        """
        candidate = self.inner.next_after(moment)
        calendar, tz = self.calendar, self.tz
        for _ in range(MAX_SKIPPED_FIRES):
            if candidate is None:
                return None
            day = candidate.astimezone(tz).date()
            if not calendar.excludes(day):
                return candidate
            free = calendar.next_free_day(day)
            if free is None:
                return None
            # Strictly after the skipped candidate: the free day starts after it.
            candidate = self.inner.next_after(_local_midnight(free, tz) - _ONE_US)
        raise ScheduleError(
            "exclude",
            calendar.entries,
            "a calendar that leaves some occurrences of the schedule",
            detail=f"{MAX_SKIPPED_FIRES} occurrences in a row of {self.inner.describe()} "
            "fall on excluded days",
        )

    def to_config(self) -> dict[str, Any]:
        return {**self.inner.to_config(), "exclude": self.calendar.entries}

    def describe(self) -> str:
        return f"{self.inner.describe()}, except {', '.join(self.calendar.entries)}"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Excluding)
            and other.inner == self.inner
            and other.calendar == self.calendar
            and other.tz == self.tz
        )

    def __hash__(self) -> int:
        return hash((Excluding, self.inner, self.calendar))

    def __repr__(self) -> str:
        return f"Excluding({self.inner!r}, {self.calendar.entries!r})"


def exclude_schedule(schedule: Schedule, exclude: Any, business_days: bool, tz: _dt.tzinfo) -> Schedule:
    """``schedule`` wrapped in the calendar ``exclude``/``business_days`` name (itself when none).

    Raises:
        ScheduleError: the calendar is invalid, or leaves the schedule no occurrence.
    """
    calendar = parse_exclusions(exclude, business_days=business_days)
    if calendar is None:
        return schedule
    wrapped = Excluding(schedule, calendar, tz)
    now = _dt.datetime.now(_dt.timezone.utc)
    if schedule.next_after(now) is not None and wrapped.next_after(now) is None:
        raise ScheduleError(
            "exclude",
            calendar.entries,
            "a calendar that leaves the schedule some occurrence",
            detail=f"every remaining occurrence of {schedule.describe()} falls on an excluded day",
        )
    return wrapped


def unanchored_interval(schedule: Schedule) -> Interval | None:
    """The interval a task must anchor when it is registered (bare or under exclusions)."""
    inner = schedule.inner if isinstance(schedule, Excluding) else schedule
    if isinstance(inner, Interval) and inner.anchor is None:
        return inner
    return None


def with_interval(schedule: Schedule, interval: Interval) -> Schedule:
    """``schedule`` with its interval replaced by ``interval`` (anchored)."""
    return schedule.with_inner(interval) if isinstance(schedule, Excluding) else interval


def interval_of(schedule: Schedule) -> Interval | None:
    """The interval of a schedule, bare or under exclusions."""
    inner = schedule.inner if isinstance(schedule, Excluding) else schedule
    return inner if isinstance(inner, Interval) else None
