"""Task definitions: validation at add time, targets, persistence form, custom task types."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from autocron_core import (
    AutoCron,
    RunStatus,
    ScheduleError,
    Task,
    TaskError,
    build_task,
    sanitize_task_name,
)
from autocron_core.testing import FakeClock


def noop() -> None:
    """A module-level function, importable as autocron_core tests' noop."""


BAD_INPUT: list[tuple[dict[str, Any], type[Exception], str, Any]] = [
    ({"func": noop, "every": "5x"}, ScheduleError, "every", "5x"),
    ({"func": noop, "every": "0s"}, ScheduleError, "every", "0s"),
    ({"func": noop, "cron": "61 * * * *"}, ScheduleError, "cron", "61 * * * *"),
    ({"func": noop, "cron": "* * * *"}, ScheduleError, "cron", "* * * *"),
    (
        {"func": noop, "cron": "0 0 * * *", "timezone": "Nowhere/Land"},
        ScheduleError,
        "timezone",
        "Nowhere/Land",
    ),
    ({"func": noop, "every": "5m", "retries": -1}, TaskError, "retries", -1),
    ({"func": noop, "every": "5m", "timeout": 0}, TaskError, "timeout", 0),
    ({"script": "/no/such/script.py", "every": "5m"}, TaskError, "script", "/no/such/script.py"),
    ({"func": noop, "script": __file__, "every": "5m"}, TaskError, "target", "func, script"),
    ({"every": "5m"}, TaskError, "target", "none"),
    ({"func": noop}, ScheduleError, "schedule", "none"),
    ({"func": noop, "every": "5m", "cron": "* * * * *"}, ScheduleError, "schedule", "every, cron"),
    ({"func": noop, "every": "5m", "overlap_policy": "maybe"}, TaskError, "overlap_policy", "maybe"),
    ({"func": noop, "every": "5m", "max_instances": 0}, TaskError, "max_instances", 0),
    ({"func": noop, "every": "5m", "backoff": 0.5}, TaskError, "backoff", 0.5),
    ({"func": noop, "every": "5m", "retry_delay": -3}, TaskError, "retry_delay", -3),
    ({"func": noop, "every": "5m", "notify_on": ["sometimes"]}, TaskError, "notify_on", ["sometimes"]),
    ({"func": noop, "every": "5m", "on_success": "print"}, TaskError, "on_success", "print"),
    ({"func": noop, "every": "5m", "jitter": -1}, TaskError, "jitter", -1),
    ({"func": noop, "every": "5m", "colour": "red"}, TaskError, "colour", "red"),
    ({"command": "", "every": "5m"}, TaskError, "command", ""),
    ({"command": "echo 'unbalanced", "every": "5m"}, TaskError, "command", "echo 'unbalanced"),
    ({"func": "no.such.module:thing", "every": "5m"}, TaskError, "func", "no.such.module:thing"),
    (
        {
            "func": noop,
            "every": "5m",
            "at": None,
            "end_at": "2020-01-01T00:00",
            "start_at": "2021-01-01T00:00",
        },
        TaskError,
        "end_at",
        "2020-01-01T00:00",
    ),
]


@pytest.mark.parametrize(("options", "error", "field", "value"), BAD_INPUT)
def test_bad_input_names_the_parameter_and_changes_nothing(
    options: dict[str, Any], error: type[Exception], field: str, value: Any
) -> None:
    """Invalid add_task input raises at once, naming the parameter and value; no task is added."""
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("existing", func=noop, every="1h")
    with pytest.raises(error) as info:
        scheduler.add_task("new", **options)
    assert info.value.field == field  # type: ignore[attr-defined]
    assert info.value.value == value  # type: ignore[attr-defined]
    assert "expected" in str(info.value)
    assert [t.name for t in scheduler.list_tasks()] == ["existing"]


@pytest.mark.parametrize("name", ["", "x" * 201, "line\nbreak", "tab\there", " padded", "bell\x07"])
def test_bad_names_are_refused(name: str) -> None:
    """Names are 1 to 200 characters with no control characters or outer spaces."""
    with pytest.raises(TaskError) as info:
        build_task(name, func=noop, every="1m")
    assert info.value.field == "name"


def test_duplicate_name_is_refused() -> None:
    """Two tasks cannot share a name in one scheduler."""
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("a", func=noop, every="1m")
    with pytest.raises(TaskError, match="not used by another task"):
        scheduler.add_task("a", func=noop, every="2m")


def test_names_default_from_the_target(tmp_path: Path) -> None:
    """Without name=, a task is named after its function, script or program."""
    script = tmp_path / "nightly_backup.py"
    script.write_text("print('hi')\n")
    assert build_task(func=noop, every="1m").name == "noop"
    assert build_task(script=script, every="1m").name == "nightly_backup"
    assert build_task(command="/usr/bin/env true", every="1m").name == "env"


def test_sanitize_task_name_gives_safe_identifiers() -> None:
    """sanitize_task_name keeps letters, digits, - and _ and replaces the rest."""
    assert sanitize_task_name("x; rm -rf ~") == "x__rm_-rf"
    assert sanitize_task_name("Backup DB (daily)") == "Backup_DB__daily"
    assert sanitize_task_name("%%%") == "task"


def test_to_dict_round_trips_every_option_and_state(tmp_path: Path) -> None:
    """A script task survives to_dict/from_dict with every option and its counters."""
    script = tmp_path / "job.py"
    script.write_text("print('ok')\n")
    task = build_task(
        "job",
        script=script,
        cron="*/5 9-17 * * MON-FRI",
        timezone="Europe/London",
        args=["--fast"],
        retries=3,
        retry_delay=30,
        backoff=3,
        max_retry_delay=600,
        timeout=120,
        overlap_policy="queue",
        max_instances=2,
        misfire_grace_time=None,
        coalesce=False,
        jitter=5,
        start_at="2026-01-01T00:00",
        end_at="2027-01-01T00:00",
        tags=["ops", "db"],
        notify=["email"],
        notify_on=["failure", "missed"],
        email_config={"to_email": "ops@example.org", "password": "hunter2"},
    )
    task.run_count, task.fail_count, task.last_status, task.paused = 7, 2, "failed", True
    task.next_run_us, task.last_run_us = 1_800_000_000_000_000, 1_700_000_000_000_000
    data = task.to_dict()
    assert "password" not in data["email_config"]  # secrets are never written
    again = Task.from_dict(data)
    assert again.to_dict() == data
    assert again.policy == task.policy and again.schedule == task.schedule and again.paused


def test_function_tasks_persist_by_reference_only_when_importable() -> None:
    """A module-level function is stored as module:qualname; a lambda cannot be persisted."""
    data = build_task("f", func=noop, every="1m").to_dict()
    assert data["func"].endswith(":noop")
    assert Task.from_dict(data).target is noop
    with pytest.raises(TaskError, match="importable"):
        build_task("l", func=lambda: None, every="1m").to_dict()


def test_script_runs_with_this_interpreter_and_captures_output(tmp_path: Path) -> None:
    """A script target runs with sys.executable; its output tail is recorded."""
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('hello from', sys.argv[1:])\n")
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("hello", script=script, args=["a b"], every="1h")
    try:
        assert scheduler.run_task(name="hello", timeout=30) is True
        (record,) = scheduler.history("hello")
        assert record.output == "hello from ['a b']\n"
    finally:
        scheduler.stop()


def test_failing_command_records_exit_code_and_output_tail() -> None:
    """A non-zero exit is a failure whose error names the exit code; the output tail is kept, bounded."""
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task(
        "loud",
        command=[sys.executable, "-c", "import sys; print('x' * 20000); print('the end'); sys.exit(3)"],
        every="1h",
    )
    try:
        assert scheduler.run_task(name="loud", timeout=30) is False
        (record,) = scheduler.history("loud")
        assert record.status is RunStatus.FAILED
        assert "exited with code 3" in (record.error or "")
        assert (
            record.output is not None and record.output.endswith("the end\n") and len(record.output) <= 8192
        )
    finally:
        scheduler.stop()


def test_a_missing_program_is_a_recorded_failure() -> None:
    """A command whose program does not exist fails the run with the OS error, not the scheduler."""
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task("ghost", command="definitely-not-a-program-xyz", every="1h")
    try:
        assert scheduler.run_task(name="ghost", timeout=30) is False
        assert "FileNotFoundError" in (scheduler.history("ghost")[0].error or "")
    finally:
        scheduler.stop()


class CountingTask(Task):
    """A custom task type: overrides execute()."""

    calls = 0

    def execute(self) -> str:
        CountingTask.calls += 1
        return "custom"


def test_subclassing_task_and_overriding_execute(clock: FakeClock, scheduler: AutoCron) -> None:
    """A Task subclass runs its own execute() inside the scheduler's machinery."""
    task = build_task("custom", func=noop, every="1s", retries=1, task_class=CountingTask)
    scheduler.add(task)
    clock.advance(1)
    assert scheduler.settle()
    assert CountingTask.calls == 1
    assert scheduler.history("custom")[0].status is RunStatus.SUCCEEDED
