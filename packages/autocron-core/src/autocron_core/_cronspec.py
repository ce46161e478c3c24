"""The parsed fields of a cron expression and the field-by-field walk to its next wall time.

``next_wall`` finds the first wall time at or after a given one that the
fields name: the day first (skipping months and years the fields exclude,
jumping straight to the next day of month or weekday when only one day field
restricts), then the hour, minute and second by table lookups. It knows
nothing of time zones; ``cron`` maps wall times to instants and applies the
DST rules.
"""

from __future__ import annotations

import datetime as _dt

from ._cronfields import parse_dom, parse_dow, parse_field

__all__ = ["Spec"]

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


def _next_table(values: list[int], size: int) -> tuple[int, ...]:
    """For each n in 0..size, the least value >= n (``size`` when none): one index instead of a bisect."""
    table = [size] * (size + 1)
    for n in range(size - 1, -1, -1):
        table[n] = n if n in values else table[n + 1]
    return tuple(table)


class Spec:
    """The parsed fields of one expression; shared by every ``Cron`` with that text."""

    __slots__ = (
        "_dom_jump",
        "_dom_more",
        "_dow_ahead",
        "_dow_jump",
        "_dow_more",
        "_every_day",
        "_first_time",
        "_last_day",
        "_months",
        "_next_dom",
        "_next_hour",
        "_next_minute",
        "_next_month",
        "_next_second",
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
        self._plan_walk()

    def _plan_walk(self) -> None:
        """Lookup tables for ``next_wall``: the next hour, minute, second and day by index."""
        self._next_hour = _next_table(self.hours, 24)
        self._next_minute = _next_table(self.minutes, 60)
        self._next_second = _next_table(self.seconds, 60)
        self._next_dom = _next_table(sorted(self.dom), 32)
        self._months = sorted(self.months)
        self._next_month = _next_table(self._months, 13)
        self._first_time = (self.hours[0], self.minutes[0], self.seconds[0])
        self._last_day = None if self.years is None else _dt.date(max(self.years), 12, 31)
        every_dom = self.dom.issuperset(range(1, 32))
        every_dow = self._plain.issuperset(range(7))
        if self.dom_star or self.dow_star:  # both day fields must match
            self._every_day = every_dom and every_dow
            self._dom_jump = every_dow and not every_dom and not self._dom_more
            self._dow_jump = every_dom and not every_dow and not self._dow_more
        else:  # either matches
            self._every_day = every_dom or every_dow
            self._dom_jump = self._dow_jump = False
        # Days from a date with Python weekday w (Monday = 0) to the next matching weekday.
        cron_days = [(w + 1) % 7 for w in range(7)]
        self._dow_ahead = tuple(
            next((k for k in range(7) if cron_days[(w + k) % 7] in self._plain), 7) for w in range(7)
        )

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
        """Whether the date fires (month and both day fields, by the day-field rule)."""
        if day.month not in self.months:
            return False
        dom_ok = day.day in self.dom or (self._dom_more and self._dom_extra(day))
        weekday = (day.weekday() + 1) % 7  # cron counts from Sunday = 0
        dow_ok = weekday in self._plain or (self._dow_more and self._dow_extra(day, weekday))
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    def next_day(self, day: _dt.date, last_day: _dt.date) -> _dt.date | None:
        """The first date from ``day`` on that fires, or None when none does by ``last_day``."""
        months, years = self.months, self.years
        while day <= last_day:
            if years is not None and day.year not in years:
                later = [y for y in years if y > day.year]
                if not later:
                    return None
                day = _dt.date(min(later), 1, 1)
                continue
            if day.month not in months:
                month = self._next_month[day.month]
                day = (
                    _dt.date(day.year, month, 1)
                    if month <= 12
                    else _dt.date(day.year + 1, self._months[0], 1)
                )
                continue
            # These jumps (and the month one above) buy `15 14 1 * *`, `0 0 1 1 *` and
            # `0 9 * * mon-fri` their place under 0.5x APScheduler (benchmarks/README.md,
            # next_fire): no day-by-day walk.
            if self._every_day:
                return day
            if self._dom_jump:
                dom = self._next_dom[day.day]
                if dom <= 28 or dom <= _month_length(day):
                    return day.replace(day=dom)
                day = (day.replace(day=1) + _dt.timedelta(days=32)).replace(day=1)
                continue
            if self._dow_jump:
                ahead = self._dow_ahead[day.weekday()]
                if ahead == 0:
                    return day
                day += _dt.timedelta(days=ahead)
                continue
            if self.day_matches(day):
                return day
            day += _ONE_DAY
        return None

    def next_wall(self, lo: _dt.datetime, last_day: _dt.date) -> _dt.datetime | None:
        """The first wall time at or after ``lo`` (whole seconds) that fires, dated by ``last_day``."""
        today = lo.date()
        day = self.next_day(today, last_day)
        if day is None:
            return None
        if day == today:
            # The rest of today: the next hour, minute and second by table lookups.
            h, m, s = lo.hour, lo.minute, lo.second
            hour = self._next_hour[h]
            if hour == h:
                minute = self._next_minute[m]
                if minute == m:
                    second = self._next_second[s]
                    if second < 60:
                        return lo.replace(second=second)
                    minute = self._next_minute[m + 1]
                if minute < 60:
                    return lo.replace(minute=minute, second=self.seconds[0])
                hour = self._next_hour[h + 1]
            if hour < 24:
                return lo.replace(hour=hour, minute=self.minutes[0], second=self.seconds[0])
            day = self.next_day(today + _ONE_DAY, last_day)
            if day is None:
                return None
        return _dt.datetime(day.year, day.month, day.day, *self._first_time)
