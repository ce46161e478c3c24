"""Issue 17 end to end: a daemon (`autocron start`) fires a dependant of a task run from another shell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.realtime


def autocron(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m autocron_cli ARGS` with this test's AUTOCRON_HOME (the SQLite store)."""
    return subprocess.run(
        [sys.executable, "-m", "autocron_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def wait_for(check: Callable[[], Any], what: str, deadline: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def history(name: str) -> list[dict[str, Any]]:
    """The task's run history as `autocron history --json` reports it."""
    result = autocron("history", name, "--json")
    if result.returncode != 0:  # no runs and no task yet
        return []
    return list(json.loads(result.stdout))


def _log_has(text: str) -> bool:
    log = Path(os.environ["AUTOCRON_HOME"]) / "logs" / "autocron.log"
    return log.exists() and text in log.read_text()


def test_daemon_runs_the_dependant_of_a_task_run_from_the_cli(tmp_path: Path) -> None:
    """`autocron run extract` in one shell; the running daemon reads the success from the store and
    runs `load` once (trigger dependency); the CLI process itself does not run it."""
    marker = tmp_path / "loads.txt"
    code = f"open({str(marker)!r}, 'a').write('x')"
    assert (
        autocron("schedule", "--command", "true", "--name", "extract", "--cron", "0 3 1 1 *").returncode == 0
    )
    scheduled = autocron(
        "schedule", "--command", f'{sys.executable} -c "{code}"', "--name", "load", "--after", "extract"
    )
    assert scheduled.returncode == 0, scheduled.stderr
    daemon = subprocess.Popen(
        [sys.executable, "-m", "autocron_cli", "start"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        wait_for(lambda: _log_has("autocron started"), "the daemon to start")
        ran = autocron("run", "extract")
        assert ran.returncode == 0, ran.stderr
        assert not marker.exists()  # the CLI process left the dependant to the daemon
        records = wait_for(
            lambda: [r for r in history("load") if r["status"] == "succeeded"], "the daemon to run load"
        )
        (record,) = records
        assert record["trigger"] == "dependency"
        (extract,) = history("extract")
        assert extract["trigger"] == "manual" and record["scheduled_for"] == extract["finished_at"]
        time.sleep(3)  # two more syncs of the daemon: the same success must not fire again
        assert marker.read_text() == "x"
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=30)
    assert daemon.returncode == 0
