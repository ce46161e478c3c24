"""Numeric CLI options refuse NaN, infinity and out-of-range values: one line, exit 2 (#15.18)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Each listing or window option, with the arguments that reach it.
OPTIONS = [
    ("dashboard", "--days"),
    ("dashboard", "--last"),
    ("history", "--limit"),
    ("logs", "--lines"),
    ("show", "--runs"),
]


def _invoke(autocron: Any, command: str, option: str, value: str) -> Any:
    if command == "show":
        autocron("schedule", "--name", "job", "--command", "true", "--every", "1h")
        return autocron("show", "job", option, value)
    return autocron(command, option, value)


def _one_line_naming(result: Any, option: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], lines
    assert "unexpected" not in result.output


@pytest.mark.parametrize("value", ["nan", "inf", "1e9"])
def test_dashboard_days_refuses_nan_infinity_and_too_many_days(autocron: Any, value: str) -> None:
    """`dashboard --days nan` (or inf, or more days than a date can go back) exits 2 naming --days."""
    _one_line_naming(autocron("dashboard", "--days", value), "--days")


@pytest.mark.parametrize(("command", "option"), OPTIONS)
def test_a_row_count_beyond_any_store_is_refused(autocron: Any, command: str, option: str) -> None:
    """A count too large for a database integer exits 2 naming the option, not "unexpected OverflowError"."""
    _one_line_naming(_invoke(autocron, command, option, "99999999999999999999999"), option)


_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["nan", "NaN", "inf", "Infinity", "1e308", "-0", "0x10", "1_000", "", " 5", "²"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(OPTIONS), value=_numbers)
def test_any_number_is_accepted_or_refused_cleanly(autocron: Any, case: tuple[str, str], value: str) -> None:
    """Whatever text a numeric option gets, the command succeeds or exits 2 with one line; never exit 1."""
    command, option = case
    result = _invoke(autocron, command, option, value)
    assert result.exit_code in (0, 2), (command, option, value, result.output)
    if result.exit_code == 2:
        assert option in result.stderr or "Invalid value" in result.stderr, result.stderr
    assert "unexpected" not in result.output
