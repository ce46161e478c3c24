"""Issue 17 features through the decorator and config files, not only add_task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autocron_core import (
    AutoCron,
    ConfigError,
    Reschedule,
    get_global_scheduler,
    reset_global_scheduler,
    schedule,
)
from autocron_core.exclusions import Excluding


def test_decorator_takes_exclude_business_days_and_policies() -> None:
    """@schedule passes exclude=, business_days= and the new overlap policies to add_task."""
    reset_global_scheduler()
    try:

        @schedule(cron="0 9 * * *", exclude="holidays:GB", business_days=True, overlap_policy="buffer_one")
        def report() -> Reschedule:
            return Reschedule(every="1h")

        task = get_global_scheduler().get_task(name="report")
        assert task is not None and isinstance(task.schedule, Excluding)
        assert task.schedule.calendar.entries == ["SAT", "SUN", "holidays:GB"]
        assert task.policy.overlap_policy == "buffer_one"
    finally:
        reset_global_scheduler()


def test_config_file_with_calendar_and_policies(tmp_path: Path) -> None:
    """A JSON config's task entry takes exclude:, business_days: and overlap_policy: buffer_all."""
    path = tmp_path / "autocron.json"
    path.write_text(
        json.dumps(
            {
                "tasks": [
                    {"name": "a", "command": "true", "schedule": "0 9 * * *", "timezone": "Europe/London",
                     "exclude": ["2026-12-24..2026-12-31", "sun"], "business_days": True,
                     "overlap_policy": "buffer_all"},
                    {"name": "b", "command": "true", "every": "5m", "overlap_policy": "terminate_other"},
                ]
            }
        )
    )  # fmt: skip
    scheduler = AutoCron.from_config(str(path))
    a, b = scheduler.get_task(name="a"), scheduler.get_task(name="b")
    assert a is not None and a.schedule.describe().endswith("except SAT, SUN, 2026-12-24..2026-12-31")
    assert a.policy.overlap_policy == "queue"
    assert b is not None and b.policy.overlap_policy == "terminate_other"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"exclude": "2026-13-01"}, "exclude"),
        ({"business_days": "yes"}, "business_days"),
        ({"overlap_policy": "cancel_everything"}, "overlap_policy"),
        ({"exclude": ["MON", "TUE", "WED", "THU", "FRI"], "business_days": True}, "exclude"),
    ],
)
def test_config_file_bad_calendar_names_the_field(
    tmp_path: Path, entry: dict[str, object], field: str
) -> None:
    """A bad calendar or policy in a config file is a ConfigError naming the field and the file."""
    path = tmp_path / "autocron.json"
    path.write_text(json.dumps({"tasks": [{"name": "a", "command": "true", "cron": "0 9 * * *", **entry}]}))
    with pytest.raises(ConfigError) as info:
        AutoCron.from_config(str(path))
    assert info.value.field == field and str(path) in str(info.value)
