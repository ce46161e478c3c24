"""Non-finite and out-of-range durations and times are refused where they enter (issue 15, faults 1 and 3).

Every duration option goes through one check (``parse_interval``): finite, in
range (at most 100 years), else a ``TaskError`` (``ScheduleError`` for the
schedule) naming the field; ``from_config`` reports the same as a
``ConfigError``; a refused task is never added. A fire time must lie before
``LATEST`` (9999-12-30 UTC); an occurrence past it means the task is done.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron
from autocron_core.errors import ConfigError, ScheduleError, TaskError
from autocron_core.policy import make_policy
from autocron_core.schedules import LATEST, MAX_SECONDS, parse_interval
from autocron_core.testing import FakeClock

T0 = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)
INF = float("inf")
DURATION_OPTIONS = ("timeout", "jitter", "retry_delay", "max_retry_delay", "misfire_grace_time")
ZONES = (
    "UTC",
    "America/New_York",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "Europe/London",
)


def job() -> None:
    """A task body that does nothing."""


def _scheduler() -> AutoCron:
    return AutoCron(timezone="UTC", clock=FakeClock(T0))


# -- fault 1: each option, each non-finite form --------------------------------


@pytest.mark.parametrize("field", DURATION_OPTIONS)
@pytest.mark.parametrize("value", [INF, 1e308, 10**400, dt.timedelta.max])
def test_a_non_finite_or_huge_duration_option_is_a_task_error_naming_it(field: str, value: object) -> None:
    """A duration option set to inf, 1e308 or the like is a TaskError naming it; no task is added."""
    scheduler = _scheduler()
    with pytest.raises(TaskError) as caught:
        scheduler.add_task(name="t", func=job, every="1m", **{field: value})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}=")
    assert scheduler.list_tasks() == []


def test_an_infinite_backoff_is_refused_even_with_a_zero_delay() -> None:
    """backoff=inf with retry_delay=0 (a NaN delay before) is a TaskError naming backoff."""
    scheduler = _scheduler()
    with pytest.raises(TaskError) as caught:
        scheduler.add_task(name="t", func=job, every="1m", retries=3, retry_delay=0, backoff=INF)
    assert caught.value.field == "backoff"
    assert scheduler.list_tasks() == []


def test_the_retry_delay_never_overflows_or_turns_nan() -> None:
    """A large finite backoff after many attempts gives max_retry_delay, not OverflowError or NaN."""
    policy = make_policy(retries=5000, retry_delay=1, backoff=1000, max_retry_delay=3600)
    assert policy.retry_delay_for(4000) == 3600
    assert make_policy(retries=3, retry_delay=0, backoff=1000).retry_delay_for(3) == 0


def test_a_json_config_with_infinity_is_a_config_error() -> None:
    """JSON ``Infinity`` for a config's timeout is a ConfigError naming timeout, not a dying scheduler."""
    text = '{"tasks": [{"name": "t", "command": "true", "every": "1m", "timeout": Infinity}]}'
    with pytest.raises(ConfigError, match="timeout"):
        AutoCron.from_config(json.loads(text), clock=FakeClock(T0))


def test_a_bool_is_not_a_timeout_even_after_the_same_number_was_seen() -> None:
    """timeout=True is refused even after timeout=1 was validated (the option cache tells them apart)."""
    make_policy(timeout=1)
    with pytest.raises(TaskError, match="timeout"):
        make_policy(timeout=True)


def test_shutdown_timeout_must_be_finite_and_in_range() -> None:
    """AutoCron(shutdown_timeout=1e308) is refused at once, not an OverflowError in stop()."""
    with pytest.raises(TaskError, match="shutdown_timeout"):
        AutoCron(shutdown_timeout=1e308, clock=FakeClock(T0))


# -- fault 3 (core side): far-future schedules -----------------------------------


@pytest.mark.parametrize("every", [1e308, "500000w", 10**30, dt.timedelta.max, dt.timedelta(days=36526)])
def test_an_interval_beyond_100_years_is_a_schedule_error(every: object) -> None:
    """every=1e308 or "500000w" is a ScheduleError naming every (not an OverflowError); nothing added,
    while exactly 100 years is still a valid interval."""
    scheduler = _scheduler()
    with pytest.raises(ScheduleError) as caught:
        scheduler.add_task(name="t", func=job, every=every)
    assert caught.value.field == "every"
    assert scheduler.list_tasks() == []
    scheduler.add_task(name="t", func=job, every=MAX_SECONDS)
    assert scheduler.get_task(name="t").next_run == T0 + dt.timedelta(seconds=MAX_SECONDS)


def test_at_the_end_of_year_9999_in_new_york_is_a_schedule_error() -> None:
    """at=9999-12-31T23:00 in America/New_York (year 10000 in UTC) is refused up front."""
    scheduler = _scheduler()
    with pytest.raises(ScheduleError) as caught:
        scheduler.add_task(name="t", func=job, at="9999-12-31T23:00", timezone="America/New_York")
    assert caught.value.field == "at"
    assert scheduler.list_tasks() == []


def test_a_start_at_past_the_last_fire_time_leaves_the_task_without_a_next_run() -> None:
    """start_at=9999-12-31T23:00 in New York: the task is added with no next run, no OverflowError."""
    scheduler = _scheduler()
    scheduler.add_task(
        name="t", func=job, every="1d", start_at="9999-12-31T23:00", timezone="America/New_York"
    )
    assert scheduler.get_task(name="t").next_run is None


def test_a_cron_task_whose_next_occurrence_is_past_9999_is_done() -> None:
    """A yearly cron job near the end of time has no next run (None), never an OverflowError."""
    clock = FakeClock(dt.datetime(9999, 6, 1, tzinfo=dt.timezone.utc))
    scheduler = AutoCron(timezone="America/New_York", clock=clock)
    scheduler.add_task(name="t", func=job, cron="0 23 31 12 *")
    assert scheduler.get_task(name="t").next_run is None


def test_an_interval_task_whose_next_occurrence_is_past_9999_is_done() -> None:
    """An interval that would next fire after LATEST has no next run, and the loop keeps going."""
    clock = FakeClock(LATEST - dt.timedelta(days=2))
    scheduler = AutoCron(timezone="UTC", clock=clock)
    scheduler.add_task(name="t", func=job, every="1w")
    scheduler.add_task(name="soon", func=job, every="1h")
    assert scheduler.get_task(name="t").next_run is None
    scheduler.start(blocking=False)
    try:
        clock.advance(3600)
        assert scheduler.settle(5)
        assert scheduler.health()["healthy"]
        assert [r.status.value for r in scheduler.history("soon")] == ["succeeded"]
    finally:
        scheduler.stop(timeout=5)


# -- the class: hostile durations through add_task and the config loader ---------

_huge_floats = st.sampled_from([INF, -INF, math.nan, 1e308, -1e308, 1.7976931348623157e308, 3.2e9, -1.0])
durations = st.one_of(
    _huge_floats,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([dt.timedelta.max, dt.timedelta.min, dt.timedelta(days=36526), -dt.timedelta(seconds=1)]),
    st.sampled_from(["1e308s", "inf", "nan", "-inf", "Infinity", "500000w", "99999999999999999999d", "-5s"]),
    st.builds(lambda n, u: f"{n}{u}", st.integers(min_value=0, max_value=10**30), st.sampled_from("smhdw")),
)


#: The other end of the retry delay range, set so that only the value under test can be refused.
_PARTNER: dict[str, dict[str, object]] = {
    "retry_delay": {"max_retry_delay": MAX_SECONDS},
    "max_retry_delay": {"retry_delay": 0},
}


def _acceptable(value: object, field: str = "jitter") -> float | None:
    """The seconds a duration stands for when it is finite and in range, else None (the oracle).

    ``timeout`` and ``every`` must be above zero; the other durations may be zero.
    """
    try:
        seconds = parse_interval(value, allow_zero=field not in ("timeout", "every"))  # type: ignore[arg-type]
    except ScheduleError:
        return None
    assert math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS
    if field == "every" and round(seconds * 1_000_000) == 0:  # an interval counts whole microseconds
        return None
    return seconds


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from((*DURATION_OPTIONS, "every", "backoff")), value=durations)
def test_any_duration_is_refused_cleanly_or_stored_finite(field: str, value: object) -> None:
    """Through add_task, a duration is either kept as a finite value in range or refused with a
    TaskError/ScheduleError naming the field, and then no task was added."""
    scheduler = _scheduler()
    options: dict[str, object] = {"every": "1m", **_PARTNER.get(field, {}), field: value}
    try:
        scheduler.add_task(name="t", func=job, **options)
    except (TaskError, ScheduleError) as exc:
        assert exc.field == field
        assert scheduler.list_tasks() == []
        return
    task = scheduler.get_task(name="t")
    kept = task.schedule.seconds if field == "every" else getattr(task.policy, field)
    assert kept is not None and math.isfinite(kept)
    if field == "backoff":
        assert 1 <= kept <= 1000
    else:
        assert 0 <= kept <= MAX_SECONDS
        assert _acceptable(value, field) is not None
    next_run = task.next_run
    assert next_run is not None and next_run <= LATEST


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from((*DURATION_OPTIONS, "every")),
    value=st.one_of(_huge_floats, st.floats(), st.integers(min_value=-(10**20), max_value=10**20)),
)
def test_any_duration_in_a_json_config_is_refused_cleanly_or_accepted(field: str, value: float) -> None:
    """Through from_config (JSON text, with Infinity and NaN as Python's json writes them), a
    duration gives a working scheduler or a ConfigError naming the field, never another exception."""
    entry = {"name": "t", "command": "true", "every": "1m", **_PARTNER.get(field, {}), field: value}
    text = json.dumps({"tasks": [entry]})
    try:
        scheduler = AutoCron.from_config(json.loads(text), clock=FakeClock(T0))
    except ConfigError as exc:
        assert field in str(exc)
        assert _acceptable(value, field) is None
        return
    assert _acceptable(value, field) is not None
    assert [t.name for t in scheduler.list_tasks()] == ["t"]


@settings(max_examples=150, deadline=None)
@given(
    moment=st.one_of(  # the whole range, and the last days of year 9999 where the edge is
        st.datetimes(min_value=dt.datetime(2026, 1, 6), max_value=dt.datetime.max),
        st.datetimes(min_value=dt.datetime(9999, 12, 28), max_value=dt.datetime.max),
    ),
    zone=st.sampled_from(ZONES),
)
def test_any_at_time_up_to_9999_gives_a_next_run_or_a_clean_refusal(moment: dt.datetime, zone: str) -> None:
    """at= any time up to 9999-12-31 in several zones: a ScheduleError naming at, or a task whose
    next_run is that very moment (and shows as a datetime), never another exception."""
    scheduler = _scheduler()
    try:
        scheduler.add_task(name="t", func=job, at=moment, timezone=zone)
    except ScheduleError as exc:
        assert exc.field == "at"
        assert scheduler.list_tasks() == []
        return
    task = scheduler.get_task(name="t")
    assert task.next_run is not None and task.next_run <= LATEST
    assert task.next_run == moment.replace(tzinfo=task.timezone)
