"""Charts drawn on the server as SVG: a sparkline of recent runs and a plot of durations over time.

No chart library and no script: the page stays readable offline and without
JavaScript, and the CSP needs no exception. Shapes carry classes (``ok``,
``bad``, ``skip``) that the stylesheet colours; every text is escaped.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from html import escape

from autocron_core.records import RunRecord, RunStatus
from autocron_dash._format import duration as fmt_seconds

__all__ = ["duration_plot", "outcome_class", "sparkline"]

_BAD = frozenset({"failed", "timed_out", "abandoned"})
_SKIP = frozenset({"skipped", "missed"})


def outcome_class(status: str) -> str:
    """The CSS class of a run status: ``ok``, ``bad``, ``skip`` or ``run``."""
    if status == "succeeded":
        return "ok"
    if status in _BAD:
        return "bad"
    if status in _SKIP:
        return "skip"
    return "run"


def sparkline(durations: Sequence[float], statuses: Sequence[str], width: int = 120, height: int = 24) -> str:
    """One bar per recent run, oldest left, height by duration, colour by outcome.

    ``durations`` pairs with the newest ``len(durations)`` finished statuses;
    runs without a duration (skipped, missed) draw as a short grey tick.
    """
    finished = [s for s in statuses if s != "running"]
    if not finished:
        return ""
    bars = len(finished)
    step = width / max(bars, 1)
    top = max(durations, default=0.0) or 1.0
    values = list(durations)
    # Skipped and missed runs have no duration: the durations belong to the others, in order.
    timed = iter(values)
    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{bars} recent runs">'
    ]
    for i, status in enumerate(finished):
        duration = None if status in _SKIP else next(timed, None)
        h = 3.0 if duration is None else max(2.0, height * duration / top)
        label = status.replace("_", " ") + ("" if duration is None else f", {fmt_seconds(duration)}")
        parts.append(
            f'<rect class="{outcome_class(status)}" x="{i * step + 0.5:.1f}" y="{height - h:.1f}" '
            f'width="{max(step - 1, 1):.1f}" height="{h:.1f}"><title>{escape(label)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _time_label(moment: _dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _text(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text class="tick" x="{x}" y="{y}" text-anchor="{anchor}">{escape(text)}</text>'


def duration_plot(records: Sequence[RunRecord], width: int = 720, height: int = 200) -> str:
    """Durations (y) over scheduled time (x), a dot per run coloured by outcome.

    Runs without a duration (skipped, missed, still running) sit on the
    baseline as hollow marks, so a gap in the history shows as what it was.
    """
    if not records:
        return ""
    left, right, top_pad, bottom = 56, 12, 10, 28
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    times = [r.scheduled_for.timestamp() for r in records]
    t0, t1 = min(times), max(times)
    span = (t1 - t0) or 1.0
    durations = [r.duration for r in records if r.duration is not None and r.status is not RunStatus.RUNNING]
    ymax = max(durations, default=0.0) or 1.0
    base = top_pad + plot_h
    first = min(r.scheduled_for for r in records)
    last = max(r.scheduled_for for r in records)
    parts = [
        f'<svg class="plot" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="durations and outcomes of {len(records)} runs">',
        f'<line class="axis" x1="{left}" y1="{base}" x2="{width - right}" y2="{base}"/>',
        f'<line class="axis" x1="{left}" y1="{top_pad}" x2="{left}" y2="{base}"/>',
        _text(left - 4, top_pad + 8, fmt_seconds(ymax), "end"),
        _text(left - 4, base, "0s", "end"),
        _text(left, height - 8, _time_label(first)),
        _text(width - right, height - 8, _time_label(last), "end"),
    ]
    for record, t in zip(records, times, strict=True):
        x = left + plot_w * (t - t0) / span if t1 > t0 else left + plot_w / 2
        duration = record.duration if record.status is not RunStatus.RUNNING else None
        status = record.status.value
        y: float
        if duration is None:
            y, shape = top_pad + plot_h - 3, "hollow"
        else:
            y, shape = top_pad + plot_h - plot_h * duration / ymax, "dot"
        label = f"{_time_label(record.scheduled_for)} #{record.attempt}: {status.replace('_', ' ')}"
        if duration is not None:
            label += f", {fmt_seconds(duration)}"
        parts.append(
            f'<circle class="{outcome_class(status)} {shape}" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
            f"<title>{escape(label)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
