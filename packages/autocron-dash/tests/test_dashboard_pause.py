"""The terminal dashboard shows who paused a task and why, literally (issue 17)."""

from __future__ import annotations

import datetime as _dt
import io
import json
from typing import Any

from rich.console import Console

from autocron_dash import show_dashboard, show_task

from .conftest import NOW, define

NOTE = "vendor down [bold]see[/] ticket [link=https://evil.example]42[/link]"


def _paused(store: Any) -> None:
    task = define(store, "resting", paused=True)
    task.pause_note, task.paused_by, task.paused_at = NOTE, "alice", NOW - _dt.timedelta(minutes=5)
    store.save_task(task)
    define(store, "busy")


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=250, force_terminal=True, color_system="standard"), out


def test_overview_marks_a_paused_task_with_a_note(store: Any) -> None:
    """The task table marks a paused task that has a note; a running one has no marker."""
    _paused(store)
    console, out = _terminal()
    show_dashboard(store, console=console, now=NOW)
    lines = out.getvalue().splitlines()
    assert any("resting" in line and "paused *" in line for line in lines)
    assert not any("busy" in line and "*" in line for line in lines)


def test_task_view_shows_note_and_author_literally(store: Any) -> None:
    """The per-task view shows who paused it, when, and the note with its brackets, as text."""
    _paused(store)
    console, out = _terminal()
    show_task("resting", store, console=console, now=NOW)
    text = out.getvalue()
    assert "alice, 5m00s ago" in text or "alice, 5m ago" in text
    assert "[bold]see[/]" in text and "[link=https://evil.example]42[/link]" in text
    assert "\x1b]8;" not in text  # no hyperlink was planted


def test_json_has_the_pause_fields(store: Any) -> None:
    """The JSON form carries pause_note, paused_by and paused_at."""
    _paused(store)
    out = io.StringIO()
    show_task("resting", store, console=Console(file=out, width=200), json=True, now=NOW)
    data = json.loads(out.getvalue())
    summary = data["task"]
    assert summary["pause_note"] == NOTE and summary["paused_by"] == "alice"
    assert summary["paused_at"] == (NOW - _dt.timedelta(minutes=5)).isoformat()
