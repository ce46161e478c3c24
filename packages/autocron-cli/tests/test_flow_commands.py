"""Issue 17 in the CLI: --after/--when/--pause-after-failures, pause notes, backfill, the trigger column."""

from __future__ import annotations

import json
import re
import sys

import pytest


def _schedule_pair(autocron) -> None:
    assert autocron("schedule", "--command", "true", "--name", "extract", "--every", "1h").exit_code == 0


def test_schedule_after_alone_runs_after_its_upstream(autocron, store) -> None:
    """--after with no schedule saves a task fired by its upstream task; list and show say so."""
    _schedule_pair(autocron)
    result = autocron(
        "schedule",
        "--command",
        "true",
        "--name",
        "load",
        "--after",
        "extract",
        "--after-policy",
        "any",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["after"] == ["extract"] and data["after_policy"] == "any"
    assert data["schedule"] == "after upstream tasks"
    load = next(t for t in store.load_tasks() if t.name == "load")
    assert load.flow is not None and load.flow.after == ("extract",)
    shown = autocron("show", "load")
    assert re.search(r"after: +any of extract", shown.stdout)
    assert re.search(r"next runs: +each time its upstream tasks succeed", shown.stdout)


def test_schedule_after_with_a_cron_window_and_condition(autocron, store) -> None:
    """--cron with --after opens a window; --when and --pause-after-failures are kept."""
    _schedule_pair(autocron)
    result = autocron(
        "schedule", "--command", "true", "--name", "report", "--cron", "0 6 * * *", "--after", "extract",
        "--when", "os.path:exists", "--pause-after-failures", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = next(t for t in store.load_tasks() if t.name == "report")
    assert report.flow is not None
    assert (report.flow.when_ref, report.flow.pause_after_failures) == ("os.path:exists", 3)
    assert re.search(r"when: +os.path:exists", result.stdout)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--after", "nope"], "--after 'nope'"),
        (["--after", "extract", "--every", "1m", "--cron", "* * * * *"], "exactly one of"),
        (["--every", "1m", "--after-policy", "any"], "--after-policy needs --after"),
        (["--after", "extract", "--after-policy", "most"], "'most' is not one of"),
        (["--every", "1m", "--when", "no_such_module:f"], "--when 'no_such_module:f'"),
        (["--every", "1m", "--when", "lambda: True"], "--when"),
        (["--every", "1m", "--pause-after-failures", "0"], "--pause-after-failures"),
        (["--after", "-x"], "--after '-x'"),
        (["--after", "extract", "--os"], "--after and --os do not go together"),
    ],
)
def test_schedule_flow_bad_input_exits_2(autocron, store, args: list[str], fragment: str) -> None:
    """A bad --after/--when/--pause-after-failures is refused with exit code 2 and nothing saved."""
    _schedule_pair(autocron)
    result = autocron("schedule", "--command", "true", "--name", "bad", *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert [t.name for t in store.load_tasks()] == ["extract"]


def test_remove_refuses_an_upstream_task_naming_its_dependants(autocron, store) -> None:
    """Removing a task others wait for fails with exit 2 and names them; removing them first works."""
    _schedule_pair(autocron)
    autocron("schedule", "--command", "true", "--name", "load", "--after", "extract")
    result = autocron("remove", "extract")
    assert result.exit_code == 2
    assert "'load'" in result.stderr
    assert autocron("remove", "load").exit_code == 0
    assert autocron("remove", "extract").exit_code == 0


def test_pause_note_shows_in_list_show_and_json(autocron, store, monkeypatch) -> None:
    """pause --note keeps the note, the OS user and the time; list marks it, show and --json give all."""
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    _schedule_pair(autocron)
    result = autocron("pause", "extract", "--note", "waiting for [bold]the DB[/] migration")
    assert result.exit_code == 0, result.stderr
    listed = autocron("list")
    assert "paused by alice (note)" in listed.stdout
    shown = autocron("show", "extract")
    assert re.search(r"pause note: +waiting for \[bold\]the DB\[/\] migration", shown.stdout)
    assert re.search(r"paused by: +alice", shown.stdout)
    data = json.loads(autocron("show", "extract", "--json").stdout)
    assert data["pause_note"] == "waiting for [bold]the DB[/] migration"
    assert data["paused_by"] == "alice" and data["paused_at"]
    (row,) = json.loads(autocron("list", "--json").stdout)
    assert row["paused_by"] == "alice"
    assert autocron("resume", "extract").exit_code == 0
    data = json.loads(autocron("show", "extract", "--json").stdout)
    assert (data["pause_note"], data["paused_by"], data["paused_at"]) == (None, None, None)


@pytest.mark.parametrize("note", ["line one\nline two", "bell\x07", "esc\x1b[31m", "c1\x85"])
def test_pause_note_with_control_characters_is_refused(autocron, store, note: str) -> None:
    """A note with control characters exits 2 and leaves the task running."""
    _schedule_pair(autocron)
    result = autocron("pause", "extract", "--note", note)
    assert result.exit_code == 2
    assert "--note" in result.stderr and "control characters" in result.stderr
    (task,) = store.load_tasks()
    assert not task.paused and task.pause_note is None


def test_backfill_runs_a_range_once_and_history_shows_the_trigger(autocron, store, tmp_path) -> None:
    """backfill runs each occurrence of the range; a second one runs nothing; history says backfill."""
    marker = tmp_path / "runs.txt"
    code = f"open({str(marker)!r}, 'a').write('x')"
    result = autocron(
        "schedule", "--command", f"{sys.executable} -c \"{code}\"", "--name", "hourly", "--cron", "0 * * * *",
        "--timezone", "UTC",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    dry = autocron(
        "backfill", "hourly", "--from", "2026-01-01T00:00", "--to", "2026-01-01T03:00", "--dry-run"
    )
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.count("would run") == 3
    assert not marker.exists()
    first = autocron("backfill", "hourly", "--from", "2026-01-01T00:00", "--to", "2026-01-01T03:00", "--json")
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    assert len(data["started"]) == 3 and {r["trigger"] for r in data["runs"]} == {"backfill"}
    assert marker.read_text() == "xxx"
    again = autocron("backfill", "hourly", "--from", "2026-01-01T00:00", "--to", "2026-01-01T04:00")
    assert again.exit_code == 0, again.stderr
    assert marker.read_text() == "xxxx"
    assert "3 occurrence(s) recorded already" in again.stderr
    history = autocron("history", "hourly")
    assert "trigger" in history.stdout and history.stdout.count("backfill") == 4


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--from", "2026-01-02", "--to", "2026-01-01"], "--to '2026-01-01': expected a time after start"),
        (["--from", "yesterday", "--to", "2026-01-01"], "--from 'yesterday'"),
        (["--from", "nan", "--to", "2026-01-01"], "--from 'nan'"),
        (["--from", "2000-01-01", "--to", "2026-01-01"], "at most 10,000 occurrences"),
        (["--from", "2026-01-01", "--to", "2026-01-02", "--limit", "5"], "at most 5 occurrences"),
        (["--from", "2026-01-01\x1b", "--to", "2026-01-02"], "--from"),
    ],
)
def test_backfill_bad_range_exits_2(autocron, store, args: list[str], fragment: str) -> None:
    """Bad bounds and ranges too large are refused with exit 2 and nothing run."""
    autocron("schedule", "--command", "true", "--name", "hourly", "--cron", "0 * * * *", "--timezone", "UTC")
    result = autocron("backfill", "hourly", *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert store.history("hourly") == []


def test_backfill_unknown_task_exits_2(autocron, store) -> None:
    """backfill of a task that does not exist says so."""
    result = autocron("backfill", "ghost", "--from", "2026-01-01", "--to", "2026-01-02")
    assert result.exit_code == 2
    assert "no task named 'ghost'" in result.stderr


def test_autocron_run_pauses_after_n_failures_and_list_shows_it(autocron, store, failing_script) -> None:
    """Two failed `autocron run`s with --pause-after-failures 2 pause the task, by autocron, with a note."""
    result = autocron("schedule", str(failing_script), "--every", "1h", "--pause-after-failures", "2")
    assert result.exit_code == 0, result.stderr
    assert autocron("run", "broken").exit_code == 1
    assert "paused by" not in autocron("list").stdout
    assert autocron("run", "broken").exit_code == 1
    assert "paused by autocron (note)" in autocron("list").stdout
    data = json.loads(autocron("show", "broken", "--json").stdout)
    assert data["paused_by"] == "autocron"
    assert data["pause_note"].startswith("paused after 2 consecutive failures: broken.py exited with code 3")
