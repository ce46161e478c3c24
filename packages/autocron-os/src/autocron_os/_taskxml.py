"""Task Scheduler XML triggers for cron expressions, intervals and one-off times.

A cron expression becomes ``CalendarTrigger`` elements: its times of day (one
trigger with a ``Repetition`` when they form an even progression, else one per
hour or minute) times its day rule (``ScheduleByDay``, ``ByWeek``, ``ByMonth``,
``ByMonthDayOfWeek``). A repetition's ``Duration`` ends 30 seconds after the
last wanted run, so the result is the same whether the end is inclusive or not.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from xml.etree import ElementTree as ET

from autocron_core.cron import Cron
from autocron_core.errors import OSAdapterError

from ._calendar import ALL_WEEKDAYS, DayTerm, day_terms, nth_days, spec_of

__all__ = ["MAX_TRIGGERS", "calendar_triggers", "duration", "time_trigger"]

NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"
MAX_TRIGGERS = 48  # Task Scheduler's own limit per task
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_BASE_DATE = "2000-01-01"


def duration(seconds: int) -> str:
    """An ISO 8601 duration (``PT5M``, ``P1DT2H``) for whole seconds."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else ("" if days else "T0S"))


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _progression(values: list[int]) -> int | None:
    """The common step of an increasing list, or ``None`` (0 for one value)."""
    if len(values) == 1:
        return 0
    step = values[1] - values[0]
    return step if all(b - a == step for a, b in itertools.pairwise(values)) else None


def _times(cron: Cron) -> list[tuple[int, int, int]]:
    """(first minute of day, step in minutes, count) per trigger."""
    spec = spec_of(cron)
    hours, minutes = list(spec.hours), list(spec.minutes)
    all_times = [h * 60 + m for h in hours for m in minutes]
    step = _progression(all_times)
    if step is not None:
        return [(all_times[0], step, len(all_times))]
    mstep = _progression(minutes)
    if mstep is not None:
        return [(h * 60 + minutes[0], mstep, len(minutes)) for h in hours]
    hstep = _progression(hours)
    if hstep is not None:
        return [(hours[0] * 60 + m, hstep * 60, len(hours)) for m in minutes]
    return [(t, 0, 1) for t in all_times]


def _months(parent: ET.Element, months: frozenset[int]) -> None:
    node = _sub(parent, "Months")
    for m in sorted(months):
        _sub(node, _MONTHS[m - 1])


def _weekdays(parent: ET.Element, weekdays: frozenset[int]) -> None:
    node = _sub(parent, "DaysOfWeek")
    for d in sorted(weekdays):
        _sub(node, _DAYS[d])


def _day_rule(expr: str, term: DayTerm, months: frozenset[int], trigger: ET.Element) -> None:
    all_months = len(months) == 12
    if term.last:
        node = _sub(trigger, "ScheduleByMonth")
        _sub(_sub(node, "DaysOfMonth"), "Day", "Last")
        _months(node, months)
    elif term.weekdays is None and term.days is None:
        if all_months:
            _sub(_sub(trigger, "ScheduleByDay"), "DaysInterval", "1")
        else:
            node = _sub(trigger, "ScheduleByMonth")
            days = _sub(node, "DaysOfMonth")
            for d in range(1, 32):
                _sub(days, "Day", str(d))
            _months(node, months)
    elif term.days is None:
        assert term.weekdays is not None  # noqa: S101 - narrowed by the branches above
        if all_months:
            node = _sub(trigger, "ScheduleByWeek")
            _sub(node, "WeeksInterval", "1")
            _weekdays(node, term.weekdays)
        else:
            node = _sub(trigger, "ScheduleByMonthDayOfWeek")
            weeks = _sub(node, "Weeks")
            for w in ("1", "2", "3", "4", "Last"):  # together they cover every day of the month
                _sub(weeks, "Week", w)
            _weekdays(node, term.weekdays)
            _months(node, months)
    elif term.weekdays is None:
        node = _sub(trigger, "ScheduleByMonth")
        days = _sub(node, "DaysOfMonth")
        for d in sorted(term.days):
            _sub(days, "Day", str(d))
        _months(node, months)
    else:
        ns = [n for n in range(1, 5) if nth_days(frozenset({n})) <= term.days]
        if term.weekdays >= ALL_WEEKDAYS or not ns or nth_days(frozenset(ns)) != term.days:
            raise OSAdapterError(
                f"Task Scheduler cannot express {expr!r}: it has weeks 1-4 and Last of a month, not #5, "
                "nor a weekday AND day-of-month rule"
            )
        node = _sub(trigger, "ScheduleByMonthDayOfWeek")
        weeks = _sub(node, "Weeks")
        for n in ns:
            _sub(weeks, "Week", str(n))
        _weekdays(node, term.weekdays)
        _months(node, months)


def calendar_triggers(cron: Cron) -> list[ET.Element]:
    """``CalendarTrigger`` elements whose union fires exactly when ``cron`` does (host zone).

    Raises:
        OSAdapterError: seconds, a rule Task Scheduler lacks, or more than 48 triggers.
    """
    spec = spec_of(cron)
    if spec.seconds != [0]:
        raise OSAdapterError(f"Task Scheduler triggers have no seconds field: {cron.expr!r}")
    terms = day_terms(cron)
    times = _times(cron)
    if len(terms) * len(times) > MAX_TRIGGERS:
        raise OSAdapterError(
            f"{cron.expr!r} needs {len(terms) * len(times)} triggers; Task Scheduler allows {MAX_TRIGGERS}"
        )
    triggers = []
    for term in terms:
        for first, step, count in times:
            trigger = ET.Element("CalendarTrigger")
            if count > 1:
                rep = _sub(trigger, "Repetition")
                _sub(rep, "Interval", duration(step * 60))
                _sub(rep, "Duration", duration(step * 60 * (count - 1) + 30))
                _sub(rep, "StopAtDurationEnd", "false")
            _sub(trigger, "StartBoundary", f"{_BASE_DATE}T{first // 60:02d}:{first % 60:02d}:00")
            _sub(trigger, "Enabled", "true")
            _day_rule(cron.expr, term, frozenset(spec.months), trigger)
            triggers.append(trigger)
    return triggers


def time_trigger(start: _dt.datetime, every: int | None) -> ET.Element:
    """A ``TimeTrigger`` at ``start`` (UTC), repeating every ``every`` seconds forever when given."""
    trigger = ET.Element("TimeTrigger")
    if every:
        _sub(_sub(trigger, "Repetition"), "Interval", duration(every))
    _sub(trigger, "StartBoundary", start.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    _sub(trigger, "Enabled", "true")
    return trigger
