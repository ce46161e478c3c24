"""Unstyled tables skip rich's cell-by-cell layout and print byte for byte as rich prints them."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from autocron_dash._plaintable import PlainLines, plain_lines, plain_or_rich

# Cell texts: plain words, markup and emoji codes (in str cells rich interprets them),
# wide and combining characters, sparkline blocks, and what must make rich wrap (newlines, tabs).
_WORDS = st.sampled_from(
    ["-", "ok", "task-001", "every 1m", "in 5m", "89.2%", "21.5s", "[bold]x[/]", ":smile:", "a b  c",
     "東京", "é", "▁▂▃▄▅▆▇█", "x" * 45, "line\nbreak", "tab\there", "[link=http://x]y[/link]"]
)  # fmt: skip
_CELL = st.builds(" ".join, st.lists(_WORDS, min_size=1, max_size=3))
# Cells that fit on one line: most tables built from them take the plain layout.
_FIT = st.builds(
    " ".join,
    st.lists(st.sampled_from(["-", "ok", "job-1", "every 1m", "89.2%", "[b]x[/]", ":smile:", "東京", "▁▂▃"]),
             min_size=1, max_size=2),
)  # fmt: skip


@st.composite
def tables(draw: Any, cell: Any = _CELL) -> Table:
    """Tables built the way the dashboard builds its overview, with varied columns and cells."""
    ncols = draw(st.integers(1, 6))
    table = Table(
        title=draw(
            st.none() | st.sampled_from(["AutoCron tasks", "T", "a much longer title than most tables"])
        ),
        box=draw(st.sampled_from([box.ASCII, box.ROUNDED, box.SQUARE])),
        title_justify=draw(st.sampled_from(["left", "left", "center"])),
        expand=False,
    )
    for i in range(ncols):
        min_width = draw(st.none() | st.integers(1, 12))
        max_width = draw(st.none() | st.integers(4, 40))
        table.add_column(
            draw(st.sampled_from([f"Col{i}", "Task", "p95", ""])),
            justify=draw(st.sampled_from(["left", "right"])),
            no_wrap=draw(st.booleans()),
            overflow=draw(st.sampled_from(["fold", "crop", "ellipsis"])),
            min_width=min_width,
            max_width=max_width,
        )
    for _ in range(draw(st.integers(0, 8))):
        cells = [draw(st.one_of(cell, cell.map(Text))) for _ in range(ncols)]
        table.add_row(*cells, style=draw(st.sampled_from([None, "dim"])))
    return table


def _printed(renderable: Any, width: int) -> str:
    console = Console(file=io.StringIO(), width=width)
    console.print(Group(renderable, Text("after")))
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


@settings(max_examples=300, deadline=None)
@given(table=st.one_of(tables(), tables(_FIT)), width=st.sampled_from([40, 80, 140, 200]))
def test_plain_layout_prints_exactly_what_rich_prints(table: Table, width: int) -> None:
    """Piped dashboard output is unchanged, whatever the cells hold: the same bytes as rich's layout."""
    console = Console(file=io.StringIO(), width=width)
    fast = plain_or_rich(table, console)
    assert _printed(fast, width) == _printed(table, width)


def test_the_overview_shape_takes_the_plain_layout() -> None:
    """A dashboard-like table of fitting cells is laid out by plain_lines, not handed back to rich."""
    table = Table(title="AutoCron tasks", box=box.ASCII, title_justify="left", expand=False)
    table.add_column("Task", overflow="fold", min_width=4, max_width=12)
    table.add_column("Runs", justify="right", no_wrap=True)
    for i in range(3):
        table.add_row(Text(f"job-{i}"), str(i * 100), style="dim" if i else None)
    console = Console(file=io.StringIO(), width=80)
    lines = plain_lines(table, console)
    assert lines is not None
    assert lines[1:5] == ["+--------------+", "| Task  | Runs |", "|-------+------|", "| job-0 |    0 |"]
    assert isinstance(plain_or_rich(table, console), PlainLines)


def test_colour_consoles_keep_rich_layout() -> None:
    """On a colour terminal the table is rich's, with its styles."""
    table = Table(box=box.ROUNDED)
    table.add_column("Status")
    table.add_row(Text("failing", style="red"))
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="standard")
    assert plain_or_rich(table, console) is table


def test_piped_json_is_what_rich_printed() -> None:
    """`dashboard --json` into a pipe prints the same text as rich's console.out did."""
    import datetime as _dt
    import json

    from autocron_core import MemoryStore, RunRecord, RunStatus
    from autocron_dash import Dashboard

    store = MemoryStore()
    moment = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    store.claim_run(
        RunRecord("jöb \\u202e", moment, 1, RunStatus.FAILED, moment, moment, "e\\tx\\n", "n", None)
    )
    direct = Console(file=io.StringIO(), width=80)
    Dashboard(store, direct, now=moment).show(json=True)
    through_rich = Console(file=io.StringIO(), width=80)
    text = json.dumps(Dashboard(store, through_rich, now=moment).analytics.to_dict(), indent=2, default=str)
    through_rich.out(text, highlight=False)
    assert direct.file.getvalue() == through_rich.file.getvalue()  # type: ignore[attr-defined]
