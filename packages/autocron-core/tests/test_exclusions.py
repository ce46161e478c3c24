"""Exclusion calendars: exclude= dates, ranges, weekdays, holidays and business_days."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, RunStatus, ScheduleError
from autocron_core.config import tasks_from_config
from autocron_core.cron import Cron
from autocron_core.exclusions import Excluding, parse_exclusions
from autocron_core.schedules import Interval
from autocron_core.task import Task, build_task
from autocron_core.testing import FakeClock

from .conftest import T0

HAS_HOLIDAYS = importlib.util.find_spec("holidays") is not None
needs_holidays = pytest.mark.skipif(not HAS_HOLIDAYS, reason="the optional holidays package is not installed")


def fires(task: Task, start: dt.datetime, count: int) -> list[dt.datetime]:
    """The task's next ``count`` fire times after ``start``, in its time zone."""
    out: list[dt.datetime] = []
    moment = start
    for _ in range(count):
        nxt = task.schedule.next_after(moment)
        if nxt is None:
            break
        out.append(nxt.astimezone(task.timezone))
        moment = nxt
    return out


def test_weekdays_dates_and_ranges_are_skipped() -> None:
    """A daily cron skips the weekend, a single date and an inclusive range, keeping the rest."""
    task = build_task(
        "report",
        command="true",
        cron="0 9 * * *",
        timezone="UTC",
        exclude=["sat", "Sunday", "2026-12-22", "2026-12-24..2026-12-31", dt.date(2027, 1, 5)],
    )
    days = [t.date().isoformat() for t in fires(task, dt.datetime(2026, 12, 20, tzinfo=dt.UTC), 5)]
    assert days == ["2026-12-21", "2026-12-23", "2027-01-01", "2027-01-04", "2027-01-06"]


def test_business_days_is_saturday_and_sunday() -> None:
    """business_days=True excludes SAT and SUN and nothing else."""
    task = build_task("weekly", command="true", every="1d", business_days=True, timezone="UTC")
    task.schedule = task.schedule.with_inner(
        Interval("1d").anchored(dt.datetime(2026, 1, 2, 8, tzinfo=dt.UTC))
    )
    got = [t.strftime("%a") for t in fires(task, dt.datetime(2026, 1, 2, 9, tzinfo=dt.UTC), 7)]
    assert got == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon", "Tue"]
    assert task.to_dict()["exclude"] == ["SAT", "SUN"]


def test_exclusion_is_on_the_local_date_of_the_occurrence() -> None:
    """23:30 in New York on a Friday is Saturday in UTC: excluding SAT in New York keeps it."""
    task = build_task("late", command="true", cron="30 23 * * *", timezone="America/New_York", exclude="SAT")
    got = fires(task, dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC), 3)
    assert [t.strftime("%a %H:%M") for t in got] == ["Thu 23:30", "Fri 23:30", "Sun 23:30"]
    assert got[1].astimezone(dt.UTC).strftime("%a") == "Sat"


@pytest.mark.parametrize(
    ("zone", "excluded", "start", "expected"),
    [
        # Europe/London springs forward on Sunday 2026-03-29 at 01:00 (gap 01:00-02:00).
        (
            "Europe/London",
            "2026-03-28",
            dt.datetime(2026, 3, 27, 12, tzinfo=dt.UTC),
            ["2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"],
        ),
        # ... and falls back on Sunday 2026-10-25 (01:00-02:00 twice): the day is skipped whole.
        (
            "Europe/London",
            "2026-10-25",
            dt.datetime(2026, 10, 24, 12, tzinfo=dt.UTC),
            ["2026-10-26T01:30:00+00:00", "2026-10-27T01:30:00+00:00"],
        ),
        # America/New_York springs forward on 2026-03-08 at 02:00.
        (
            "America/New_York",
            "2026-03-07",
            dt.datetime(2026, 3, 6, 18, tzinfo=dt.UTC),
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        (
            "America/New_York",
            "2026-11-01",
            dt.datetime(2026, 10, 31, 12, tzinfo=dt.UTC),
            ["2026-11-02T02:30:00-05:00", "2026-11-03T02:30:00-05:00"],
        ),
    ],
)
def test_exclusions_across_dst_changes(
    zone: str, excluded: str, start: dt.datetime, expected: list[str]
) -> None:
    """Around a DST change the excluded local day is skipped and the fixed-job DST rules still hold."""
    minute_hour = "30 1" if zone == "Europe/London" else "30 2"
    task = build_task("dst", command="true", cron=f"{minute_hour} * * *", timezone=zone, exclude=excluded)
    got = fires(task, start, 2)
    assert [t.isoformat() for t in got] == expected
    assert all(t.date().isoformat() != excluded for t in got)


def test_wildcard_hourly_job_skips_the_fall_back_day_whole() -> None:
    """An hourly job on an excluded 25-hour day in New York fires none of its 25 hours."""
    task = build_task(
        "hourly", command="true", cron="0 * * * *", timezone="America/New_York", exclude="2026-11-01"
    )
    got = fires(task, dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC), 2)  # 23:00 on Oct 31 in New York
    assert [t.isoformat() for t in got] == ["2026-11-02T00:00:00-05:00", "2026-11-02T01:00:00-05:00"]


@needs_holidays
def test_holiday_calendar_gb_and_us_ca() -> None:
    """holidays:GB skips Christmas and Boxing Day; holidays:US-CA skips Cesar Chavez Day."""
    gb = build_task("gb", command="true", cron="0 9 * * *", timezone="Europe/London", exclude="holidays:GB")
    days = [t.date().isoformat() for t in fires(gb, dt.datetime(2026, 12, 24, 12, tzinfo=dt.UTC), 2)]
    assert days == ["2026-12-27", "2026-12-29"]  # 25th, 26th and Boxing Day observed on the 28th skipped
    ca = build_task(
        "ca",
        command="true",
        cron="0 9 * * *",
        timezone="America/Los_Angeles",
        exclude=["holidays:US-CA"],
        business_days=True,
    )
    days = [t.date().isoformat() for t in fires(ca, dt.datetime(2026, 3, 30, 20, tzinfo=dt.UTC), 2)]
    assert days == ["2026-04-01", "2026-04-02"]  # Tuesday 31 March is Cesar Chavez Day
    assert ca.to_dict()["exclude"] == ["SAT", "SUN", "holidays:US-CA"]


def test_missing_holidays_package_names_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the holidays package, holidays:XX fails at add time with `pip install holidays`."""
    import sys

    from autocron_core import exclusions

    monkeypatch.setitem(sys.modules, "holidays", None)  # import holidays now raises ImportError
    monkeypatch.setattr(exclusions, "_HOLIDAY_CACHE", {})
    with pytest.raises(ScheduleError, match="pip install holidays"):
        build_task("h", command="true", cron="0 9 * * *", exclude="holidays:GB")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"exclude": "2026-02-30"}, "not a date"),
        ({"exclude": "2026-12-31..2026-12-01"}, "end is not before"),
        ({"exclude": "funday"}, "expected dates"),
        ({"exclude": "SAT\n"}, "expected dates"),
        ({"exclude": "<b>SAT</b>"}, "expected dates"),
        ({"exclude": "-SAT"}, "expected dates"),
        ({"exclude": dt.datetime(2026, 12, 25, tzinfo=dt.UTC)}, "not a datetime"),
        ({"exclude": 20261225}, "expected dates"),
        ({"exclude": float("nan")}, "expected dates"),
        ({"exclude": [["SAT"]]}, "nested"),
        ({"exclude": "holidays:"}, "holiday calendar"),
        ({"exclude": "holidays:G\x1bB"}, "expected dates"),
        ({"exclude": ["MON", "TUE", "WED", "THU", "FRI"], "business_days": True}, "some weekday free"),
        ({"exclude": "0001-01-01..9999-12-31"}, "some occurrence"),
        ({"business_days": "yes"}, "True or False"),
    ],
)
def test_bad_exclusions_are_refused_at_add_time(options: dict[str, object], match: str) -> None:
    """Each bad exclude= value is a ScheduleError naming the field; nothing is added."""
    scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0))
    with pytest.raises(ScheduleError, match=match) as info:
        scheduler.add_task("x", command="true", cron="0 9 * * *", **options)
    assert info.value.field in ("exclude", "business_days")
    assert scheduler.list_tasks() == []


def test_schedule_that_only_fires_on_excluded_days_is_refused_without_hanging() -> None:
    """A Saturday-only cron with business_days has no occurrence: a clear error, not a hang."""
    with pytest.raises(ScheduleError, match="fall on excluded days"):
        build_task("never", command="true", cron="0 9 * * SAT", business_days=True)


def test_one_off_on_an_excluded_day_is_refused() -> None:
    """at= on an excluded date would never fire: refused at add time."""
    with pytest.raises(ScheduleError, match="some occurrence"):
        build_task("once", command="true", at="2099-12-25T09:00", timezone="UTC", exclude="2099-12-25")


def test_round_trip_through_dict_json_and_config() -> None:
    """The calendar survives to_dict → JSON → from_dict and a config file's entry."""
    task = build_task(
        "rt",
        command="true",
        every="2h",
        timezone="Europe/London",
        exclude=["2026-12-24..2026-12-26", "sun"],
        business_days=True,
    )
    scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0))
    scheduler.add(task)
    data = json.loads(json.dumps(task.to_dict()))
    assert data["exclude"] == ["SAT", "SUN", "2026-12-24..2026-12-26"]
    back = Task.from_dict(data)
    assert back.schedule == task.schedule  # interval anchor included
    assert isinstance(back.schedule, Excluding) and back.schedule.inner.anchor == T0
    (from_config,) = tasks_from_config(
        {
            "tasks": [
                {
                    "name": "c",
                    "command": "true",
                    "schedule": "0 6 * * *",
                    "exclude": ["SAT"],
                    "business_days": True,
                    "timezone": "UTC",
                }
            ]
        }
    )
    assert from_config.schedule.describe().endswith("except SAT, SUN")


def test_scheduler_never_fires_on_an_excluded_day(scheduler: AutoCron, clock: FakeClock) -> None:
    """Driven by the fake clock over a week, a daily task runs on weekdays only."""
    ran: list[dt.datetime] = []
    scheduler.add_task("daily", func=lambda: ran.append(clock.now()), cron="0 13 * * *", business_days=True)
    clock.advance(3600)  # T0 is Monday 2026-01-05 12:00 UTC: to 13:00, then day by day
    assert scheduler.settle()
    for _ in range(8):
        clock.advance(86400)
        assert scheduler.settle()
    assert [r.strftime("%a") for r in ran] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon", "Tue"]
    assert all(r.status is RunStatus.SUCCEEDED for r in scheduler.history("daily"))


def test_minutely_schedule_skips_a_long_range_day_by_day() -> None:
    """A long range under a minutely cron is jumped over, not walked minute by minute."""
    task = build_task("m", command="true", cron="* * * * *", timezone="UTC", exclude="2027-01-01..2036-12-31")
    (first,) = fires(task, dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC), 1)
    assert first == dt.datetime(2037, 1, 1, tzinfo=dt.UTC)


def test_exclusions_parse_to_a_stable_canonical_list() -> None:
    """Entries are canonical (weekdays in order, then dates, ranges, holidays) and de-duplicated."""
    calendar = parse_exclusions(
        ["sun", "2026-01-02", "SAT", "2026-01-01", "saturday", "2026-03-01..2026-03-02"]
    )
    assert calendar is not None
    assert calendar.entries == ["SAT", "SUN", "2026-01-01", "2026-01-02", "2026-03-01..2026-03-02"]
    assert parse_exclusions([]) is None


_ZONES = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
_CRONS = st.sampled_from(
    ["0 9 * * *", "*/30 * * * *", "30 1 * * *", "0 2 * * *", "15 */3 * * *", "0 0 * * 1-5"]
)
_DAYS = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=_ZONES,
    expr=_CRONS,
    weekdays=st.sets(st.sampled_from(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]), max_size=5),
    dates=st.lists(_DAYS, max_size=6),
    span=st.tuples(_DAYS, st.integers(0, 20)),
    start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 11, 1)),
)
def test_property_no_fire_on_an_excluded_day_and_every_other_fire_kept(
    zone: str,
    expr: str,
    weekdays: set[str],
    dates: list[dt.date],
    span: tuple[dt.date, int],
    start: dt.datetime,
) -> None:
    """Over 30 days, the excluded schedule's fires are exactly the inner fires on free local dates."""
    tz = ZoneInfo(zone)
    first, length = span
    entries: list[object] = [*weekdays, *dates, f"{first}..{first + dt.timedelta(days=length)}"]
    calendar = parse_exclusions(entries)
    assert calendar is not None
    inner = Cron(expr, tz)
    wrapped = Excluding(inner, calendar, tz)
    moment = start.replace(tzinfo=dt.UTC)
    end = moment + dt.timedelta(days=30)
    expected = []
    cursor = moment
    while True:
        nxt = inner.next_after(cursor)
        assert nxt is not None
        nxt = nxt.astimezone(dt.UTC)  # compare instants: same-zone datetimes compare ignoring fold
        if nxt > end:
            break
        if not calendar.excludes(nxt.astimezone(tz).date()):
            expected.append(nxt)
        cursor = nxt
    got = []
    cursor = moment
    while True:
        nxt = wrapped.next_after(cursor)
        assert nxt is not None
        nxt = nxt.astimezone(dt.UTC)
        if nxt > end:
            break
        assert nxt > cursor
        got.append(nxt)
        cursor = nxt
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(
        st.text(max_size=30),
        st.lists(st.text(max_size=12), max_size=4),
        st.dates(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
    )
)
def test_property_any_exclude_value_is_a_calendar_or_a_clean_error(value: object) -> None:
    """Whatever exclude= holds, add_task either accepts it or raises ScheduleError naming exclude."""
    scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0))
    try:
        scheduler.add_task("x", command="true", cron="0 9 * * *", exclude=value)
    except ScheduleError as exc:
        assert exc.field == "exclude"
        assert scheduler.list_tasks() == []
    else:
        (task,) = scheduler.list_tasks()
        assert task.next_run is not None
