"""Cron next-fire computation: field by field, with the DST rules applied only near a transition.

The reference below is the candidate-by-candidate search that ``Cron`` used
before issue 16 (every wall time from 3 h before the moment to 3 h after the
answer, each mapped through the zone). It is slow and plainly right, so the
property tests hold the fast walk to it on random expressions, zones and
moments, biased towards DST transitions where the rules bite.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autocron_core import Cron, ScheduleError

UTC = dt.timezone.utc


# -- the reference: the search as it was before issue 16 -------------------------------
_MAX_SHIFT = dt.timedelta(hours=3)
_HORIZON_DAYS = 366 * 29


def _times(cron: Cron, after: dt.time | None) -> Iterator[tuple[int, int, int]]:
    spec = cron.spec
    hours, minutes, seconds = spec.hours, spec.minutes, spec.seconds
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


def _instants(cron: Cron, wall: dt.datetime) -> list[dt.datetime]:
    tz = cron.tz
    local = wall.replace(tzinfo=tz)
    first = local.astimezone(UTC)
    second = local.replace(fold=1).astimezone(UTC)
    if first == second:
        return [first]
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return [min(first, second)] if cron.fixed else sorted((first, second))
    if not cron.fixed:
        return []
    low, high = sorted((first, second))
    while (high - low) > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return [high.replace(microsecond=0)]


def reference_next_after(cron: Cron, moment: dt.datetime) -> dt.datetime | None:
    """The answer of the pre-issue-16 search (no memo)."""
    spec = cron.spec
    tz = cron.tz
    start_wall = moment.astimezone(tz).replace(tzinfo=None)
    begin = start_wall - _MAX_SHIFT
    moment_utc = moment.astimezone(UTC)
    best: dt.datetime | None = None
    stop_wall: dt.datetime | None = None
    day = begin.date()
    last_day = day + dt.timedelta(days=_HORIZON_DAYS)
    years = spec.years
    if years is not None:
        last_day = dt.date(max(years), 12, 31)
    after: dt.time | None = begin.time()
    while day <= last_day:
        if years is not None and day.year not in years:
            later = [y for y in years if y > day.year]
            if not later:
                break
            day = dt.date(min(later), 1, 1)
            after = None
            continue
        if day.month not in spec.months:
            day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            after = None
            continue
        if spec.day_matches(day):
            for h, m, s in _times(cron, after):
                wall = dt.datetime(day.year, day.month, day.day, h, m, s)
                if stop_wall is not None and wall > stop_wall:
                    return best.astimezone(tz) if best else None
                for instant in _instants(cron, wall):
                    if instant > moment_utc and (best is None or instant < best):
                        best = instant
                        stop_wall = best.astimezone(tz).replace(tzinfo=None) + _MAX_SHIFT
        day += dt.timedelta(days=1)
        after = None
        if stop_wall is not None and dt.datetime(day.year, day.month, day.day) > stop_wall:
            break
    return best.astimezone(tz) if best else None


def _fresh(cron: Cron, moment: dt.datetime) -> dt.datetime | None:
    """``next_after`` without the memo a previous call left."""
    cron._memo = None
    return cron.next_after(moment)


def _same(ours: dt.datetime | None, theirs: dt.datetime | None) -> bool:
    """Equal instants with equal wall time, offset and fold (what a user sees printed)."""
    if ours is None or theirs is None:
        return ours is theirs
    return (ours, ours.utcoffset(), ours.fold, ours.tzinfo) == (
        theirs,
        theirs.utcoffset(),
        theirs.fold,
        theirs.tzinfo,
    )


# -- strategies ----------------------------------------------------------------------
def _field(lo: int, hi: int) -> st.SearchStrategy[str]:
    value = st.integers(lo, hi)
    ranges = st.tuples(st.integers(lo, hi), st.integers(0, hi - lo)).map(
        lambda t: (t[0], min(hi, t[0] + t[1]))
    )
    item = st.one_of(
        st.just("*"),
        st.integers(1, hi - lo + 1).map(lambda n: f"*/{n}"),
        value.map(str),
        ranges.map(lambda r: f"{r[0]}-{r[1]}"),
        st.tuples(ranges, st.integers(1, 9)).map(lambda t: f"{t[0][0]}-{t[0][1]}/{t[1]}"),
        st.tuples(value, st.integers(1, 9)).map(lambda t: f"{t[0]}/{t[1]}"),
    )
    return st.one_of(item, st.lists(item, min_size=2, max_size=3).map(",".join))


_DOM = st.one_of(
    _field(1, 31),
    st.sampled_from(["?", "L", "LW", "15W", "1W", "31W", "28-L", "1,L"]),
)
_DOW = st.one_of(
    _field(0, 7),
    st.sampled_from(["?", "5L", "L0", "1#2", "0#1,5L", "6L,2#3", "fri-sun", "mon-fri"]),
)
#: Minute and hour fields that make fixed jobs (no leading ``*``) and wildcard ones.
_MINUTE = st.one_of(_field(0, 59), st.sampled_from(["0", "30", "*", "*/15", "0,30", "45", "59"]))
_HOUR = st.one_of(_field(0, 23), st.sampled_from(["1", "2", "0", "*", "1-3", "*/2", "23", "0,12"]))
_SECONDS = st.one_of(st.just(None), st.sampled_from(["0", "*/20", "30", "59", "0,15"]))
_YEAR = st.one_of(st.just(None), st.sampled_from(["*", "2026", "2026-2028", "2027/2", "2026,2030", "1999"]))


@st.composite
def expressions(draw: st.DrawFn, hour: int | None = None) -> str:
    """Five fields, sometimes with croniter's trailing seconds and a year.

    With ``hour`` (a wall hour that a DST change skips or repeats) the hour
    field usually names it, so the DST rules are what gets tested.
    """
    hours = _HOUR
    if hour is not None:
        hours = st.sampled_from([str(hour), f"{hour},{(hour + 5) % 24}", f"{max(hour - 1, 0)}-{hour}", "*"])
    fields = [draw(_MINUTE), draw(hours), draw(_DOM), draw(_field(1, 12)), draw(_DOW)]
    seconds, year = draw(_SECONDS), draw(_YEAR)
    if seconds is not None or year is not None:
        fields.append(seconds or "0")
    if year is not None:
        fields.append(year)
    return " ".join(fields)


#: Zones with every kind of change: hour and half-hour DST both hemispheres, a gap at
#: midnight, Morocco's Ramadan suspensions, Samoa's skipped day, Troll's two hours.
DST_ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Australia/Sydney",
    "Pacific/Chatham",
    "Africa/Casablanca",
    "Pacific/Apia",
    "Antarctica/Troll",
    "America/Havana",
    "Asia/Tehran",
]
ALL_ZONES = ["UTC", "Asia/Kolkata", *DST_ZONES]


def _transitions(zone: str, year: int) -> list[dt.datetime]:
    """The instants in ``year`` where ``zone``'s UTC offset changes (to the minute), by plain scanning."""
    tz = ZoneInfo(zone)
    out = []
    moment = dt.datetime(year, 1, 1, tzinfo=UTC)
    step = dt.timedelta(hours=1)
    before = moment.astimezone(tz).utcoffset()
    while moment.year == year:
        after = (moment + step).astimezone(tz).utcoffset()
        if after != before:
            low, high = moment, moment + step
            while high - low > dt.timedelta(minutes=1):
                mid = low + (high - low) / 2
                if mid.astimezone(tz).utcoffset() == before:
                    low = mid
                else:
                    high = mid
            out.append(high)
        before = after
        moment += step
    return out


_TRANSITIONS: dict[tuple[str, int], list[dt.datetime]] = {}


def _cached_transitions(zone: str, year: int) -> list[dt.datetime]:
    key = (zone, year)
    if key not in _TRANSITIONS:
        _TRANSITIONS[key] = _transitions(zone, year)
    return _TRANSITIONS[key]


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, dt.datetime]:
    """An expression, a zone and a moment: mostly within a day of one of the zone's offset changes,
    with the hour field naming the wall hour that change skips or repeats; else anywhere in 2011-2040."""
    zone = draw(st.sampled_from(ALL_ZONES))
    year = draw(st.sampled_from([2011, 2012, 2020, 2026, 2027, 2035]))
    changes = _cached_transitions(zone, year)
    if not changes or draw(st.integers(0, 4)) == 0:
        moment = dt.datetime(2011, 1, 1, tzinfo=UTC) + dt.timedelta(
            seconds=draw(st.integers(0, 30 * 365 * 86400))
        )
        return draw(expressions()), zone, moment
    change = draw(st.sampled_from(changes))
    tz = ZoneInfo(zone)
    # Wall hours around the change: the gap or the repeated span lies among them.
    before, after = (change - dt.timedelta(seconds=1)).astimezone(tz).hour, change.astimezone(tz).hour
    hour = draw(st.sampled_from([before, after, (before + 1) % 24, (after - 1) % 24]))
    shift = dt.timedelta(
        seconds=draw(st.integers(-86400, 86400)), microseconds=draw(st.sampled_from([0, 1, 500_000]))
    )
    if draw(st.booleans()):
        shift = dt.timedelta(seconds=draw(st.integers(-7200, 7200)))
    return draw(expressions(hour)), zone, change + shift


# -- the properties --------------------------------------------------------------------
@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(cases())
# Asked at the end of the first pass of London's repeated hour: a wildcard job runs
# the hour again, a fixed one waits for tomorrow.
@example(("* 1 * * *", "Europe/London", dt.datetime(2011, 10, 30, 0, 59, 59, tzinfo=UTC)))
@example(("0 1 * * *", "Europe/London", dt.datetime(2011, 10, 30, 0, 59, 59, tzinfo=UTC)))
# Asked in the second pass: a fixed job already ran at the first.
@example(("30 1 * * *", "Europe/London", dt.datetime(2026, 10, 25, 1, 10, tzinfo=UTC)))
# A fixed time in London's spring gap, in Lord Howe's half-hour repeat, on Samoa's skipped day.
@example(("30 1 * * *", "Europe/London", dt.datetime(2026, 3, 29, 0, 10, tzinfo=UTC)))
@example(("*/15 1 * * *", "Australia/Lord_Howe", dt.datetime(2026, 4, 4, 14, 50, tzinfo=UTC)))
@example(("0 9 * * *", "Pacific/Apia", dt.datetime(2011, 12, 29, 12, tzinfo=UTC)))
def test_fast_walk_fires_when_the_candidate_search_did(case: tuple[str, str, dt.datetime]) -> None:
    """Every expression fires at the same instants (offset, fold) as before issue 16, also around DST."""
    expr, zone, moment = case
    try:
        cron = Cron(expr, zone)
    except ScheduleError as exc:
        assert "never fires" in str(exc)
        return
    for _ in range(4):
        theirs = reference_next_after(cron, moment)
        ours = _fresh(cron, moment)
        assert _same(ours, theirs), (expr, zone, moment, ours, theirs)
        if ours is None:
            return
        moment = ours


class _CountingZone(dt.tzinfo):
    """A zone that counts how often it is asked for an offset (to see how much work a search does)."""

    def __init__(self, key: str) -> None:
        self.zone = ZoneInfo(key)
        self.calls = 0

    def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta | None:
        self.calls += 1
        return self.zone.utcoffset(None if moment is None else moment.replace(tzinfo=self.zone))

    def dst(self, moment: dt.datetime | None) -> dt.timedelta | None:
        return self.zone.dst(None if moment is None else moment.replace(tzinfo=self.zone))

    def tzname(self, moment: dt.datetime | None) -> str | None:
        return "counting" if moment is None else self.zone.tzname(moment.replace(tzinfo=self.zone))

    def fromutc(self, moment: dt.datetime) -> dt.datetime:
        self.calls += 1
        return self.zone.fromutc(moment.replace(tzinfo=self.zone)).replace(tzinfo=self)


@pytest.mark.parametrize("expr", ["* * * * *", "*/5 * * * *", "0 9 * * MON-FRI", "0 0 1 1 *"])
def test_next_fire_consults_the_zone_a_few_times_not_per_candidate(expr: str) -> None:
    """Away from DST changes, a next fire time costs a few offset look-ups, not one per candidate."""
    zone = _CountingZone("Europe/London")
    cron = Cron(expr, zone)
    start = dt.datetime(2026, 6, 10, 12, 0, 30, tzinfo=UTC)

    def ten_fires() -> list[dt.datetime]:
        cron._memo = None
        moment, answers = start, []
        for _ in range(10):
            found = cron.next_after(moment)
            assert found is not None
            answers.append(found)
            moment = found
        return answers

    ten_fires()  # the first search in a year learns where that year's offset changes: once per process
    zone.calls = 0
    answers = ten_fires()
    assert zone.calls <= 10 * 6, zone.calls  # before issue 16: 7,286 for `* * * * *`
    assert answers == [reference_next_after(cron, m) for m in [start, *answers[:-1]]]


def test_a_seven_hour_fall_back_repeats_every_hour_for_a_wildcard_job() -> None:
    """At Vostok's 7-hour fall-back (1994-01-31, 24:00 +07 became 17:00) an hourly job reruns each hour."""
    cron = Cron("0 * * * *", "Antarctica/Vostok")
    moment: dt.datetime | None = dt.datetime(1994, 1, 31, 16, 0, tzinfo=UTC)  # 23:00 +07
    fires = []
    for _ in range(3):
        assert moment is not None
        moment = cron.next_after(moment)
        assert moment is not None
        fires.append((moment.hour, moment.utcoffset()))
    # The search before issue 16 looked only 3 hours back and went on at 21:00 +00.
    assert fires == [(17, dt.timedelta(0)), (18, dt.timedelta(0)), (19, dt.timedelta(0))]
