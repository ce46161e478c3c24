"""run, history, stats and logs through click's runner (scripts run as real subprocesses)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from autocron_cli.commands.logs import follow, matches, tail


def test_run_success_exits_0_and_records_history(autocron, script: Path) -> None:
    """A successful run exits 0, prints the script's output and is in the history."""
    autocron("schedule", str(script), "--every", "1h")
    result = autocron("run", "hello")
    assert result.exit_code == 0, result.stderr
    assert "hello from the script" in result.stdout
    assert "succeeded" in result.stderr
    (record,) = json.loads(autocron("history", "hello", "--json").stdout)
    assert record["status"] == "succeeded"
    assert record["attempt"] == 1


def test_run_failure_exits_1_after_retries(autocron, failing_script: Path) -> None:
    """A failing task is retried, then the command exits 1 with one error line."""
    autocron("schedule", str(failing_script), "--every", "1h", "--retries", "1", "--retry-delay", "0.05")
    result = autocron("run", "broken")
    assert result.exit_code == 1
    assert "about to fail" in result.stdout
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("autocron: error: task 'broken' failed after 2 of 2")
    )
    records = json.loads(autocron("history", "--json").stdout)
    assert [r["attempt"] for r in records] == [2, 1]
    assert {r["status"] for r in records} == {"failed"}


def test_run_timeout_exits_1(autocron, tmp_path: Path) -> None:
    """A run longer than its timeout is stopped, recorded as timed out, and exits 1."""
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(30)\n")
    autocron("schedule", str(slow), "--every", "1h", "--timeout", "0.5")
    result = autocron("run", "slow")
    assert result.exit_code == 1
    assert "timed out" in result.stderr
    (record,) = json.loads(autocron("history", "slow", "--json").stdout)
    assert record["status"] == "timed_out"


def test_run_quiet_prints_nothing_on_success(autocron, script: Path) -> None:
    """run --quiet is silent when the task succeeds."""
    autocron("schedule", str(script), "--every", "1h")
    result = autocron("run", "--quiet", "hello")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""


def test_history_table_limit_and_unknown(autocron, script: Path) -> None:
    """history shows a table, honours --limit and rejects a name with no task and no runs."""
    autocron("schedule", str(script), "--every", "1h")
    for _ in range(3):
        autocron("run", "-q", "hello")
    table = autocron("history")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split()[:2] == ["task", "scheduled"]
    assert len(table.stdout.splitlines()) == 4
    assert len(json.loads(autocron("history", "--limit", "2", "--json").stdout)) == 2
    assert autocron("history", "ghost").exit_code == 2
    assert autocron("history", "--limit", "0").exit_code == 2


def test_history_empty(autocron) -> None:
    """An empty history prints a hint, not an error."""
    result = autocron("history")
    assert result.exit_code == 0
    assert "no runs" in result.stderr


def test_stats_from_the_store(autocron, script: Path, failing_script: Path) -> None:
    """stats counts successes and failures per task, as a table and as JSON."""
    autocron("schedule", str(script), "--every", "1h")
    autocron("schedule", str(failing_script), "--every", "1h")
    autocron("run", "-q", "hello")
    autocron("run", "-q", "hello")
    autocron("run", "-q", "broken")
    data = {s["task"]: s for s in json.loads(autocron("stats", "--json").stdout)}
    assert data["hello"]["succeeded"] == 2
    assert data["hello"]["success_rate"] == 1.0
    assert data["broken"]["failed"] == 1
    one = json.loads(autocron("stats", "hello", "--json").stdout)
    assert [s["task"] for s in one] == ["hello"]
    table = autocron("stats")
    assert "100%" in table.stdout
    assert autocron("stats", "ghost").exit_code == 2


def test_stats_without_store_aggregates(autocron, store, script: Path, monkeypatch) -> None:
    """A store without stats() gets its statistics computed from history."""
    monkeypatch.setattr(type(store), "stats", property(lambda self: None))
    autocron("schedule", str(script), "--every", "1h")
    autocron("run", "-q", "hello")
    (data,) = json.loads(autocron("stats", "--json").stdout)
    assert data["succeeded"] == 1


def test_logs_tail_and_task_filter(autocron, autocron_home: Path, script: Path, failing_script: Path) -> None:
    """logs shows the last lines of the shared log file, optionally of one task."""
    autocron("schedule", str(script), "--every", "1h")
    autocron("schedule", str(failing_script), "--every", "1h")
    autocron("run", "-q", "hello")
    autocron("run", "-q", "broken")
    assert (autocron_home / "logs" / "autocron.log").exists()
    everything = autocron("logs")
    assert "'hello'" in everything.stdout
    assert "'broken'" in everything.stdout
    only = autocron("logs", "--task", "broken")
    assert only.stdout
    assert "'hello'" not in only.stdout
    assert len(autocron("logs", "--lines", "1").stdout.splitlines()) == 1


def test_logs_without_a_file(autocron) -> None:
    """logs before anything was logged says so and exits 0."""
    result = autocron("logs")
    assert result.exit_code == 0
    assert "no log file" in result.stderr


def test_log_line_matching() -> None:
    """A line belongs to a task by its run context or its quoted name."""
    assert matches("x INFO autocron.task [backup@2026-01-01T00:00:00+00:00]: hi", "backup")
    assert matches("x WARNING autocron.scheduler: task 'backup': attempt 1 failed", "backup")
    assert not matches("x WARNING autocron.scheduler: task 'backup2': attempt 1 failed", "backup")
    assert matches("anything", None)


def test_follow_yields_appended_lines_and_survives_rotation(tmp_path: Path) -> None:
    """follow yields lines written after it started, also after the file is replaced."""
    log = tmp_path / "a.log"
    log.write_text("old line\n")
    stop = threading.Event()
    steps = iter(
        [
            lambda: log.open("a").write("first new\n"),
            lambda: (log.rename(tmp_path / "a.log.1"), log.write_text("after rotation\n")),
            stop.set,
        ]
    )

    def wait(_seconds: float) -> None:
        next(steps, stop.set)()

    seen = list(follow(log, None, stop, wait))
    assert seen == ["first new", "after rotation"]
    assert tail(log, 5) == ["after rotation"]
