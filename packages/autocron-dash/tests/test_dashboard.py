"""The overview, the per-task view, JSON output and live mode, rendered into recording consoles."""

from __future__ import annotations

import io
import json
import re
import threading
from typing import Any

import pytest
from rich.console import Console

from autocron_core import TaskError
from autocron_dash import Dashboard, live_monitor, show_dashboard, show_task
from autocron_dash._format import BARS

from .conftest import NOW, RunStatus, define, fill_known_history, record, write

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def colour_console() -> Console:
    """A recording console that behaves like a 16-colour terminal 200 columns wide."""
    return Console(record=True, width=200, force_terminal=True, color_system="standard")


def plain_console() -> tuple[Console, io.StringIO]:
    """A console writing to a string, as when stdout is a pipe."""
    out = io.StringIO()
    return Console(file=out, width=200), out


def row(text: str, name: str) -> str:
    """The overview line of task ``name`` (cells split on the table's vertical bars)."""
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", ANSI.sub("", line))]
        if len(cells) > 2 and cells[1] == name:
            return line
    raise AssertionError(f"no row for {name!r} in:\n{text}")


def cells(text: str, name: str) -> list[str]:
    """The stripped cells of task ``name``'s row."""
    return [c.strip() for c in re.split(r"[│|]", ANSI.sub("", row(text, name)))][1:-1]


def test_overview_shows_the_numbers_of_the_history(known: Any) -> None:
    """Runs, success rate, p95 and last/next run match the crafted history."""
    console = colour_console()
    show_dashboard(known, console=console, now=NOW)
    text = console.export_text()
    assert cells(text, "backup") == [
        "backup",
        "ok",
        "every 1m",
        "in 1m00s",
        "1h40m ago",
        "21",
        "100.0%",
        "20.0s",
        BARS[0] * 2 + cells(text, "backup")[8][2:],
    ]
    flaky = cells(text, "flaky")
    assert flaky[1:2] == ["failing x3"] and flaky[5:8] == ["6", "33.3%", "2.00s"]
    assert cells(text, "fresh")[1:8] == ["new", "every 1m", "in 1m00s", "never", "0", "-", "-"]
    assert cells(text, "resting")[3] == "-"  # a paused task has no next run
    assert "6 task(s) · 40 run(s) · 90.0% success · 1 failing · 5 skipped · 0 missed" in text


def test_overview_sparkline_has_one_bar_per_recent_run(known: Any) -> None:
    """The sparkline holds one block per recent run (at most ``recent``), rising with the durations."""
    console = colour_console()
    show_dashboard(known, console=console, now=NOW, recent=20)
    text = console.export_text()
    backup = cells(text, "backup")[8]
    assert len(backup) == 20 and set(backup) <= set(BARS)
    assert backup[0] == BARS[0] and backup[-1] == BARS[-1] and list(backup) == sorted(backup)
    assert len(cells(text, "flaky")[8]) == 6
    assert cells(text, "fresh")[8] == ""


def test_overview_colours_rows_by_status(known: Any) -> None:
    """Green ok, red failing, yellow late or skipping, dim paused."""
    console = colour_console()
    show_dashboard(known, console=console, now=NOW)
    styled = console.export_text(styles=True)
    assert "\x1b[32mok" in row(styled, "backup")
    assert "\x1b[1;31mfailing x3" in row(styled, "flaky")
    assert "\x1b[33mlate" in row(styled, "sluggish")
    assert "\x1b[33mskipping" in row(styled, "overlapper")
    assert "\x1b[2mpaused" in row(styled, "resting")


def test_overview_lists_recommendations(known: Any) -> None:
    """The advice for the failing, late and overlapping tasks follows the table."""
    console = colour_console()
    show_dashboard(known, console=console, now=NOW)
    text = console.export_text()
    assert "Recommendations" in text
    assert "flaky failed 4 of 6 runs (67%)" in text and '"ValueError: boom 5"' in text
    assert "sluggish starts late: p95 30s" in text
    assert "overlapper skipped 5 of 10 occurrences (50%)" in text


def test_without_a_terminal_the_output_is_plain_text(known: Any) -> None:
    """A console that is not a terminal gets no escape codes and ASCII borders."""
    console, out = plain_console()
    show_dashboard(known, console=console, now=NOW)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "+---" in text or "|---" in text
    assert cells(text, "sluggish")[1] == "late"


def test_json_gives_the_same_numbers(known: Any) -> None:
    """``json=True`` prints one JSON document with the overview's numbers."""
    console, out = plain_console()
    show_dashboard(known, console=console, json=True, now=NOW)
    data = json.loads(out.getvalue())
    tasks = {t["name"]: t for t in data["tasks"]}
    assert sorted(tasks) == ["backup", "flaky", "fresh", "overlapper", "resting", "sluggish"]
    assert tasks["backup"]["runs"] == 21 and tasks["backup"]["duration_p95"] == pytest.approx(20.0)
    assert tasks["backup"]["duration_p50"] == pytest.approx(11.0) and tasks["backup"]["duration_max"] == 21.0
    assert len(tasks["backup"]["recent_durations"]) == 20
    assert tasks["flaky"]["failure_streak"] == 3 and tasks["flaky"]["status"] == "failing"
    assert tasks["flaky"]["last_error"] == "ValueError: boom 5"
    assert tasks["sluggish"]["lateness_p95"] == pytest.approx(30.0)
    assert tasks["overlapper"]["skipped"] == 5
    assert data["overall"]["runs"] == 40 and data["overall"]["failing"] == 1
    assert {r["rule"] for r in data["recommendations"]} >= {"fails_often", "late", "overlap"}


def test_task_view_shows_recent_runs_errors_and_output(store: Any) -> None:
    """Recent runs with status and first error line, and the newest output tail."""
    define(store, "report")
    lines = "\n".join(f"line {i}" for i in range(30))
    write(
        store,
        [
            record("report", 0, RunStatus.SUCCEEDED, duration=3.0, output=lines),
            record("report", 1, RunStatus.FAILED, duration=0.5, error="OSError: disk full\n  at write()"),
        ],
    )
    console = colour_console()
    show_task("report", store, console=console, now=NOW)
    text = console.export_text()
    assert "OSError: disk full" in text and "at write()" not in text
    assert "line 29" in text and "line 20" in text and "line 19" not in text  # the last 10 lines
    assert "\x1b[31mfailed" in console.export_text(styles=True) or "failed" in text
    assert "3.00s" in text and "500.0ms" not in text and "0.50s" in text


def test_task_view_as_json(known: Any) -> None:
    """The per-task JSON holds the figures, the records and the advice."""
    console, out = plain_console()
    show_task("flaky", known, console=console, json=True, now=NOW)
    data = json.loads(out.getvalue())
    assert data["task"]["failed"] == 4 and len(data["runs"]) == 6
    assert data["runs"][0]["status"] == "failed" and data["recommendations"][0]["rule"] == "fails_often"


def test_unknown_task_is_an_error(store: Any) -> None:
    """Dashboard.show_task raises TaskError naming a task with neither definition nor history."""
    with pytest.raises(TaskError, match="nope"):
        Dashboard(store, plain_console()[0]).show_task("nope")


def test_show_task_of_an_unknown_task_says_so_and_returns_false(store: Any) -> None:
    """show_task() answers an unknown name as the original did: a line saying so, and False."""
    console, out = plain_console()
    assert show_task("nope", store, console=console) is False
    assert out.getvalue().strip() == "No data found for task: nope"
    fill_known_history(store)
    assert show_task("flaky", store, console=console, now=NOW) is True


def test_original_database_path_keyword(tmp_path: Any) -> None:
    """show_dashboard/show_task/live_monitor take the original's database_path= (and refresh_rate=)."""
    pytest.importorskip("autocron_store", reason="a database path needs the SQL store")
    from autocron_core.registry import open_store

    path = tmp_path / "history.db"
    store = open_store(str(path))
    fill_known_history(store)
    store.close()
    console, out = plain_console()
    show_dashboard(database_path=path, console=console, now=NOW)
    assert row(out.getvalue(), "flaky")
    assert show_task("flaky", database_path=str(path), console=console, now=NOW) is True
    assert live_monitor(refresh_rate=0.01, database_path=path, console=console, iterations=2, now=NOW) == 2
    with pytest.raises(TaskError, match="database_path"):
        show_dashboard(store, database_path=path)


def test_no_source_means_the_scheduler_schedule_made(store: Any) -> None:
    """show_dashboard() with no source shows the tasks of the scheduler @schedule made in this process."""
    from autocron_core import get_global_scheduler, reset_global_scheduler

    reset_global_scheduler()
    try:
        scheduler = get_global_scheduler()
        scheduler.add_task("from-decorator", command="true", every="1h")
        console, out = plain_console()
        show_dashboard(console=console, now=NOW)
        assert "from-decorator" in out.getvalue()
    finally:
        reset_global_scheduler()


def test_history_only_tasks_are_shown(store: Any) -> None:
    """A task whose definition is gone still shows, from its history alone."""
    write(store, [record("gone", 0, RunStatus.SUCCEEDED)])
    console, out = plain_console()
    show_dashboard(store, console=console, now=NOW)
    assert cells(out.getvalue(), "gone")[1:3] == ["ok", "-"]


def test_live_mode_redraws_then_stops(known: Any) -> None:
    """Live mode draws the requested number of times into the console."""
    console = colour_console()
    assert live_monitor(0.01, known, console=console, iterations=3, now=NOW) == 3
    assert "backup" in console.export_text()


def test_live_mode_stops_on_event(known: Any) -> None:
    """Setting the stop event ends live mode."""
    stop = threading.Event()
    stop.set()
    assert live_monitor(60, known, console=colour_console(), stop=stop, now=NOW) == 1


def test_live_mode_exits_cleanly_on_ctrl_c(known: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """KeyboardInterrupt during a redraw ends live mode without raising."""
    calls = {"n": 0}
    original = Dashboard.render

    def render(self: Dashboard) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Dashboard, "render", render)
    assert live_monitor(0.01, known, console=colour_console(), now=NOW) == 1


def test_live_mode_rejects_a_bad_refresh(known: Any) -> None:
    """A refresh interval of zero is refused."""
    with pytest.raises(ValueError, match="refresh"):
        live_monitor(0, known, console=colour_console())


def test_narrow_console_keeps_names_and_drops_the_optional_columns(known: Any) -> None:
    """At 80 columns the task names stay readable; schedule and sparkline are left out."""
    out = io.StringIO()
    show_dashboard(known, console=Console(file=out, width=80), now=NOW)
    text = out.getvalue()
    assert cells(text, "overlapper")[:2] == ["overlapper", "skipping"]
    assert "Schedule" not in text and "Recent" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
