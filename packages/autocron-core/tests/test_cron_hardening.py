"""Cron faults from issue 15: a weekday both plain and with #n, and digits that are not ASCII."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autocron_core import Cron, ScheduleError

UTC = dt.timezone.utc
START = dt.datetime(2026, 1, 1, tzinfo=UTC)
DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def next_days(expr: str, count: int = 12) -> list[dt.date]:
    """The dates of the next ``count`` fire times after 2026-01-01 00:00 UTC."""
    schedule = Cron(expr, "UTC")
    out: list[dt.date] = []
    moment: dt.datetime | None = START
    while len(out) < count:
        assert moment is not None
        moment = schedule.next_after(moment)
        assert moment is not None
        out.append(moment.date())
    return out


# -- (23) a weekday named plainly and with #n is a union -----------------------------
def test_plain_weekday_beside_its_nth_fires_every_week() -> None:
    """0 0 * * 6,6#3 fires every Saturday, not only the third one."""
    assert next_days("0 0 * * 6,6#3", 5) == [dt.date(2026, 1, d) for d in (3, 10, 17, 24, 31)]


def test_star_beside_an_nth_weekday_fires_every_day() -> None:
    """0 0 * * *,sat#3 fires every day: the * already holds every Saturday."""
    assert next_days("0 0 * * *,sat#3", 7) == [dt.date(2026, 1, d) for d in range(2, 9)]


@given(
    st.integers(0, 7), st.integers(1, 5), st.booleans(), st.sampled_from(["#", "L", "both"]), st.booleans()
)
def test_plain_weekday_absorbs_its_nth_and_last_forms(
    day: int, n: int, by_name: bool, form: str, plain_first: bool
) -> None:
    """Any weekday listed plainly beside its own #n or nL fires exactly as the plain weekday alone."""
    plain = DAY_NAMES[day % 7] if by_name else str(day)
    extra = {"#": [f"{plain}#{n}"], "L": [f"{day % 7}L"], "both": [f"{plain}#{n}", f"L{day % 7}"]}[form]
    items = [plain, *extra] if plain_first else [*extra, plain]
    assert next_days(f"0 0 * * {','.join(items)}") == next_days(f"0 0 * * {plain}")


# -- (26) only ASCII digits ----------------------------------------------------------
NON_ASCII_DIGITS = ["¹", "²", "①", "٣", "٠", "５", "৩", "𝟙", "߃"]
# A valid seven-field expression (croniter's order: minute hour dom month dow second year)
# with a slot per field where a digit goes.
SLOTS = {
    "minute": "{} 0 1 1 * 0 2030",
    "hour": "0 {} 1 1 * 0 2030",
    "day-of-month": "0 0 {} 1 * 0 2030",
    "month": "0 0 1 {} * 0 2030",
    "day-of-week": "0 0 * 1 {} 0 2030",
    "second": "0 0 1 1 * {} 2030",
    "year": "0 0 1 1 * 0 {}",
}


@pytest.mark.parametrize("digit", NON_ASCII_DIGITS)
def test_non_ascii_digit_alone_is_refused_naming_the_field(digit: str) -> None:
    """0 0 ٣ * * is a ScheduleError naming the day-of-month field, never a bare ValueError or a run."""
    with pytest.raises(ScheduleError) as info:
        Cron(f"0 0 {digit} * *", "UTC")
    assert "the day-of-month field" in str(info.value) and "ASCII" in str(info.value)


@given(
    st.sampled_from(list(SLOTS)),
    st.sampled_from(NON_ASCII_DIGITS),
    st.sampled_from(["{d}", "1{d}", "{d}-5", "1-{d}", "*/{d}", "1/{d}", "1,{d}", "{d}#2", "1#{d}"]),
)
def test_non_ascii_digits_anywhere_are_refused_naming_the_field(field: str, digit: str, shape: str) -> None:
    """A non-ASCII digit in any field, anywhere in an item, is a ScheduleError that names that field."""
    if "#" in shape and field != "day-of-week":
        shape = shape.replace("#", ",")
    text = shape.format(d=digit)
    expr = SLOTS[field].format(text)
    with pytest.raises(ScheduleError) as info:
        Cron(expr, "UTC")
    assert info.value.field == "cron" and info.value.value == expr
    assert f"the {field} field" in str(info.value)


def test_non_ascii_digit_in_the_seconds_first_form_names_the_seconds() -> None:
    """With cron_seconds=True the first field is the seconds, and the error says so."""
    with pytest.raises(ScheduleError, match="the second field"):
        Cron("² 0 0 * * *", "UTC", seconds=True)
