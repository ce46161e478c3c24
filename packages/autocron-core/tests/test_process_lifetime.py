"""A command's run ends with its leader or its deadline and takes its background children along (#15.5)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, RunStatus

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX process groups")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it no longer runs.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


def _run_once(tmp_path: Path, script: str, timeout: float | None) -> tuple[float, RunStatus, str, int]:
    """Run ``sh -c script`` once as a task; return seconds taken, status, output, background child's pid."""
    scheduler = AutoCron(timezone="UTC")
    pidfile = tmp_path / "child.pid"
    pidfile.unlink(missing_ok=True)
    scheduler.add_task(
        "bg", command=["sh", "-c", script.replace("PIDFILE", str(pidfile))], every="1h", timeout=timeout
    )
    try:
        began = time.monotonic()
        scheduler.run_task(name="bg", timeout=30)
        took = time.monotonic() - began
        (record,) = scheduler.history("bg")
        return took, record.status, record.output or "", int(pidfile.read_text())
    finally:
        scheduler.stop()


def test_a_background_child_holding_the_output_does_not_keep_the_run_going(tmp_path: Path) -> None:
    """`sh -c "sleep 20 & echo started"` ends when sh exits, as a success, and its sleep is stopped."""
    took, status, output, child = _run_once(tmp_path, "sleep 12 & echo $! > PIDFILE; echo started", timeout=2)
    assert took < 3, f"the run waited {took:.1f}s for a background child"
    assert status is RunStatus.SUCCEEDED
    assert "started" in output
    assert _gone_within(child, 3), "the background child outlived its run"


def test_a_timeout_stops_the_group_even_after_the_leader_exited(tmp_path: Path) -> None:
    """A leader that ran past its timeout and left a child behind ends timed_out with no process left."""
    script = "sleep 12 & echo $! > PIDFILE; echo started; trap 'exit 0' TERM; sleep 12 & wait $!"
    took, status, output, child = _run_once(tmp_path, script, timeout=0.5)
    assert took < 4
    assert status is RunStatus.TIMED_OUT  # even though sh exits 0 on SIGTERM
    assert "started" in output
    assert _gone_within(child, 3)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    leader=st.sampled_from([0.0, 0.2, 5.0]),
    child=st.sampled_from([0.0, 5.0]),
    timeout=st.sampled_from([None, 0.6]),
)
def test_a_run_never_outlives_its_leader_or_its_deadline(
    tmp_path: Path, leader: float, child: float, timeout: float | None
) -> None:
    """Whatever a command leaves running, its run ends by its leader's exit or timeout; nothing survives."""
    if timeout is None and leader > 1:
        leader = 0.3  # no deadline: keep the example short
    script = f"sleep {child} & echo $! > PIDFILE; echo out; sleep {leader}"
    took, status, output, pid = _run_once(tmp_path, script, timeout)
    bound = min(leader, timeout if timeout is not None else leader) + 2.0
    assert took < bound, f"run took {took:.1f}s, leader {leader}s, timeout {timeout}"
    expected = RunStatus.TIMED_OUT if timeout is not None and leader > timeout else RunStatus.SUCCEEDED
    assert status is expected
    assert "out" in output
    assert _gone_within(pid, 3)
