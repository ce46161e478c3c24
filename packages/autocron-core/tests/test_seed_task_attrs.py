"""A task answers to the original AutoCron's ``Task`` attribute names (its examples read them)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from autocron_core import AutoCron
from autocron_core.testing import FakeClock

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


def job() -> None:
    """A task that does nothing."""


@pytest.fixture
def scheduler() -> AutoCron:
    """A scheduler on a fake clock."""
    return AutoCron(clock=FakeClock(T0), timezone="Europe/London")


def test_interval_function_task_reads_like_the_originals(scheduler: AutoCron) -> None:
    """schedule_type, schedule_value, interval_seconds, func and the policies read as the original's did."""
    scheduler.add_task(
        "sync",
        job,
        every="1h30m",
        retries=3,
        retry_delay=10,
        timeout=30,
        overlap_policy="allow",
        max_instances=2,
    )
    task = scheduler.get_task(name="sync")
    assert task is not None
    assert (task.schedule_type, task.schedule_value, task.interval_seconds) == ("interval", "1h30m", 5400.0)
    assert task.func is job and task.script is None
    assert (task.retries, task.retry_delay, task.timeout) == (3, 10.0, 30.0)
    assert (task.overlap_policy, task.max_instances, task.misfire_grace_time, task.coalesce) == (
        "allow",
        2,
        60.0,
        True,
    )
    assert str(task.tzinfo) == "Europe/London"


def test_cron_script_task_reads_like_the_originals(scheduler: AutoCron, tmp_path: Path) -> None:
    """A cron script task gives its expression, its script path, and enabled follows pause and resume."""
    script = tmp_path / "report.py"
    script.write_text("print('report')\n")
    scheduler.add_task("report", script=str(script), cron="0 9 * * 1")
    task = scheduler.get_task(name="report")
    assert task is not None
    assert (task.schedule_type, task.schedule_value, task.interval_seconds) == ("cron", "0 9 * * 1", None)
    assert task.script == str(script) and task.func is None
    assert task.enabled is True
    scheduler.pause_task("report")
    assert task.enabled is False
    scheduler.resume_task("report")
    assert task.enabled is True


def test_the_views_cannot_be_assigned(scheduler: AutoCron) -> None:
    """Setting task.retries is an AttributeError: options change through add_task, not by assignment."""
    scheduler.add_task("sync", job, every="5m")
    task = scheduler.get_task(name="sync")
    with pytest.raises(AttributeError):
        task.retries = 5  # type: ignore[misc, union-attr]
