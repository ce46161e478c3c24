"""Cron analysis the adapters share: day terms, DST conflicts, exact intervals.

Core's ``Cron`` exposes its parsed fields as ``Cron.spec``; the adapters read
them here, in one place, to decide what the host can express exactly.
"""

from __future__ import annotations

import datetime as _dt
import functools
from typing import Any, NamedTuple

from autocron_core.cron import Cron
from autocron_core.errors import OSAdapterError
from autocron_core.timezones import UTC, local_zone, zone_name

__all__ = [
    "DayTerm",
    "cron_interval",
    "day_terms",
    "dst_conflict",
    "is_system_zone",
    "nth_days",
    "spec_of",
]

ALL_DAYS = frozenset(range(1, 32))
ALL_WEEKDAYS = frozenset(range(7))
_UTC_NAMES = {
    "UTC",
    "Etc/UTC",
    "Etc/UCT",
    "UCT",
    "Universal",
    "Zulu",
    "Etc/Universal",
    "Etc/Zulu",
    "GMT",
    "Etc/GMT",
    "Etc/GMT0",
    "Etc/GMT+0",
    "Etc/GMT-0",
    "GMT0",
    "Greenwich",
    "Etc/Greenwich",
}


class DayTerm(NamedTuple):
    """One alternative of a cron day rule: weekdays AND days of month (``None`` = any).

    ``last`` means the last day of the month (cron's ``L``), in place of ``days``.
    A day matches the expression when it matches any term (and the month field).
    """

    weekdays: frozenset[int] | None
    days: frozenset[int] | None
    last: bool = False


def spec_of(cron: Cron) -> Any:
    """The parsed fields of a ``Cron`` (core's ``_Spec``)."""
    return cron.spec


def nth_days(ns: frozenset[int]) -> frozenset[int]:
    """The days of month on which the n-th weekday of the month can fall, for each n."""
    return frozenset(d for n in ns for d in range((n - 1) * 7 + 1, min(n * 7, 31) + 1))


def _norm(term: DayTerm) -> DayTerm:
    weekdays = None if term.weekdays is not None and term.weekdays >= ALL_WEEKDAYS else term.weekdays
    days = None if term.days is not None and term.days >= ALL_DAYS else term.days
    return DayTerm(weekdays, days, term.last)


def day_terms(cron: Cron) -> list[DayTerm]:
    """The day rule of ``cron`` as a union of terms, with Vixie's AND/OR rule applied.

    Raises:
        OSAdapterError: ``L`` is combined with ``#n``, which no host expresses.
    """
    spec = spec_of(cron)
    if spec.unportable:
        raise OSAdapterError(f"{cron.expr!r}: no OS scheduler expresses {', '.join(spec.unportable)}")
    dom_terms: list[DayTerm] = []
    if spec.dom:
        dom_terms.append(DayTerm(None, frozenset(spec.dom)))
    if spec.dom_last:
        dom_terms.append(DayTerm(None, None, True))
    dow_terms: list[DayTerm] = []
    plain = frozenset(spec.dow) - frozenset(spec.nth)
    if plain:
        dow_terms.append(DayTerm(plain, None))
    for weekday, ns in sorted(spec.nth.items()):
        dow_terms.append(DayTerm(frozenset({weekday}), nth_days(ns)))
    if not (spec.dom_star or spec.dow_star):
        terms = [_norm(t) for t in dom_terms + dow_terms]
    else:
        terms = []
        for dt in dom_terms:
            for wt in dow_terms:
                if dt.last and wt.days is not None:
                    raise OSAdapterError(f"{cron.expr!r}: L together with #n cannot be expressed")
                days = wt.days if dt.days is None else (dt.days if wt.days is None else dt.days & wt.days)
                term = _norm(DayTerm(wt.weekdays, days, dt.last))
                if term.days is None or term.days:
                    terms.append(term)
    unique: list[DayTerm] = []
    for term in terms:
        if term not in unique:
            unique.append(term)
    return unique


def is_system_zone(tz: _dt.tzinfo, system: _dt.tzinfo | None = None) -> bool:
    """Whether ``tz`` is the host's zone (the one cron and launchd read times in)."""
    system = system if system is not None else local_zone()
    a, b = zone_name(tz), zone_name(system)
    return a == b or (a in _UTC_NAMES and b in _UTC_NAMES)


@functools.lru_cache(maxsize=64)
def _transitions(
    tz: _dt.tzinfo, first_year: int, years: int
) -> tuple[tuple[str, _dt.datetime, _dt.datetime], ...]:
    """DST changes as ``(kind, wall_start, wall_end)``: ``gap`` times do not exist,
    ``fold`` times happen twice."""
    found = []
    moment = _dt.datetime(first_year, 1, 1, tzinfo=UTC)
    end = _dt.datetime(first_year + years, 1, 1, tzinfo=UTC)
    day = _dt.timedelta(days=1)
    offset = moment.astimezone(tz).utcoffset()
    while moment < end:
        nxt = moment + day
        new = nxt.astimezone(tz).utcoffset()
        if new != offset and new is not None and offset is not None:
            low, high = moment, nxt  # the change happens in (low, high]
            while high - low > _dt.timedelta(seconds=1):
                mid = low + (high - low) / 2
                if mid.astimezone(tz).utcoffset() == offset:
                    low = mid
                else:
                    high = mid
            instant = high.replace(microsecond=0, tzinfo=None)
            if new > offset:
                found.append(("gap", instant + offset, instant + new))
            else:
                found.append(("fold", instant + new, instant + offset))
        offset = new
        moment = nxt
    return tuple(found)


def dst_conflict(cron: Cron, host: str, *, skips_rest_of_hour: bool = False) -> str | None:
    """Why ``host`` would fire ``cron`` differently from AutoCron at a DST change, or ``None``.

    AutoCron (like Debian's cron) fires a *fixed* job whose time falls in a
    spring-forward gap at the end of the gap, and runs a *wildcard* job twice in
    a repeated hour; systemd, launchd and Task Scheduler do neither. Refusing
    only the expressions that actually hit a change keeps ``0 9 * * *`` usable.

    Args:
        cron: the expression and its zone.
        host: the host's name, for the message.
        skips_rest_of_hour: the host also skips the real wall times from the
            end of a gap to the next whole hour, when the gap does not end on
            the hour (systemd: Pacific/Chatham jumps 02:45 -> 03:45 and systemd
            never fires at 03:45-03:59 that day). Found from the zone's own
            transitions, so every such zone is covered.
    """
    if getattr(cron.tz, "key", None) is None:
        return None
    spec = spec_of(cron)
    year = _dt.date.today().year
    for kind, start, end in _transitions(cron.tz, year - 1, 12):
        if skips_rest_of_hour and kind == "gap" and (end.minute or end.second):
            wall = end.replace(second=0)
            hour_end = end.replace(minute=0, second=0) + _dt.timedelta(hours=1)
            while wall < hour_end:
                if wall.hour in spec.hours and wall.minute in spec.minutes and spec.day_matches(wall.date()):
                    return (
                        f"{cron.expr!r} fires at {wall:%Y-%m-%d %H:%M} in {zone_name(cron.tz)}, just after a "
                        f"DST change that does not fall on the hour; {host} skips the rest of that hour, "
                        f"AutoCron and cron do not. Use the cron adapter, another time, or accept the "
                        f"difference with dst_tolerant=True"
                    )
                wall += _dt.timedelta(minutes=1)
        if (kind == "gap") != spec.fixed:
            continue
        wall = start.replace(second=0)
        while wall < end:
            if wall.hour in spec.hours and wall.minute in spec.minutes and spec.day_matches(wall.date()):
                what = "does not exist" if kind == "gap" else "happens twice"
                return (
                    f"{cron.expr!r} fires at {wall:%Y-%m-%d %H:%M}, which {what} in {zone_name(cron.tz)} "
                    f"(a DST change); {host} handles that time differently from AutoCron and cron. "
                    f"Use the cron adapter, a zone without DST (e.g. UTC), or accept the difference "
                    f"with dst_tolerant=True"
                )
            wall += _dt.timedelta(minutes=1)
    return None


def cron_interval(seconds: float) -> str | None:
    """A five-field cron expression that fires every ``seconds`` exactly, or ``None``.

    Only steps that divide the hour or the day evenly qualify: ``*/7`` would
    fire at :56 and again at :00, four minutes later.
    """
    if seconds != int(seconds) or seconds % 60:
        return None
    minutes = int(seconds) // 60
    if minutes < 60:
        if 60 % minutes:
            return None
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes % 60:
        return None
    hours = minutes // 60
    if hours < 24:
        if 24 % hours:
            return None
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if hours == 24:
        return "0 0 * * *"
    if hours == 24 * 7:
        return "0 0 * * 0"
    return None


def check_calendar_host(
    cron: Cron, host: str, zone_rule: str, system_zone: Any, *, dst_tolerant: bool
) -> None:
    """Refuse a cron expression a system-zone-only host (launchd, Task Scheduler) cannot run as AutoCron does.

    Args:
        cron: the expression and its zone.
        host: the host's name, for the message.
        zone_rule: how the host reads times, for the message.
        system_zone: the host's zone.
        dst_tolerant: accept DST differences knowingly.

    Raises:
        OSAdapterError: another zone than the system's, or a DST change the host handles differently.
    """
    if not is_system_zone(cron.tz, system_zone):
        raise OSAdapterError(
            f"{cron.expr!r} is in {zone_name(cron.tz)}, but {host} {zone_rule}; use the system zone"
        )
    conflict = dst_conflict(cron, host)
    if conflict and not dst_tolerant:
        raise OSAdapterError(conflict)
