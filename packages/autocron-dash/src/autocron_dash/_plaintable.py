"""A rich ``Table`` laid out as plain lines, when the console prints no styles and every cell fits.

Printing the 200-row overview through rich's table layout took 110-170 ms of a
450 ms ``autocron dashboard`` on a 100,000-run store (benchmarks/README.md,
"bench_dash.py"): rich measures, wraps, pads and crops each of the 1,800 cells
through several renderables. When the console has no colour system (output
into a pipe or a file, what scripts and the benchmark see) styles print as
nothing, and when every cell fits its column on one line rich's layout comes
down to padding strings: ``plain_lines`` does that directly, in a few
milliseconds, and gives byte-for-byte what rich prints (tested against rich
over generated tables, ``tests/test_plaintable.py``).

Anything else (colours, a cell that would wrap or be cropped, a table wider
than the console, options this layout does not know) returns ``None`` and rich
lays the table out as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

__all__ = ["PlainLines", "plain_lines", "plain_or_rich"]


class PlainLines:
    """Lines already laid out, printed as they are (a rich renderable)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        newline = Segment.line()
        for line in self.lines:
            yield Segment(line)
            yield newline


def _simple(table: Table) -> bool:
    """Whether ``table`` uses only the layout features ``plain_lines`` reproduces."""
    left, right = table.padding[3], table.padding[1]
    return bool(
        table.box is not None
        and table.show_header
        and table.show_edge
        and not table.show_footer
        and not table.show_lines
        and not table.expand
        and not table.leading
        and not table.collapse_padding
        and table.pad_edge
        and table.padding[0] == table.padding[2] == 0
        and left == right == 1
        and table.width is None
        and table.min_width is None
        and table.caption is None
        and table.title_justify == "left"
        and not any(row.end_section for row in table.rows)
        and all(c.width is None and c.ratio is None and c.justify in ("left", "right") for c in table.columns)
    )


def _plain(console: Console, cell: Any) -> str | None:
    """A cell's text as rich would print it unstyled, or ``None`` when that is not a plain line."""
    if isinstance(cell, str):
        # Highlighting only adds styles, which this console does not print (it was 30 % of the layout).
        cell = console.render_str(cell, highlight=False)
    if not isinstance(cell, Text) or cell.justify is not None or cell.overflow is not None:
        return None
    text = cell.plain
    if "\n" in text or "\t" in text or "\r" in text:
        return None
    return text


def plain_lines(table: Table, console: Console) -> list[str] | None:
    """The lines rich would print for ``table`` on ``console``, or ``None`` when only rich can say.

    Only for a console without a colour system, a table built from text cells
    that each fit their column on one line, within the console's width.
    """
    if (
        console.color_system is not None
        or console.options.ascii_only
        or not table.columns
        or not _simple(table)
    ):
        return None
    columns = table.columns
    texts: list[list[str]] = []
    widths: list[int] = []
    for column in columns:
        cells = [_plain(console, column.header), *(_plain(console, cell) for cell in column.cells)]
        if any(text is None for text in cells):
            return None
        column_texts = [text for text in cells if text is not None]
        lengths = [cell_len(text) for text in column_texts]
        # rich: the widest cell, at least min_width, at most max_width.
        width = max(lengths)
        if column.min_width is not None:
            width = max(width, column.min_width)
        if column.max_width is not None:
            width = min(width, column.max_width)
        if max(lengths) > width:
            return None  # rich would fold or crop it
        widths.append(width)
        texts.append(column_texts)
    padded = [width + 2 for width in widths]
    table_width = sum(padded) + len(columns) + 1
    if table_width > console.options.max_width:
        return None  # rich would squeeze the columns
    box = table.box
    if box is None:  # _simple refused it already; this tells mypy
        return None
    lines: list[str] = []
    title = table.title
    if title:
        title_text = _plain(console, title)
        if title_text is None or cell_len(title_text) > table_width:
            return None
        lines.append(title_text + " " * (table_width - cell_len(title_text)))
    lines.append(box.get_top(padded))
    rows = len(texts[0])
    for index in range(rows):
        if index == 0:
            left, right, divider = box.head_left, box.head_right, box.head_vertical
        elif index == rows - 1:
            left, right, divider = box.foot_left, box.foot_right, box.foot_vertical
        else:
            left, right, divider = box.mid_left, box.mid_right, box.mid_vertical
        parts = []
        for column, width, column_texts in zip(columns, widths, texts, strict=True):
            text = column_texts[index]
            gap = " " * (width - cell_len(text))
            parts.append(f" {gap}{text} " if column.justify == "right" else f" {text}{gap} ")
        lines.append(left + divider.join(parts) + right)
        if index == 0:
            lines.append(box.get_row(padded, "head", edge=True))
    lines.append(box.get_bottom(padded))
    return lines


def plain_or_rich(table: Table, console: Console) -> PlainLines | Table:
    """``table`` as ``PlainLines`` when ``plain_lines`` can lay it out, else the table itself."""
    lines = plain_lines(table, console)
    return table if lines is None else PlainLines(lines)
