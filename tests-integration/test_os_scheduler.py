"""AutoCron(use_os_scheduler=...) hands script and command tasks to an OS adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autocron_core import AutoCron
from autocron_os import SystemdAdapter


def test_command_task_is_installed_not_run_in_process(tmp_path: Path) -> None:
    """A command task goes to the OS scheduler and is paused in-process; a function task does not."""
    calls: list[list[str]] = []

    def runner(argv: Any, stdin: str | None = None) -> tuple[int, str, str]:
        calls.append(list(argv))
        return 0, "", ""

    adapter = SystemdAdapter(unit_dir=tmp_path, runner=runner, python="/usr/bin/python3")
    scheduler = AutoCron(use_os_scheduler=adapter, store=f"sqlite:///{tmp_path / 'tasks.db'}")
    scheduler.add_task(name="backup", command=["echo", "hi"], every="5m")
    scheduler.add_task(name="inproc", func=lambda: None, every="5m")
    assert [e.name for e in adapter.list()] == ["backup"]
    assert ["systemctl", "--user", "enable", "--now", "autocron-backup.timer"] in calls
    task = scheduler.get_task(name="backup")
    assert task is not None and task.paused
