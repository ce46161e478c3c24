"""The dashboard (static, per task and live) shows names, errors and output literally (issue 15, fault 15)."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from autocron_core import RunStatus
from autocron_dash import live_monitor, show_dashboard, show_task

from .conftest import NOW, define, record, write

OSC8 = "\x1b]8;"
LINK = "[link=https://evil.example]click[/link]"


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=250, force_terminal=True, color_system="standard"), out


def _fill(store: Any, name: str, text: str) -> None:
    define(store, name)
    write(
        store,
        [
            record(name, 0, RunStatus.SUCCEEDED, output=f"{text}\nlast {text}"),
            record(name, 1, RunStatus.FAILED, error=f"ValueError: {text}"),
        ],
    )


def _every_view(store: Any, name: str) -> str:
    shown = []
    for draw in (
        lambda c: show_dashboard(store, console=c, now=NOW),
        lambda c: show_task(name, store, console=c, now=NOW),
        lambda c: live_monitor(0.01, store, console=c, iterations=1, now=NOW),
        lambda c: live_monitor(0.01, store, console=c, iterations=1, task=name, now=NOW),
    ):
        console, out = _terminal()
        draw(console)
        shown.append(out.getvalue())
    return "\n".join(shown)


@pytest.mark.parametrize("name", ["[/]", LINK, "[bold]x", "a\\[b]"])
def test_a_markup_name_neither_crashes_nor_links_any_view(store: Any, name: str) -> None:
    """A task named `[/]` or `[link=...]` is drawn as written: overview, task view and live mode."""
    _fill(store, name, f"{LINK} \x1b]8;;https://evil.example\x1b\\spoof\x1b]8;;\x1b\\")
    shown = _every_view(store, name)
    assert name in shown
    assert OSC8 not in shown
    assert "\\x1b]8;;https://evil.example" in shown  # the raw escape is shown, not acted on


_text = (
    st.lists(
        st.sampled_from(["[", "]", "/", "\\", "link=", "https://e.x", "b", " ", "\x1b", "\x9b", "\u202e"])
    )
    .map("".join)
    .filter(lambda s: s.strip() != "")
)


_examples = itertools.count()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=_text.map(
        lambda s: s.replace("\x1b", "e").replace("\x9b", "c").replace("\u202e", "r").strip()
    ).filter(bool),
    text=_text,
)
def test_any_markup_or_control_text_is_shown_literally(store: Any, name: str, text: str) -> None:
    """Any name, error or output of markup and controls: every view draws, shows the name, makes no link."""
    for task in store.load_tasks():
        store.delete_task(task.name)
    name = f"{next(_examples)}{name}"  # history outlives a definition: a fresh name per example
    _fill(store, name, text)
    shown = _every_view(store, name)
    assert name in shown
    assert OSC8 not in shown and "\u202e" not in shown
