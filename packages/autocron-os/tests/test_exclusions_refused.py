"""Schedules with exclusion calendars cannot be written to a host scheduler: every adapter refuses them."""

from __future__ import annotations

from typing import Any

import pytest

from autocron_core.cron import Cron
from autocron_core.errors import OSAdapterError
from autocron_core.exclusions import Excluding, parse_exclusions
from autocron_core.schedules import Interval
from autocron_core.testing.os_contract import command_task
from autocron_os import CronAdapter, LaunchdAdapter, SystemdAdapter, WindowsAdapter


def _excluding(inner: Any) -> Excluding:
    calendar = parse_exclusions(["SAT", "SUN"])
    assert calendar is not None
    return Excluding(inner, calendar, Cron("0 0 * * *", "UTC").tz)


ADAPTERS = [
    lambda: CronAdapter(user="nobody-here", system_zone=Cron("0 0 * * *", "UTC").tz, runner=_never),
    lambda: SystemdAdapter(unit_dir="/nonexistent", runner=_never),
    lambda: LaunchdAdapter(agents_dir="/nonexistent", runner=_never),
    lambda: WindowsAdapter(runner=_never),
]


def _never(argv: Any, stdin: str | None = None) -> tuple[int, str, str]:
    raise AssertionError(f"the host scheduler must not be called: {argv!r}")


@pytest.mark.parametrize("make", ADAPTERS)
@pytest.mark.parametrize("inner", [Cron("0 9 * * *", "UTC"), Interval("1h")])
def test_adapters_refuse_exclusion_calendars(make: Any, inner: Any) -> None:
    """supports() says why, and install() raises OSAdapterError before touching the host."""
    adapter = make()
    schedule = _excluding(inner)
    support = adapter.supports(schedule)
    assert not support and "cannot skip excluded days" in support.reason
    with pytest.raises(OSAdapterError, match="cannot skip excluded days"):
        adapter.install(command_task("weekdays", schedule))
