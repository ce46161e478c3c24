"""Issue 15, fault 14: one task-name rule, checked in core, that every OS entry can hold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron
from autocron_core.errors import TaskError
from autocron_core.task import MAX_NAME, _check_name, name_problem


def _xml_char(c: str) -> bool:
    """XML 1.0's Char production: what a launchd plist or a Task Scheduler definition can hold."""
    code = ord(c)
    return c in "\t\n\r" or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


@pytest.mark.parametrize(
    "bad",
    [
        "\x85",
        "\x80",
        "\x9f",
        "\ufffe",
        "\uffff",
        "\U0001ffff",
        "\ufdd0",
        "\ud800",
        "\udfff",
        "\u2028",
        "\u2029",
    ],
)
def test_core_refuses_names_no_os_entry_can_hold(bad: str) -> None:
    """C1 controls, noncharacters, lone surrogates and line separators are refused, naming the field."""
    scheduler = AutoCron()
    with pytest.raises(TaskError) as caught:
        scheduler.add_task(name=f"job{bad}x", func=lambda: None, every="1h")
    assert caught.value.field == "name"
    assert scheduler.list_tasks() == []


@pytest.mark.parametrize(
    "good", ["résumé", "日本語 ✓", "\ue000 private use", "emoji 🚀", "--help", "a\\b %x"]
)
def test_core_keeps_printable_unicode_names(good: str) -> None:
    """Printable Unicode, private-use characters and option-like names stay valid task names."""
    scheduler = AutoCron()
    scheduler.add_task(name=good, func=lambda: None, every="1h")
    assert [t.name for t in scheduler.list_tasks()] == [good]


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(), min_size=1, max_size=30))
def test_accepted_names_are_single_line_xml_safe_utf8(name: str) -> None:
    """Any name core accepts is one line of valid XML text and UTF-8: every adapter can write it."""
    if name != name.strip():
        return  # refused for its spaces, a separate rule
    scheduler = AutoCron()
    try:
        scheduler.add_task(name=name, func=lambda: None, every="1h")
    except TaskError as exc:
        assert exc.field == "name" and name_problem(name) is not None
        assert scheduler.list_tasks() == []
        return
    assert all(_xml_char(c) and c not in "\t\n\r" for c in name)
    assert len(name.splitlines()) == 1
    name.encode("utf-8")


def _rule_accepts(name: str) -> bool:
    """The task-name rule, spelt out without the common-case shortcut ``_check_name`` takes."""
    return 1 <= len(name) <= MAX_NAME and name_problem(name) is None and name == name.strip()


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        st.text(st.characters(max_codepoint=0x7F), max_size=MAX_NAME + 2),  # ASCII: the shortcut's domain
        st.text(st.characters(), max_size=12),
        st.text(st.sampled_from(" \t\n\x0b\x0c\r\x1f\x7fa-"), max_size=6),  # edge spaces and controls
    )
)
def test_the_fast_name_check_agrees_with_the_rule(name: str) -> None:
    """``_check_name``'s ASCII shortcut accepts exactly the names the full rule accepts."""
    if _rule_accepts(name):
        assert _check_name(name) == name
    else:
        with pytest.raises(TaskError) as caught:
            _check_name(name)
        assert caught.value.field == "name"
