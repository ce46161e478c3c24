"""The terminal dashboard: an overview of every task, a per-task view, and live mode.

Everything prints through a rich ``Console`` passed in (a new ``Console()``
otherwise). On a terminal the tables are coloured; without one rich drops the
colours and the tables are drawn with ASCII borders, so the output can be piped
and grepped. ``json=True`` prints the same numbers as JSON instead.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import logging
import os
import threading
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autocron_core import RunRecord, TaskError

from . import _format as fmt
from ._plaintable import plain_or_rich
from .analytics import DEFAULT_LATE_AFTER, DEFAULT_RECENT, Overall, TaskAnalytics, TaskSummary
from .recommendations import Recommendation, recommend

__all__ = ["Dashboard", "live_monitor", "show_dashboard", "show_task"]

logger = logging.getLogger("autocron.dash.dashboard")

#: Width of a console made here when stdout is not a terminal (rich would pick 80).
PLAIN_WIDTH = 140
#: Output lines shown under the per-task view.
OUTPUT_TAIL = 10


def _default_console() -> Console:
    console = Console()
    if not console.is_terminal:
        # Piped output has no width to fit; 80 columns would fold the overview table.
        console = Console(width=PLAIN_WIDTH)
    return console


class Dashboard:
    """Renders analytics as rich tables.

    Args:
        source: an ``AutoCron`` scheduler, a ``Store``, or ``None`` for the default database.
        console: where to print (default: a new ``Console()``).
        last_n, days, recent, late_after: the analytics window; see ``TaskAnalytics``.
        now: the time that relative times ("5m ago") are measured from (default: now).
    """

    def __init__(
        self,
        source: Any = None,
        console: Console | None = None,
        *,
        last_n: int | None = None,
        days: float | None = None,
        recent: int = DEFAULT_RECENT,
        late_after: float = DEFAULT_LATE_AFTER,
        now: _dt.datetime | None = None,
    ) -> None:
        self.analytics = (
            source
            if isinstance(source, TaskAnalytics)
            else TaskAnalytics(
                source, last_n=last_n, days=days, recent=recent, late_after=late_after, now=now
            )
        )
        self.console = console or _default_console()
        self._now = now

    def _time(self) -> _dt.datetime:
        return self._now or _dt.datetime.now(_dt.timezone.utc)

    def _box(self) -> box.Box:
        return box.ROUNDED if self.console.is_terminal else box.ASCII

    def _recommend(self, summaries: list[TaskSummary]) -> list[Recommendation]:
        return recommend(
            summaries, max_workers=self.analytics.source.max_workers, late_after=self.analytics.late_after
        )

    # -- overview --------------------------------------------------------------
    def overview_table(self, summaries: list[TaskSummary]) -> Table:
        """One row per task: status, schedule, next and last run, success rate, p95, sparkline."""
        now = self._time()
        table = Table(title="AutoCron tasks", box=self._box(), title_justify="left", expand=False)
        # Widths are worked out here: rich, squeezed, would drop whole columns (the task name first).
        name_w = min(40, max([4, *(len(s.name) for s in summaries)]))
        sched_w = min(28, max([8, *(len(s.schedule or "-") for s in summaries)]))
        spark_w = max([6, *(len(s.recent_durations) for s in summaries)])
        fixed = 10 + 9 + 9 + 5 + 7 + 6 + 3 * 9 + 1  # status, next, last, runs, success, p95, borders
        room = self.console.width - fixed - name_w
        spark_w = max(6, min(spark_w, room - sched_w))
        sched_w = max(8, min(sched_w, room - spark_w))
        # Too narrow for every column (an 80-column terminal): schedule and sparkline go first.
        full = room >= 8 + 6 + 6
        table.add_column("Task", overflow="fold", min_width=min(name_w, 12), max_width=name_w)
        table.add_column("Status", no_wrap=True, min_width=8)
        if full:
            table.add_column("Schedule", overflow="fold", max_width=sched_w)
        table.add_column("Next run", no_wrap=True, min_width=8)
        table.add_column("Last run", no_wrap=True, min_width=9)
        table.add_column("Runs", justify="right", no_wrap=True)
        table.add_column("Success", justify="right", no_wrap=True)
        table.add_column("p95", justify="right", no_wrap=True)
        if full:
            table.add_column("Recent", no_wrap=True, overflow="crop", max_width=spark_w)
        for s in summaries:
            style = fmt.STATUS_STYLES.get(s.status, "")
            streak = f" x{s.failure_streak}" if s.failure_streak > 1 else ""
            if s.paused and s.pause_note:  # the note itself is in the task view; a marker here
                streak += " *"
            cells: list[str | Text] = [
                fmt.user_text(s.name),
                Text(s.status + streak, style=style),
                fmt.user_text(s.schedule or "-"),
                fmt.until(s.next_run, now),
                fmt.ago(s.last_run, now),
                str(s.runs),
                fmt.percent(s.success_rate),
                fmt.duration(s.duration_p95),
                Text(fmt.sparkline(s.recent_durations[-spark_w:]), style="cyan"),
            ]
            if not full:
                del cells[8], cells[2]
            table.add_row(*cells, style="dim" if s.paused else None)
        return table

    @staticmethod
    def overall_text(overall: Overall) -> Text:
        """One line of totals."""
        text = Text()
        text.append(f"{overall.tasks} task(s) · {overall.runs} run(s) · ")
        text.append(f"{fmt.percent(overall.success_rate)} success", style="bold")
        if overall.failing:
            text.append(" · ")
            text.append(f"{overall.failing} failing", style="bold red")
        if overall.skipped or overall.missed:
            text.append(f" · {overall.skipped} skipped · {overall.missed} missed", style="yellow")
        if overall.worst_duration_task is not None:
            text.append(
                f" · slowest p95 {fmt.duration(overall.worst_duration_p95)} "
                f"({fmt.safe(overall.worst_duration_task)})"
            )
        return text

    @staticmethod
    def recommendations_view(recs: list[Recommendation]) -> RenderableType:
        """The recommendations as a bulleted list."""
        text = Text()
        for index, rec in enumerate(recs):
            if index:
                text.append("\n")
            text.append(
                "! " if rec.severity == "warning" else "i ",
                style="yellow" if rec.severity == "warning" else "cyan",
            )
            text.append(fmt.safe(rec.message))
        return text

    def render(self) -> RenderableType:
        """The overview: the task table, the totals and the recommendations."""
        summaries = self.analytics.summaries()
        parts: list[RenderableType] = [
            # Unstyled output (a pipe, a file) skips rich's cell-by-cell layout: _plaintable says why.
            plain_or_rich(self.overview_table(summaries), self.console),
            self.overall_text(self.analytics.overall(summaries)),
        ]
        recs = self._recommend(summaries)
        if recs:
            parts.append(Text(""))
            parts.append(Text("Recommendations", style="bold"))
            parts.append(self.recommendations_view(recs))
        return Group(*parts)

    def show(self, json: bool = False) -> None:
        """Print the overview (or, with ``json``, the same numbers as JSON)."""
        if json:
            self._print_json(self.analytics.to_dict())
        else:
            self.console.print(self.render())

    # -- one task ----------------------------------------------------------------
    def _require(self, name: str) -> TaskSummary:
        summary = self.analytics.summary(name)
        if summary is None:
            raise TaskError("name", name, "the name of a task with a definition or run history")
        return summary

    def figures(self, s: TaskSummary) -> Table:
        """A two-column grid of one task's figures."""
        now = self._time()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_column(style="bold")
        grid.add_column()
        trend = "-" if s.trend is None else f"{s.trend:.2f}x"
        rows: list[tuple[str, str | Text, str, str | Text]] = [
            (
                "Status",
                Text(s.status, style=fmt.STATUS_STYLES.get(s.status, "")),
                "Schedule",
                fmt.user_text(s.schedule or "-"),
            ),
            ("Next run", fmt.until(s.next_run, now), "Last run", fmt.ago(s.last_run, now)),
            ("Runs", str(s.runs), "Success rate", fmt.percent(s.success_rate)),
            ("Succeeded", str(s.succeeded), "Failed", str(s.failed)),
            ("Timed out", str(s.timed_out), "Abandoned", str(s.abandoned)),
            ("Skipped", str(s.skipped), "Missed", str(s.missed)),
            (
                "Duration p50",
                fmt.duration(s.duration_p50),
                "p95 / max",
                f"{fmt.duration(s.duration_p95)} / {fmt.duration(s.duration_max)}",
            ),
            ("Lateness p50", fmt.duration(s.lateness_p50), "Lateness p95", fmt.duration(s.lateness_p95)),
            ("Failure streak", str(s.failure_streak), "Trend", trend),
            (
                "Last success",
                fmt.ago(s.last_success, now),
                "Recent",
                Text(fmt.sparkline(s.recent_durations), style="cyan"),
            ),
        ]
        if s.paused and (s.pause_note or s.paused_by):
            # The note is user text: a Text cell, so "[bold]" in it is shown, never read as markup.
            who = f"{s.paused_by or '?'}" + (f", {fmt.ago(s.paused_at, now)}" if s.paused_at else "")
            rows.append(("Paused by", fmt.user_text(who), "Note", fmt.user_text(s.pause_note or "-")))
        for row in rows:
            grid.add_row(*row)
        return grid

    def runs_table(self, records: list[RunRecord]) -> Table:
        """Recent runs, newest first: status, duration, lateness, error and output's last line."""
        table = Table(title="Recent runs", box=self._box(), title_justify="left")
        # The fixed columns keep their width; error and output share what is left.
        room = max(20, self.console.width - (19 + 2 + 9 + 8 + 5) - 3 * 7 - 1)
        output_w = min(40, room // 3)
        error_w = min(60, room - output_w)
        table.add_column("Scheduled for", no_wrap=True, min_width=19)
        table.add_column("#", justify="right", min_width=1)
        table.add_column("Status", no_wrap=True, min_width=9)
        table.add_column("Duration", justify="right", no_wrap=True, min_width=8)
        table.add_column("Late", justify="right", no_wrap=True, min_width=5)
        table.add_column("Error", overflow="ellipsis", no_wrap=True, max_width=error_w)
        table.add_column("Output (last line)", overflow="ellipsis", no_wrap=True, max_width=output_w)
        for r in records:
            late = None if r.started_at is None else (r.started_at - r.scheduled_for).total_seconds()
            error = (r.error or "").strip().splitlines()
            output = (r.output or "").rstrip().splitlines()
            table.add_row(
                r.scheduled_for.strftime("%Y-%m-%d %H:%M:%S"), str(r.attempt),
                Text(r.status.value, style=fmt.STATUS_STYLES.get(r.status.value, "")),
                fmt.duration(r.duration),
                fmt.duration(late), fmt.user_text(error[0] if error else ""),
                fmt.user_text(output[-1] if output else ""),
            )  # fmt: skip
        return table

    def render_task(self, name: str, limit: int = DEFAULT_RECENT) -> RenderableType:
        """The per-task view: figures, recent runs, the newest output tail, advice.

        Raises:
            TaskError: no task of that name has a definition or history.
        """
        summary = self._require(name)
        records = self.analytics.history(name, limit)
        parts: list[RenderableType] = [
            Panel(self.figures(summary), title=fmt.user_text(name, "bold"), box=self._box(), expand=False),
            self.runs_table(records),
        ]
        with_output = next((r for r in records if r.output), None)
        if with_output is not None and with_output.output:
            tail = "\n".join(with_output.output.rstrip().splitlines()[-OUTPUT_TAIL:])
            parts.append(
                Panel(
                    fmt.user_text(tail),
                    title=f"Output tail of {with_output.scheduled_for:%Y-%m-%d %H:%M:%S}",
                    box=self._box(),
                    expand=False,
                )
            )
        recs = self._recommend([summary])
        if recs:
            parts.append(self.recommendations_view(recs))
        return Group(*parts)

    def show_task(self, name: str, json: bool = False, limit: int = DEFAULT_RECENT) -> None:
        """Print the per-task view (or its numbers and records as JSON).

        Raises:
            TaskError: no task of that name has a definition or history.
        """
        if not json:
            self.console.print(self.render_task(name, limit))
            return
        summary = self._require(name)
        self._print_json(
            {
                "window": self.analytics.window(),
                "task": summary.to_dict(),
                "runs": [r.to_dict() for r in self.analytics.history(name, limit)],
                "recommendations": [r.to_dict() for r in self._recommend([summary])],
            }
        )

    def _print_json(self, data: dict[str, Any]) -> None:
        text = _json.dumps(data, indent=2, default=str)
        console = self.console
        if console.is_terminal:
            console.print_json(text)
        elif console.color_system is None and not console.record:
            # The exact JSON text for a pipe. What console.out would print, written at once:
            # rich's line-by-line pass took 72 ms of `autocron dashboard --json` over 200 tasks.
            console.file.write(text + "\n")
            console.file.flush()
        else:
            # No highlighting, no wrapping: the exact JSON text.
            console.out(text, highlight=False)

    # -- live ------------------------------------------------------------------
    def live(
        self,
        refresh: float = 2.0,
        *,
        iterations: int | None = None,
        stop: threading.Event | None = None,
        task: str | None = None,
    ) -> int:
        """Redraw the overview (or one task) every ``refresh`` seconds until Ctrl-C.

        Args:
            refresh: seconds between redraws.
            iterations: stop after this many redraws (default: never).
            stop: an event that ends the loop when set (from another thread).
            task: show this task's view instead of the overview.

        Returns:
            How many times it drew.
        """
        from rich.live import Live

        if refresh <= 0:
            raise ValueError(f"refresh={refresh!r}: expected a positive number of seconds")
        stop = stop or threading.Event()
        drawn = 0

        def draw() -> RenderableType:
            return self.render() if task is None else self.render_task(task)

        try:
            with Live(draw(), console=self.console, auto_refresh=False, transient=False) as live:
                drawn = 1
                while (iterations is None or drawn < iterations) and not stop.wait(refresh):
                    live.update(draw(), refresh=True)
                    drawn += 1
        except KeyboardInterrupt:
            # Ctrl-C is how people leave live mode: not an error, no traceback.
            logger.debug("live monitor interrupted after %d redraw(s)", drawn)
        return drawn


def _pick_source(source: Any, database_path: str | os.PathLike[str] | None) -> Any:
    """``database_path=`` is the original AutoCron's name for a database to read."""
    if database_path is None:
        return source
    if source is not None:
        raise TaskError("database_path", database_path, "either source= or database_path=, not both")
    return database_path


def show_dashboard(
    source: Any = None,
    console: Console | None = None,
    json: bool = False,
    *,
    database_path: str | os.PathLike[str] | None = None,
    **options: Any,
) -> None:
    """Print the overview of every task once.

    Args:
        source: an ``AutoCron`` scheduler, a ``Store``, a store URL or database
            path, or ``None``: the scheduler ``@schedule`` made in this process,
            else the default database.
        console: where to print (default: a new ``Console()``).
        json: print the numbers as JSON instead of tables.
        database_path: the original AutoCron's name for ``source`` as a path.
        **options: ``last_n``, ``days``, ``recent``, ``late_after``, ``now`` (see ``Dashboard``).
    """
    Dashboard(_pick_source(source, database_path), console, **options).show(json=json)


def show_task(
    name: str,
    source: Any = None,
    console: Console | None = None,
    json: bool = False,
    limit: int = DEFAULT_RECENT,
    *,
    database_path: str | os.PathLike[str] | None = None,
    **options: Any,
) -> bool:
    """Print one task's figures, recent runs, output tail and advice.

    Returns:
        ``True``; ``False`` (after printing "No data found for task: NAME", as the
        original AutoCron did) when no task of that name has a definition or
        history. ``Dashboard.show_task`` raises ``TaskError`` instead.
    """
    dashboard = Dashboard(_pick_source(source, database_path), console, **options)
    try:
        dashboard.show_task(name, json=json, limit=limit)
    except TaskError as exc:
        if exc.field != "name":
            raise
        dashboard.console.print(fmt.user_text(f"No data found for task: {name}"))
        return False
    return True


def live_monitor(
    refresh: float = 2.0,
    source: Any = None,
    console: Console | None = None,
    *,
    iterations: int | None = None,
    stop: threading.Event | None = None,
    task: str | None = None,
    database_path: str | os.PathLike[str] | None = None,
    refresh_rate: float | None = None,
    **options: Any,
) -> int:
    """Redraw the overview every ``refresh`` seconds until Ctrl-C (which exits cleanly).

    ``refresh_rate=`` and ``database_path=`` are the original AutoCron's names
    for ``refresh`` and ``source``.

    Returns:
        How many times it drew.
    """
    if refresh_rate is not None:
        refresh = refresh_rate
    dashboard = Dashboard(_pick_source(source, database_path), console, **options)
    return dashboard.live(refresh, iterations=iterations, stop=stop, task=task)
