"""Everything the ``autocron`` command prints goes through this module.

Human output uses rich (tables, colour, progress) only when standard output is
a terminal, and no colour when ``NO_COLOR`` is set; anything else (a pipe, a
file, a test runner) gets plain aligned text, so scripts never see escape
codes. rich is imported only here and only when a terminal asks for it, which
keeps ``autocron --help`` fast.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = [
    "error",
    "is_terminal",
    "json_out",
    "line",
    "note",
    "pairs",
    "progress",
    "safe",
    "status",
    "table",
    "traceback",
    "warning",
]

T = TypeVar("T")

#: Colours by run status, for terminals only.
STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "timed_out": "red",
    "abandoned": "red",
    "missed": "yellow",
    "skipped": "yellow",
    "cancelled": "yellow",
    "running": "cyan",
    "paused": "yellow",
}


#: Characters a terminal would act on rather than show: C0/C1 controls (ESC
#: starts colour, cursor and OSC 8 hyperlink sequences; newline and tab are
#: kept) and the bidirectional overrides that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with the characters a terminal would interpret shown as ``\\xNN`` escapes.

    Task names, errors and output are user data: printed raw to a terminal, an
    escape sequence in them could recolour the screen or plant a hyperlink.
    """
    return _UNSAFE.sub(_visible, text)


def _for_terminal(text: str, stream: Any = None) -> str:
    return safe(text) if is_terminal(stream) else text


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default: standard output) is an interactive terminal."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _no_color() -> bool:
    # https://no-color.org: any non-empty value disables colour.
    return bool(os.environ.get("NO_COLOR"))


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, no_color=_no_color(), highlight=False)


def line(text: str = "") -> None:
    """Print one line of normal output on standard output (controls made visible on a terminal)."""
    sys.stdout.write(f"{_for_terminal(text)}\n")
    sys.stdout.flush()


def note(text: str) -> None:
    """Print a remark on standard error (it is not the command's output)."""
    sys.stderr.write(f"{_for_terminal(text, sys.stderr)}\n")
    sys.stderr.flush()


def error(message: str) -> None:
    """Print an error as one line on standard error."""
    first = " ".join(message.strip().split("\n")[0].split()) or "unknown error"
    text = f"autocron: error: {_for_terminal(first, sys.stderr)}"
    if is_terminal(sys.stderr) and not _no_color():
        text = f"\x1b[31m{text}\x1b[0m"
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


def warning(message: str) -> None:
    """Print a warning as one line on standard error."""
    first = " ".join(message.strip().split("\n")[0].split())
    text = f"autocron: warning: {_for_terminal(first, sys.stderr)}"
    if is_terminal(sys.stderr) and not _no_color():
        text = f"\x1b[33m{text}\x1b[0m"
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


def traceback(exc: BaseException) -> None:
    """Print an exception's traceback on standard error (``--debug``)."""
    import traceback as tb

    sys.stderr.write("".join(tb.format_exception(type(exc), exc, exc.__traceback__)))
    sys.stderr.flush()


def json_out(data: Any) -> None:
    """Print ``data`` as indented JSON (datetimes and other values as strings)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    status_column: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """Print rows as a table: a rich table on a terminal, aligned plain text otherwise.

    Args:
        columns: header names.
        rows: one sequence of values per row (``None`` prints as ``-``).
        title: a heading, shown above the table.
        status_column: the column whose values are coloured by run status.
        empty: what to print (on standard error) when there are no rows.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    if not cells:
        note(empty)
        return
    if is_terminal():
        from rich.table import Table
        from rich.text import Text

        # Every cell is a Text, never a markup string: a task named "[/]" or
        # "[link=...]" is shown as written, not interpreted.
        rich_table = Table(
            title=None if title is None else Text(safe(title)), header_style="bold", title_justify="left"
        )
        for name in columns:
            rich_table.add_column(Text(name), overflow="fold")
        index = columns.index(status_column) if status_column in columns else -1
        for row in cells:
            shown = [Text(safe(value)) for value in row]
            if index >= 0 and row[index] in STATUS_STYLE:
                shown[index].stylize(STATUS_STYLE[row[index]])
            rich_table.add_row(*shown)
        _console().print(rich_table)
        return
    widths = [max(len(name), *(len(row[i]) for row in cells)) for i, name in enumerate(columns)]
    if title:
        line(title)

    def render(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    line(render(columns))
    for row in cells:
        line(render(row))


def pairs(items: Iterable[tuple[str, Any]], *, title: str | None = None) -> None:
    """Print ``label: value`` lines, labels aligned (a task's details)."""
    items = [(label, _cell(value)) for label, value in items]
    if title:
        line(title)
    width = max((len(label) for label, _ in items), default=0)
    for label, value in items:
        line(f"  {(label + ':').ljust(width + 1)} {value}")


@contextmanager
def status(text: str) -> Iterator[None]:
    """Show a spinner with ``text`` while the block runs, on a terminal only."""
    if not is_terminal(sys.stderr):
        yield
        return
    from rich.text import Text

    with _console(stderr=True).status(Text(safe(text))):
        yield


def progress(items: Sequence[T], description: str) -> Iterator[T]:
    """Iterate over ``items``, showing a progress bar on a terminal (plain otherwise)."""
    if not is_terminal(sys.stderr) or len(items) < 2:
        yield from items
        return
    from rich.markup import escape
    from rich.progress import Progress

    with Progress(console=_console(stderr=True), transient=True) as bar:
        job = bar.add_task(escape(safe(description)), total=len(items))
        for item in items:
            yield item
            bar.advance(job)
