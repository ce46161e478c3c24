"""Names, errors and output are shown literally on a terminal, never read as Rich markup (#15.15)."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_cli import output

#: The start of an OSC 8 hyperlink: a terminal would turn the text after it into a link.
OSC8 = "\x1b]8;"

HOSTILE_NAMES = [
    "[/]",
    "[link=https://evil.example]click[/link]",
    "[bold red]alarm",
    "a\\[b]c",
    "[",
    "x]",
]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stream counts as a terminal and rich emits escape codes, as on a real one."""
    monkeypatch.setattr(output, "is_terminal", lambda stream=None: True)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("NO_COLOR", raising=False)


def _command(text: str) -> str:
    """A command line that prints ``text`` and fails with it as its message."""
    program = "import sys; print(sys.argv[1]); sys.exit(sys.argv[1])"
    return shlex.join([sys.executable, "-c", program, text])


def _schedule(autocron: Any, name: str, text: str) -> None:
    result = autocron("schedule", "--name", name, "--command", _command(text), "--every", "1h")
    assert result.exit_code == 0, result.output


def _everything(result: Any) -> str:
    return result.stdout + (result.stderr if result.stderr_bytes is not None else "")


def _views(autocron: Any, name: str) -> dict[str, Any]:
    return {
        "run": autocron("run", "--", name),
        "list": autocron("list"),
        "show": autocron("show", "--", name),
        "history": autocron("history", "--", name),
        "stats": autocron("stats"),
        "dashboard": autocron("dashboard"),
        "dashboard --task": autocron("dashboard", "--task", name),
    }


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markup_in_a_name_is_shown_as_written_on_a_terminal(autocron: Any, terminal: None, name: str) -> None:
    """`[/]` or a `[link=...]` name neither crashes list/show/history/stats/run/dashboard nor makes a link."""
    _schedule(autocron, name, f"{name} \x1b]8;;https://evil.example\x1b\\spoof\x1b]8;;\x1b\\")
    for view, result in _views(autocron, name).items():
        text = _everything(result)
        assert result.exit_code == (1 if view == "run" else 0), f"{view}: {text}"
        assert "unexpected" not in text and "Traceback" not in text, f"{view}: {text}"
        assert OSC8 not in text, f"{view} emitted a hyperlink"
        if view != "stats":
            assert name in text or repr(name) in text, f"{view} does not show {name!r}: {text}"


def test_escape_sequences_in_output_are_made_visible(autocron: Any, terminal: None) -> None:
    """A command printing an escape sequence has it shown as `\\x1b`, not sent to the terminal."""
    _schedule(autocron, "printer", "\x1b[2J\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\")
    result = autocron("run", "printer")
    assert "\x1b[2J" not in result.stdout and OSC8 not in _everything(result)
    assert "\\x1b[2J" in result.stdout


_name = st.one_of(
    st.sampled_from(HOSTILE_NAMES),
    st.text(alphabet="[]/\\=:.-_ abXY09é", min_size=1, max_size=20).filter(lambda s: s.strip() == s),
)
_text = (
    st.lists(
        st.sampled_from(
            ["[", "]", "/", "\\", "link=", "https://e.x", "a", " ", "\x1b", "\x07", "\x9b", "\t"]
        ),
        min_size=1,
        max_size=12,
    )
    .map("".join)
    .filter(lambda s: s.strip() != "")
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_name, text=_text)
def test_any_markup_like_name_or_output_is_printed_literally(
    autocron: Any, store: Any, terminal: None, name: str, text: str
) -> None:
    """Any name or output of markup and control characters: every view exits cleanly and shows the name."""
    for existing in [t.name for t in store.load_tasks()]:
        store.delete_task(existing)
    _schedule(autocron, name, text)
    for view, result in _views(autocron, name).items():
        shown = _everything(result)
        assert result.exit_code == (1 if view == "run" else 0), f"{view}: {shown}"
        assert "unexpected" not in shown, f"{view}: {shown}"
        assert OSC8 not in shown
        if view != "stats":
            assert name in shown or repr(name) in shown, f"{view} does not show {name!r}"
