"""Small text formatters shared by the dashboard views."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence

from rich.text import Text

__all__ = ["BARS", "STATUS_STYLES", "ago", "duration", "percent", "safe", "sparkline", "until", "user_text"]

#: What a terminal would act on rather than show: C0/C1 controls (ESC starts
#: colour, cursor and OSC 8 hyperlink sequences; newline and tab are kept) and
#: the bidirectional overrides that reorder text.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with terminal controls shown as ``\\xNN`` escapes instead of acted on."""
    return _UNSAFE.sub(_visible, text)


def user_text(text: str, style: str = "") -> Text:
    """A task name, error or output as a rich ``Text``: never read as markup, controls made visible.

    A string cell in a rich table is parsed as console markup: a task named
    ``[/]`` would crash the dashboard and ``[link=...]`` would plant a link.
    """
    return Text(safe(text), style=style)


#: Eight heights, lowest first.
BARS = "▁▂▃▄▅▆▇█"

#: Rich style of each task status (and of each run status in the per-task view).
STATUS_STYLES = {
    "ok": "green",
    "succeeded": "green",
    "failing": "bold red",
    "failed": "red",
    "timed_out": "red",
    "abandoned": "red",
    "cancelled": "yellow",
    "late": "yellow",
    "skipping": "yellow",
    "skipped": "yellow",
    "missed": "yellow",
    "paused": "dim",
    "running": "cyan",
    "new": "blue",
}


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, scaled between the smallest and the largest.

    Equal values (and a single one) draw as a middle bar: there is no spread to show.
    """
    if not values:
        return ""
    low, high = min(values), max(values)
    if high - low <= 1e-12:
        return BARS[3] * len(values)
    top = len(BARS) - 1
    return "".join(BARS[round((v - low) / (high - low) * top)] for v in values)


def duration(seconds: float | None) -> str:
    """``0.21s``, ``4.5s``, ``2m05s``, ``3h07m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 0.01:
        return f"{seconds * 1000:.1f}ms" if seconds > 0 else "0s"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def percent(rate: float | None) -> str:
    """``97.5%``; ``-`` before any finished run."""
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _span(delta: float) -> str:
    delta = abs(delta)
    if delta < 60:
        return f"{delta:.0f}s"
    return duration(delta)


def ago(moment: _dt.datetime | None, now: _dt.datetime) -> str:
    """``5m00s ago``; ``never`` when unknown."""
    if moment is None:
        return "never"
    delta = (now - moment).total_seconds()
    return f"{_span(delta)} ago" if delta >= 0 else f"in {_span(delta)}"


def until(moment: _dt.datetime | None, now: _dt.datetime) -> str:
    """``in 30s``, ``overdue 5s``; ``-`` when there is no next run."""
    if moment is None:
        return "-"
    delta = (moment - now).total_seconds()
    return f"in {_span(delta)}" if delta >= 0 else f"overdue {_span(delta)}"
