"""Issue 17 in the CLI: --exclude, --business-days, the new --overlap policies, reschedule, next."""

from __future__ import annotations

import json

import pytest


def test_schedule_with_exclusions_and_show_lists_fires_without_them(autocron, store) -> None:
    """schedule --exclude/--business-days saves the calendar; show's next runs skip the excluded days."""
    result = autocron(
        "schedule", "--command", "true", "--name", "rep", "--cron", "0 9 * * *", "--timezone", "UTC",
        "--business-days", "--exclude", "holidays:GB", "--overlap", "cancel_other",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (task,) = store.load_tasks()
    assert task.to_dict()["exclude"] == ["SAT", "SUN", "holidays:GB"]
    assert task.policy.overlap_policy == "cancel_other"
    shown = autocron("show", "rep", "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["exclude"] == ["SAT", "SUN", "holidays:GB"]
    text = autocron("show", "rep").stdout
    assert "except SAT, SUN, holidays:GB" in text
    line = next(line for line in text.splitlines() if "next runs:" in line)
    import datetime as dt

    for part in line.split(":", 1)[1].split(","):
        day = dt.date.fromisoformat(part.split()[0])
        assert day.weekday() < 5


@pytest.mark.parametrize("policy", ["buffer_one", "buffer_all", "terminate_other"])
def test_schedule_accepts_the_new_overlap_policies(autocron, store, policy: str) -> None:
    """--overlap takes buffer_one, buffer_all (saved as queue) and terminate_other."""
    result = autocron("schedule", "--command", "true", "--every", "1m", "--overlap", policy)
    assert result.exit_code == 0, result.stderr
    (task,) = store.load_tasks()
    assert task.policy.overlap_policy == ("queue" if policy == "buffer_all" else policy)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--exclude", "2026-02-30"], "--exclude '2026-02-30'"),
        (["--exclude", "-SAT"], "--exclude '-SAT'"),
        (["--exclude", "SAT\x1b[31m"], "--exclude"),
        (["--exclude", "MON", "--exclude", "TUE", "--exclude", "WED", "--exclude", "THU", "--exclude", "FRI",
          "--business-days"], "some weekday free"),
        (["--overlap", "cancel"], "cancel"),
    ],
)  # fmt: skip
def test_schedule_refuses_bad_exclusions(autocron, store, args: list[str], needle: str) -> None:
    """A bad --exclude or --overlap is exit code 2 with one line naming it; nothing is saved."""
    result = autocron("schedule", "--command", "true", "--cron", "0 9 * * *", *args)
    assert result.exit_code == 2
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert store.load_tasks() == []


def test_reschedule_changes_the_schedule_and_keeps_state(autocron, store) -> None:
    """reschedule --cron/--exclude replaces the schedule; run counts and the task id stay."""
    autocron("schedule", "--command", "true", "--name", "job", "--every", "1h")
    (before,) = store.load_tasks()
    before.run_count = 7
    store.save_task(before)
    result = autocron("reschedule", "job", "--cron", "30 6 * * *", "--exclude", "SUN", "--timezone", "UTC")
    assert result.exit_code == 0, result.stderr
    assert "Rescheduled task 'job'" in result.stdout and "except SUN" in result.stdout
    (after,) = store.load_tasks()
    assert after.task_id == before.task_id and after.run_count == 7
    assert after.to_dict()["cron"] == "30 6 * * *" and after.to_dict()["exclude"] == ["SUN"]
    removed = autocron("reschedule", "job", "--no-exclude", "--json")
    assert removed.exit_code == 0, removed.stderr
    assert "exclude" not in json.loads(removed.stdout)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "nothing to change"),
        (["--every", "5m", "--cron", "* * * * *"], "at most one"),
        (["--cron", "61 * * * *"], "--cron '61 * * * *'"),
        (["--every", "inf"], "--every 'inf'"),
        (["--at", "2001-01-01T00:00"], "fires again after now"),
        (["--timezone", "Mars/Base"], "Mars/Base"),
        (["--exclude", "SAT", "--no-exclude"], "--no-exclude"),
    ],
)
def test_reschedule_refuses_bad_input(autocron, store, args: list[str], needle: str) -> None:
    """Bad reschedule input: exit code 2, one line naming it, the stored schedule unchanged."""
    autocron("schedule", "--command", "true", "--name", "job", "--every", "1h")
    result = autocron("reschedule", "job", *args)
    assert result.exit_code == 2
    assert needle in result.stderr and "Traceback" not in result.stderr
    (task,) = store.load_tasks()
    assert task.to_dict()["every"] == "1h"


def test_reschedule_unknown_task(autocron, store) -> None:
    """An unknown task name is exit code 2."""
    result = autocron("reschedule", "--every", "1m", "--", "-nope")
    assert result.exit_code == 2 and "no task named '-nope'" in result.stderr


def test_next_with_exclusions(autocron) -> None:
    """next --exclude/--business-days lists fire times with the calendar applied."""
    result = autocron("next", "0 9 * * *", "--timezone", "UTC", "--business-days", "--json", "-n", "10")
    assert result.exit_code == 0, result.stderr
    import datetime as dt

    times = [dt.datetime.fromisoformat(t) for t in json.loads(result.stdout)["next"]]
    assert len(times) == 10 and all(t.weekday() < 5 for t in times)
    bad = autocron("next", "0 9 * * *", "--exclude", "2026-13-01")
    assert bad.exit_code == 2 and "--exclude '2026-13-01'" in bad.stderr
