"""The `autocron` command end to end: real processes, the real SQLite store, real signals."""

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


def _sql_store_missing() -> str | None:
    try:
        from autocron_core.registry import STORES

        STORES.get("sqlite")
    except Exception as exc:
        return f"the SQLite store of autocron-store is not importable yet: {exc}"
    return None


@pytest.fixture(autouse=True)
def _needs_sql_store() -> None:
    reason = _sql_store_missing()
    if reason:
        pytest.skip(reason)


def autocron(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python -m autocron_cli ARGS` (what OS scheduler entries run) with this test's AUTOCRON_HOME."""
    return subprocess.run(
        [sys.executable, "-m", "autocron_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def spawn(*args: str) -> subprocess.Popen[str]:
    """Start `autocron ARGS` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "autocron_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def history(name: str | None = None) -> list[dict[str, Any]]:
    """The run history as the CLI reports it."""
    result = autocron("history", *([name] if name else []), "--limit", "1000", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def wait_for(check: Callable[[], Any], what: str, deadline: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_schedule_then_start_then_history(tmp_path: Path) -> None:
    """schedule --every 1s, start --duration 5, then history shows several successful runs."""
    marker = tmp_path / "runs.txt"
    script = tmp_path / "tick.py"
    script.write_text(f"with open({str(marker)!r}, 'a') as f:\n    f.write('x')\nprint('tick')\n")
    scheduled = autocron("schedule", str(script), "--every", "1s")
    assert scheduled.returncode == 0, scheduled.stderr
    assert "next runs:" in scheduled.stdout
    started = autocron("start", "--duration", "5")
    assert started.returncode == 0, started.stderr
    runs = history("tick")
    succeeded = [r for r in runs if r["status"] == "succeeded"]
    assert len(succeeded) >= 3
    assert len(marker.read_text()) == len(succeeded)
    assert all(r["output"].strip() == "tick" for r in succeeded)
    table = autocron("history").stdout
    assert "tick" in table
    assert "succeeded" in table
    listed = json.loads(autocron("list", "--json").stdout)
    assert listed[0]["runs"] >= 3


def test_run_exit_codes(tmp_path: Path) -> None:
    """autocron run exits 0 when the task succeeds, 1 when it fails, 2 for an unknown task."""
    good = tmp_path / "good.py"
    good.write_text("print('fine')\n")
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nsys.exit(4)\n")
    assert autocron("schedule", str(good), "--cron", "0 3 * * *").returncode == 0
    assert autocron("schedule", str(bad), "--cron", "0 3 * * *").returncode == 0
    ok = autocron("run", "good")
    assert ok.returncode == 0, ok.stderr
    assert "fine" in ok.stdout
    failed = autocron("run", "bad")
    assert failed.returncode == 1
    assert "exited with code 4" in failed.stderr
    unknown = autocron("run", "nobody")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "autocron: error: no task named 'nobody' (see 'autocron list')"
    assert [r["status"] for r in history("good")] == ["succeeded"]
    assert [r["status"] for r in history("bad")] == ["failed"]


def test_sigterm_lets_the_running_task_finish(tmp_path: Path) -> None:
    """SIGTERM while a task runs: the run finishes, is recorded, and start exits 0."""
    started_marker = tmp_path / "started"
    finished_marker = tmp_path / "finished"
    script = tmp_path / "slow.py"
    script.write_text(
        "import pathlib, time\n"
        f"pathlib.Path({str(started_marker)!r}).write_text('1')\n"
        "time.sleep(2)\n"  # the task's own work, long enough to be in flight when the signal lands
        f"pathlib.Path({str(finished_marker)!r}).write_text('1')\n"
    )
    assert autocron("schedule", str(script), "--every", "1s").returncode == 0
    daemon = spawn("start")
    try:
        wait_for(started_marker.exists, "the task to start")
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert finished_marker.exists()
    statuses = [r["status"] for r in history("slow")]
    assert "succeeded" in statuses
    assert "running" not in statuses


def _log_has(text: str) -> bool:
    log = Path(os.environ["AUTOCRON_HOME"]) / "logs" / "autocron.log"
    return log.exists() and text in log.read_text()


def test_start_picks_up_tasks_added_and_removed_from_another_shell(tmp_path: Path) -> None:
    """A running start runs a task scheduled later from another process, and drops it after remove."""
    script = tmp_path / "late.py"
    script.write_text("print('late')\n")
    daemon = spawn("start")
    try:
        wait_for(lambda: _log_has("autocron started"), "the daemon to start")
        assert autocron("schedule", str(script), "--every", "1s").returncode == 0
        wait_for(lambda: [r for r in history("late") if r["status"] == "succeeded"], "a run of the new task")
        assert autocron("remove", "late").returncode == 0
        wait_for(lambda: _log_has("0 task(s) added or changed, 1 removed"), "the daemon to drop the task")
        seen = len(history("late"))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=30)
    assert daemon.returncode == 0
    assert len(history("late")) <= seen + 1  # at most the run that was in flight at the sync
