"""Notifier durations are finite and in range, like every duration in AutoCron (issue 15, fault 1)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core.errors import ConfigError
from autocron_core.schedules import MAX_SECONDS
from autocron_notify.webhook import WebhookNotifier

URL = "https://hooks.example.com/x"


@pytest.mark.parametrize("value", [float("inf"), "inf", "Infinity", 1e308, 10**400])
def test_an_infinite_webhook_timeout_is_a_config_error(value: object) -> None:
    """webhook timeout=inf (YAML .inf, JSON Infinity) is refused naming timeout: no endless send."""
    with pytest.raises(ConfigError) as caught:
        WebhookNotifier(URL, timeout=value)  # type: ignore[arg-type]
    assert caught.value.field == "timeout"


@settings(max_examples=100, deadline=None)
@given(
    field=st.sampled_from(["timeout", "retry_delay", "max_retry_delay"]),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.sampled_from(["inf", "-inf", "nan", "1e308", "10", "0", "-1"]),
    ),
)
def test_any_webhook_duration_is_finite_or_refused(field: str, value: object) -> None:
    """Each webhook duration setting is kept as a finite number up to 100 years, or a ConfigError names it."""
    options = {"max_retry_delay": MAX_SECONDS} if field == "retry_delay" else {}
    try:
        notifier = WebhookNotifier(URL, **{**options, field: value})  # type: ignore[arg-type]
    except ConfigError as exc:
        assert exc.field == field
        return
    kept = getattr(notifier, field)
    assert math.isfinite(kept) and 0 <= kept <= MAX_SECONDS
