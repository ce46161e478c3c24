"""What each page shows, gathered from a ``Source`` into plain values for the templates.

Every read here is bounded: aggregates come from the store's ``stats()``
(computed in the database), row reads are one page or the newest
``PLOT_RUNS`` runs, never the whole history.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us
from autocron_core.timezones import zone_name
from autocron_dash._format import ago, duration, percent, until
from autocron_dash._source import Source
from autocron_dash.analytics import TaskAnalytics, TaskSummary
from autocron_dash.recommendations import recommend

from ._actions import pause_info
from ._history import PAGE_SIZE, Filters, history_page, page_key
from ._svg import duration_plot, outcome_class, sparkline

__all__ = ["NEXT_FIRES", "OUTPUT_LINES", "PLOT_RUNS", "overview", "runs_view", "task_view"]

#: Upcoming fire times listed on a task's page.
NEXT_FIRES = 5
#: Newest runs drawn in a task's plot.
PLOT_RUNS = 200
#: Lines of each run's output shown on a task's page.
OUTPUT_LINES = 20


def _when(moment: _dt.datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _run_row(record: RunRecord, now: _dt.datetime) -> dict[str, Any]:
    output = record.output or ""
    lines = output.rstrip("\n").splitlines()
    return {
        "task": record.task,
        "scheduled": _when(record.scheduled_for),
        "scheduled_ago": ago(record.scheduled_for, now),
        "attempt": record.attempt,
        "status": record.status.value,
        "status_text": record.status.value.replace("_", " "),
        "css": outcome_class(record.status.value),
        "duration": duration(record.duration) if record.status is not RunStatus.RUNNING else "running",
        "error": (record.error or "").strip(),
        "error_line": (record.error or "").strip().splitlines()[0] if (record.error or "").strip() else "",
        "output_tail": "\n".join(lines[-OUTPUT_LINES:]),
        "output_lines": len(lines),
        "node": record.node_id or "",
    }


def _summary_row(summary: TaskSummary, task: Any, now: _dt.datetime) -> dict[str, Any]:
    info = pause_info(task) if task is not None else None
    return {
        "name": summary.name,
        "status": summary.status,
        "streak": summary.failure_streak,
        "schedule": summary.schedule or "-",
        "next_run": until(summary.next_run, now),
        "next_run_at": _when(summary.next_run),
        "last_run": ago(summary.last_run, now),
        "last_run_at": _when(summary.last_run),
        "runs": summary.runs,
        "success": percent(summary.success_rate),
        "p95": duration(summary.duration_p95),
        "spark": sparkline(summary.recent_durations, summary.recent_statuses),
        "pause_note": info.note if info else None,
        "defined": summary.defined,
    }


def _cluster(source: Source) -> dict[str, Any] | None:
    """Live nodes and the runs they hold leases on, when more than one node shares the store."""
    live_nodes = getattr(source.store, "live_nodes", None)
    if not callable(live_nodes):
        return None
    nodes = sorted(live_nodes())
    if len(nodes) < 2:
        return None
    running = history_page(source.store, None, Filters(status=RunStatus.RUNNING), limit=PAGE_SIZE)
    leases = [{"task": r.task, "node": r.node_id or "-", "started": _when(r.started_at)} for r in running]
    return {"nodes": nodes, "leases": leases}


def overview(source: Source, now: _dt.datetime) -> dict[str, Any]:
    """The overview: every task's row, the totals, recommendations and the cluster."""
    analytics = TaskAnalytics(source, now=now)
    tasks = {task.name: task for task in source.tasks()}
    summaries = analytics.summaries()
    overall = analytics.overall(summaries)
    advice = recommend(summaries, max_workers=source.max_workers, late_after=analytics.late_after)
    return {
        "tasks": [_summary_row(s, tasks.get(s.name), now) for s in summaries],
        "overall": {
            "tasks": overall.tasks,
            "runs": overall.runs,
            "success": percent(overall.success_rate),
            "failing": overall.failing,
            "skipped": overall.skipped,
            "missed": overall.missed,
        },
        "recommendations": [{"task": r.task, "severity": r.severity, "message": r.message} for r in advice],
        "cluster": _cluster(source),
    }


def _next_fires(task: Any, now: _dt.datetime) -> list[str]:
    fires: list[str] = []
    moment = to_utc_us(now)
    zone = task.timezone
    for _ in range(NEXT_FIRES):
        nxt = task.next_fire_after_us(moment)
        if nxt is None:
            break
        fires.append(from_utc_us(nxt, zone).strftime("%Y-%m-%d %H:%M:%S %Z"))
        moment = nxt
    return fires


def _definition(task: Any) -> list[tuple[str, str]]:
    policy = task.policy
    target = task.func_ref or task.target if task.kind == "func" else task.target
    if isinstance(target, (list, tuple)):
        target = " ".join(str(part) for part in target)
    elif callable(target):
        target = getattr(target, "__qualname__", repr(target))
    rows = [
        ("kind", task.kind),
        ("target", str(target)),
        ("schedule", task.schedule.describe()),
        ("time zone", zone_name(task.timezone)),
        ("retries", f"{policy.retries} (delay {duration(policy.retry_delay)}, backoff x{policy.backoff:g})"),
        ("timeout", duration(policy.timeout) if policy.timeout is not None else "none"),
        ("overlap", f"{policy.overlap_policy} (max {policy.max_instances})"),
    ]
    if task.tags:
        rows.append(("tags", ", ".join(task.tags)))
    return rows


def _page(records: list[RunRecord], filters: Filters, now: _dt.datetime) -> dict[str, Any]:
    more = len(records) > PAGE_SIZE
    shown = records[:PAGE_SIZE]
    return {
        "runs": [_run_row(r, now) for r in shown],
        "next": filters.query(after=page_key(shown[-1])) if more and shown else None,
        "first": filters.query(after=None) if filters.after is not None else None,
    }


def task_view(source: Source, name: str, filters: Filters, now: _dt.datetime) -> dict[str, Any] | None:
    """One task's page, or ``None`` when it has neither a definition nor history."""
    analytics = TaskAnalytics(source, now=now)
    summary = analytics.summary(name)
    if summary is None:
        return None
    task = next((t for t in source.tasks() if t.name == name), None)
    records = history_page(source.store, name, filters, limit=PAGE_SIZE + 1)
    plotted = history_page(
        source.store, name, Filters(filters.status, filters.since, filters.until), PLOT_RUNS
    )
    info = pause_info(task) if task is not None else None
    advice = recommend([summary], max_workers=source.max_workers, late_after=analytics.late_after)
    return {
        "summary": _summary_row(summary, task, now),
        "figures": [
            ("Runs", str(summary.runs)),
            ("Success rate", percent(summary.success_rate)),
            ("Succeeded", str(summary.succeeded)),
            ("Failed", str(summary.failed)),
            ("Timed out", str(summary.timed_out)),
            ("Skipped / missed", f"{summary.skipped} / {summary.missed}"),
            ("Duration p50", duration(summary.duration_p50)),
            ("p95 / max", f"{duration(summary.duration_p95)} / {duration(summary.duration_max)}"),
            ("Lateness p95", duration(summary.lateness_p95)),
            ("Last success", ago(summary.last_success, now)),
        ],
        "paused": summary.paused,
        "pause": None
        if info is None
        else {"note": info.note, "by": info.by, "at": _when(info.at) if info.at else None},
        "definition": _definition(task) if task is not None else None,
        "next_fires": _next_fires(task, now) if task is not None and not summary.paused else [],
        "plot": duration_plot(list(reversed(plotted))),
        "recommendations": [{"severity": r.severity, "message": r.message} for r in advice],
        **_page(records, filters, now),
    }


def runs_view(source: Source, filters: Filters, now: _dt.datetime) -> dict[str, Any]:
    """The runs page: every task's runs, newest first, filtered and paged."""
    records = history_page(source.store, None, filters, limit=PAGE_SIZE + 1)
    return _page(records, filters, now)
