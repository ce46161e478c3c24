"""schedule, list, show, remove/stop, pause and resume through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_schedule_script_prints_task_and_three_fire_times(autocron, script: Path) -> None:
    """Scheduling a script prints its name, schedule and next three fire times."""
    result = autocron("schedule", str(script), "--every", "5m")
    assert result.exit_code == 0, result.stderr
    assert "Scheduled task 'hello'" in result.stdout
    assert "every 5m" in result.stdout
    next_line = next(line for line in result.stdout.splitlines() if "next runs:" in line)
    assert next_line.count(",") == 2


def test_schedule_persists_in_the_store(autocron, store, script: Path) -> None:
    """A scheduled task is saved in the store, where `autocron start` finds it."""
    autocron(
        "schedule", str(script), "--cron", "0 9 * * MON", "--name", "weekly", "--timezone", "Europe/Paris"
    )
    (task,) = store.load_tasks()
    assert task.name == "weekly"
    assert task.kind == "script"
    assert task.target == str(script.resolve())
    assert str(task.timezone) == "Europe/Paris"


def test_schedule_command_with_every_option(autocron, store) -> None:
    """--command with retries, delay, timeout, overlap and notify lands in the task's policy."""
    result = autocron(
        "schedule",
        "--command",
        "echo 'hi there'",
        "--name",
        "greet",
        "--every",
        "1h30m",
        "--retries",
        "3",
        "--retry-delay",
        "30s",
        "--timeout",
        "2m",
        "--overlap",
        "queue",
        "--notify",
        "log",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["command"] == ["echo", "hi there"]
    (task,) = store.load_tasks()
    assert task.policy.retries == 3
    assert task.policy.retry_delay == 30
    assert task.policy.timeout == 120
    assert task.policy.overlap_policy == "queue"
    assert task.notify == ("log",)


def test_schedule_at_one_time(autocron) -> None:
    """--at schedules a one-off run and shows a single fire time."""
    result = autocron("schedule", "--command", "true", "--at", "2099-01-02T03:04", "--timezone", "UTC")
    assert result.exit_code == 0, result.stderr
    assert "2099-01-02 03:04:00 UTC" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--cron", "61 * * * *"], "minute"),
        (["--cron", "* * *"], "cron"),
        (["--every", "soon"], "duration"),
        (["--every", "-5m"], "duration"),
        (["--at", "next tuesday"], "ISO 8601"),
        (["--every", "5m", "--timezone", "Mars/Olympus_Mons"], "time zone"),
        (["--every", "5m", "--retry-delay", "abc"], "--retry-delay"),
        (["--every", "5m", "--timeout", "0"], "--timeout"),
        (["--every", "5m", "--retries", "-1"], "--retries"),
        (["--every", "5m", "--overlap", "sometimes"], "--overlap"),
        (["--every", "5m", "--notify", "carrier-pigeon"], "carrier-pigeon"),
        (["--every", "5m", "--name", "bad\tname"], "control characters"),
        (["--every", "5m", "--cron", "* * * * *"], "exactly one"),
        ([], "exactly one"),
    ],
)
def test_schedule_bad_input_exits_2_with_one_line(autocron, store, args: list[str], fragment: str) -> None:
    """Every bad option value exits with code 2, one line on stderr, nothing saved."""
    result = autocron("schedule", "--command", "true", *args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert store.load_tasks() == []


def test_schedule_missing_script_exits_2(autocron, tmp_path: Path) -> None:
    """A script path that does not exist is bad input."""
    result = autocron("schedule", str(tmp_path / "nope.py"), "--every", "1m")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_schedule_needs_exactly_one_target(autocron, script: Path) -> None:
    """Two targets (a script, --command, --celery), or none, is a usage error."""
    assert autocron("schedule", "--every", "1m").exit_code == 2
    both = autocron("schedule", str(script), "--command", "true", "--every", "1m")
    assert both.exit_code == 2
    assert "exactly one of a script path (TARGET), --command and --celery" in both.stderr


def test_schedule_duplicate_name_exits_2(autocron, script: Path) -> None:
    """A second task with a used name is refused."""
    assert autocron("schedule", str(script), "--every", "1m").exit_code == 0
    again = autocron("schedule", str(script), "--every", "2m")
    assert again.exit_code == 2
    assert "name" in again.stderr


def test_debug_shows_the_traceback(autocron) -> None:
    """--debug adds the traceback to the error line."""
    result = autocron("--debug", "schedule", "--command", "true", "--cron", "bogus cron expr here now")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_list_table_and_json(autocron, script: Path) -> None:
    """list shows every task as a table, and as JSON with --json."""
    autocron("schedule", str(script), "--every", "10m")
    autocron("schedule", "--command", "true", "--name", "noop", "--cron", "@daily")
    table = autocron("list")
    assert table.exit_code == 0
    header, *rows = table.stdout.splitlines()
    assert header.split()[:2] == ["name", "schedule"]
    assert [row.split()[0] for row in rows] == ["hello", "noop"]
    data = json.loads(autocron("list", "--json").stdout)
    assert [d["name"] for d in data] == ["hello", "noop"]
    assert {"schedule", "next_run", "last_run", "status", "runs", "failures"} <= set(data[0])


def test_list_shows_the_next_run_of_a_task_never_started(autocron) -> None:
    """A task no scheduler has started yet lists its first fire time, as schedule printed it."""
    scheduled = autocron("schedule", "--command", "true", "--name", "noon", "--cron", "0 12 * * *")
    first = next(line for line in scheduled.stdout.splitlines() if "next runs:" in line)
    first_time = first.split(":", 1)[1].split(",")[0].strip()
    row = next(line for line in autocron("list").stdout.splitlines() if line.startswith("noon"))
    assert first_time in row


def test_list_empty_says_so_on_stderr(autocron) -> None:
    """An empty list prints a hint on stderr and nothing on stdout."""
    result = autocron("list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no tasks" in result.stderr
    assert json.loads(autocron("list", "--json").stdout) == []


def test_show_task_details(autocron, script: Path) -> None:
    """show prints the definition and next runs; --json includes upcoming times."""
    autocron("schedule", str(script), "--every", "1h", "--retries", "2")
    result = autocron("show", "hello")
    assert result.exit_code == 0
    assert "every 1h" in result.stdout
    assert "retries:" in result.stdout
    data = json.loads(autocron("show", "hello", "--json").stdout)
    assert len(data["upcoming"]) == 3
    assert data["recent_runs"] == []


@pytest.mark.parametrize("command", ["show", "remove", "stop", "pause", "resume", "run"])
def test_unknown_task_name_exits_2(autocron, command: str) -> None:
    """Naming a task that does not exist exits 2 with one line."""
    result = autocron(command, "ghost")
    assert result.exit_code == 2
    assert result.stderr.strip() == "autocron: error: no task named 'ghost' (see 'autocron list')"


@pytest.mark.parametrize("command", ["remove", "stop"])
def test_remove_and_its_alias_stop(autocron, store, script: Path, command: str) -> None:
    """remove (and its old name stop) deletes the task from the store."""
    autocron("schedule", str(script), "--every", "1m")
    result = autocron(command, "hello")
    assert result.exit_code == 0
    assert "Removed task 'hello'" in result.stdout
    assert store.load_tasks() == []


def test_pause_and_resume(autocron, store, script: Path) -> None:
    """pause marks the task paused in the store; resume clears it and gives a next run."""
    autocron("schedule", str(script), "--every", "1m")
    assert autocron("pause", "hello").exit_code == 0
    (task,) = store.load_tasks()
    assert task.paused
    assert "paused" in autocron("list").stdout
    result = autocron("resume", "hello")
    assert result.exit_code == 0
    assert "next run" in result.stdout
    (task,) = store.load_tasks()
    assert not task.paused
    assert task.next_run is not None


def test_store_option_on_the_group(tmp_path: Path, autocron, script: Path) -> None:
    """--store on the group selects another store for the command."""
    result = autocron("--store", "memory://", "schedule", str(script), "--every", "1m")
    assert result.exit_code == 0
    assert "hello" in result.stdout
