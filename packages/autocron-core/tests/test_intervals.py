"""Interval parsing and fixed-rate interval schedules."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autocron_core import Interval, ScheduleError, parse_interval
from autocron_core.schedules import format_interval

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("90", 90),
        (90, 90),
        (0.5, 0.5),
        ("1.5h", 5400),
        ("2 minutes", 120),
        (dt.timedelta(minutes=3), 180),
        ("1d2h3m4s", 93784),
    ],
)
def test_parse_interval_accepts_units_compounds_and_numbers(text: object, seconds: float) -> None:
    """Every documented interval form gives the expected number of seconds."""
    assert parse_interval(text) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["5x", "0s", "", "m5", "-5m", "5m3", "1h-30m", "abc", 0, -1, True, None, "0", "nan"]
)
def test_parse_interval_rejects_bad_input_naming_field_and_value(text: object) -> None:
    """A bad interval raises ScheduleError naming the field, the value and what was expected."""
    with pytest.raises(ScheduleError) as info:
        parse_interval(text)  # type: ignore[arg-type]
    assert info.value.field == "every"
    assert info.value.value == text
    assert "expected" in str(info.value) and "5m" in str(info.value)


@given(st.lists(st.tuples(st.integers(1, 999), st.sampled_from("wdhms")), min_size=1, max_size=5))
def test_parse_interval_sums_compound_parts(parts: list[tuple[int, str]]) -> None:
    """A compound interval is the sum of its parts, whatever their order."""
    size = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
    text = "".join(f"{n}{unit}" for n, unit in parts)
    assert parse_interval(text) == sum(n * size[u] for n, u in parts)


@given(st.integers(1, 10**8))
def test_format_interval_round_trips(seconds: int) -> None:
    """format_interval writes text that parse_interval reads back to the same seconds."""
    assert parse_interval(format_interval(seconds)) == seconds


def test_interval_is_fixed_rate_from_its_anchor() -> None:
    """Occurrences are anchor + k*interval, so a late check never shifts later ones."""
    schedule = Interval("10m", anchor=T0)
    assert schedule.next_after(T0) == T0 + dt.timedelta(minutes=10)
    late = T0 + dt.timedelta(minutes=17, seconds=3)
    assert schedule.next_after(late) == T0 + dt.timedelta(minutes=20)
    assert schedule.next_after(T0 - dt.timedelta(hours=1)) == T0 + dt.timedelta(minutes=10)


@given(st.integers(1, 10**6), st.integers(-(10**9), 10**9), st.integers(0, 10**9))
def test_interval_next_after_is_strictly_increasing(
    step: int, anchor_offset: int, moment_offset: int
) -> None:
    """next_after(m) > m, and it is an occurrence: anchor + k*step with k >= 1."""
    anchor = T0 + dt.timedelta(seconds=anchor_offset)
    moment = T0 + dt.timedelta(seconds=moment_offset)
    schedule = Interval(step, anchor=anchor)
    nxt = schedule.next_after(moment)
    assert nxt > moment
    k, rest = divmod((nxt - anchor).total_seconds(), step)
    assert rest == 0 and k >= 1
    assert nxt - dt.timedelta(seconds=step) <= max(moment, anchor)


def test_interval_rejects_naive_moments() -> None:
    """Schedules work in aware time only; a naive moment is a clear error."""
    with pytest.raises(ScheduleError, match="aware"):
        Interval("5m", anchor=T0).next_after(dt.datetime(2026, 1, 1))


def test_interval_value_semantics() -> None:
    """Intervals compare and hash by step and anchor, and describe themselves."""
    assert Interval("90m", anchor=T0) == Interval(5400, anchor=T0)
    assert hash(Interval("1h")) == hash(Interval(3600))
    assert Interval("90m").describe() == "every 1h30m"
    assert Interval("1h").to_config() == {"every": "1h"}


# The grammar as a regular expression (what parse_interval used before its scanner):
# the scanner must accept exactly these texts and read the same seconds from them.
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", re.IGNORECASE)
_NUMBER = re.compile(r"\s*\d+(?:\.\d+)?\s*")
_UNIT_SECONDS = {"w": 604800, "week": 604800, "weeks": 604800, "d": 86400, "day": 86400, "days": 86400,
                 "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "m": 60, "min": 60,
                 "mins": 60, "minute": 60, "minutes": 60, "s": 1, "sec": 1, "secs": 1, "second": 1,
                 "seconds": 1}  # fmt: skip


def _oracle(text: str) -> float | None:
    if _NUMBER.fullmatch(text):
        return float(text)
    seconds, pos = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        unit = _UNIT_SECONDS.get(match.group(2).lower())
        if unit is None:
            return None
        seconds += float(match.group(1)) * unit
        pos = match.end()
    return seconds if pos == len(text) and pos else None


@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "1",
                    "30",
                    "0",
                    "1.5",
                    "2.",
                    ".5",
                    "٣",
                    " ",
                    "\t",
                    "h",
                    "m",
                    "S",
                    "min",
                    "Hours",
                    "x",
                    "1h",
                    "-",
                    "+",
                    "e",
                    "nan",
                    "ſ",
                    "ms",
                ]
            ),
            st.text(alphabet="0123456789 .hms", max_size=3),
        ),
        max_size=6,
    ).map("".join)
)
def test_parse_interval_reads_exactly_the_documented_grammar(text: str) -> None:
    """On random texts of digits, units, spaces and junk, the scanner agrees with the grammar's
    regular expression: same texts accepted, same seconds, and everything else a ScheduleError
    (beyond 100 years too)."""
    from autocron_core.schedules import MAX_SECONDS

    expected = _oracle(text)
    if expected is None or not 0 < expected <= MAX_SECONDS:
        with pytest.raises(ScheduleError):
            parse_interval(text)
    else:
        assert parse_interval(text) == expected


@pytest.mark.parametrize(
    "text",
    ["*/5 * * * *", " 0 9 * * 1-5 ", "0 0 1 1 * 2027", "@daily", "  @hourly  ", "@every_5", "@", "@dai-ly",
     "5m", "1h 30m", "90", "1 2 3 4", "1 2 3 4 5 6 7", "1 2 3 4 5 6 7 8", "1h 2m 3s 4h 5m", ""],
)  # fmt: skip
def test_looks_like_cron_tells_cron_text_from_intervals(text: str) -> None:
    """A config's ``schedule:`` text is cron when it is a nickname or has five to seven fields."""
    from autocron_core.schedules import looks_like_cron

    regex = re.compile(r"^\s*(@\w+|\S+(\s+\S+){4,6})\s*$")
    assert looks_like_cron(text) == (bool(regex.match(text)) and not _NUMBER.fullmatch(text))


def test_tasks_added_within_a_millisecond_share_one_anchored_interval() -> None:
    """An interval counts from the millisecond its task was added: tasks added in the same
    millisecond share one schedule object (memory per task), later ones get their own."""
    from autocron_core import AutoCron
    from autocron_core.testing import FakeClock

    clock = FakeClock(T0 + dt.timedelta(microseconds=123_456))
    scheduler = AutoCron(timezone="UTC", clock=clock)
    scheduler.add_task("a", func=lambda: None, every="10s")
    clock.advance(0.0004)  # 123.856 ms: the same millisecond
    scheduler.add_task("b", func=lambda: None, every="10s")
    clock.advance(0.0002)  # 124.056 ms: the next one
    scheduler.add_task("c", func=lambda: None, every="10s")
    a, b, c = (scheduler.get_task(name=n) for n in "abc")
    anchor = T0 + dt.timedelta(microseconds=123_000)
    assert a.schedule is b.schedule and a.schedule.anchor == anchor
    assert a.next_run == b.next_run == anchor + dt.timedelta(seconds=10)
    assert c.schedule is not a.schedule
    assert c.schedule.anchor == anchor + dt.timedelta(milliseconds=1)


def test_a_sub_millisecond_interval_still_fires_after_the_moment_it_was_added() -> None:
    """Truncating the anchor to the millisecond never puts a first fire at or before ``now``."""
    from autocron_core import AutoCron
    from autocron_core.testing import FakeClock

    clock = FakeClock(T0 + dt.timedelta(microseconds=999))
    scheduler = AutoCron(timezone="UTC", clock=clock)
    scheduler.add_task("fast", func=lambda: None, every=0.0003)  # 300 µs
    task = scheduler.get_task(name="fast")
    assert task.schedule.anchor == T0
    assert task.next_run == T0 + dt.timedelta(microseconds=1200)  # the first k·300 µs after 999 µs
