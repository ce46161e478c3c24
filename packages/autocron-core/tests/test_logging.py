"""configure_logging: a private rotating file, lines tagged with the task and occurrence."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from autocron_core import (
    AutoCron,
    configure_logging,
    get_logger,
    get_platform_info,
    is_linux,
    is_macos,
    is_windows,
)


def test_log_lines_of_a_run_carry_task_and_occurrence(tmp_path: Path) -> None:
    """Lines logged inside a task, by the task's own code too, name the task and its occurrence."""
    log = tmp_path / "logs" / "run.log"

    def chatty() -> None:
        logging.getLogger("autocron.user").info("inside the task")

    scheduler = AutoCron(timezone="UTC", log_path=log, log_level="DEBUG")
    try:
        scheduler.add_task("chatty", func=chatty, every="1h")
        assert scheduler.run_task(name="chatty", timeout=10)
    finally:
        scheduler.stop()
    text = log.read_text()
    line = next(line for line in text.splitlines() if "inside the task" in line)
    assert "[chatty@" in line
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_default_log_file_is_under_autocron_home(autocron_home: Path) -> None:
    """Without a path, logs go to $AUTOCRON_HOME/logs/autocron.log."""
    path = configure_logging(level="WARNING", console=False)
    try:
        assert path == autocron_home / "logs" / "autocron.log"
        get_logger("test").warning("written")
        assert "written" in path.read_text()
    finally:
        configure_logging(tmp := autocron_home / "other.log", console=False)
        assert tmp.exists()


def test_platform_helpers() -> None:
    """The platform helpers of the original API answer consistently."""
    assert sum([is_linux(), is_macos(), is_windows()]) <= 1
    info = get_platform_info()
    assert {"system", "python_version", "python_executable"} <= set(info)
