"""Fixtures for autocron-core's tests: a fake clock and a scheduler driven by it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from autocron_core import AutoCron
from autocron_core.testing import FakeClock

T0 = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    """Wall time frozen at 2026-01-05 12:00 UTC until a test moves it."""
    return FakeClock(T0)


@pytest.fixture
def scheduler(clock: FakeClock) -> Iterator[AutoCron]:
    """A started scheduler on the fake clock, stopped after the test."""
    instance = AutoCron(timezone="UTC", clock=clock, max_workers=4)
    instance.start(blocking=False)
    yield instance
    instance.stop(wait=True, timeout=5)
