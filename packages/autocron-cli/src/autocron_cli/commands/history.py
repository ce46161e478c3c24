"""``autocron history`` and ``autocron stats``: what ran, when, and how well."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import (
    MAX_ROWS,
    BadInput,
    complete_task_names,
    database_option,
    fmt_seconds,
    fmt_time,
    open_reader,
)

__all__ = ["history", "stats"]

#: Records read to compute statistics when the store has no ``stats()`` of its own.
FALLBACK_WINDOW = 10_000


def _known(store: Any, name: str) -> bool:
    return any(task.name == name for task in store.load_tasks())


@click.command()
@click.argument("name", required=False, shell_complete=complete_task_names)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, MAX_ROWS),
    default=20,
    show_default=True,
    help="Newest runs to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def history(ctx: click.Context, name: str | None, limit: int, as_json: bool) -> None:
    """Show recent runs, newest first, of one task (NAME) or of all."""
    store = open_reader(ctx)
    try:
        records = store.history(name, limit)
        if name is not None and not records and not _known(store, name):
            raise BadInput(f"no task named {name!r} and no runs recorded for it")
    finally:
        store.close()
    if as_json:
        output.json_out([record.to_dict() for record in records])
        return
    rows = []
    for r in records:
        error = r.error.splitlines()[0] if r.error and r.error.strip() else None
        rows.append(
            (
                r.task,
                fmt_time(r.scheduled_for.astimezone()),
                r.attempt,
                r.status.value,
                r.trigger,
                fmt_seconds(r.duration),
                r.node_id,
                error,
            )
        )
    output.table(
        ["task", "scheduled for", "attempt", "status", "trigger", "duration", "node", "error"],
        rows,
        status_column="status",
        empty="no runs recorded yet",
    )


def _stats(store: Any, name: str | None) -> list[Any]:
    own = getattr(store, "stats", None)
    if callable(own):
        return list(own(name))
    # A store without aggregates: compute them over its recent history, as the memory store does.
    from autocron_core.stats import stats_by_task

    return list(stats_by_task(store.history(name, FALLBACK_WINDOW), name))


def _stats_dict(item: Any) -> dict[str, Any]:
    data: dict[str, Any] = item._asdict()
    for key in ("last_run", "last_success"):
        data[key] = data[key].isoformat() if data[key] is not None else None
    data["success_rate"] = item.success_rate
    return data


def _rate(value: float | None) -> str | None:
    return None if value is None else f"{value:.0%}"


def _export(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` to ``path`` atomically: CSV for a ``.csv`` name, else JSON (as the original did)."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            if path.suffix.lower() == ".csv":
                import csv

                writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["task"])
                writer.writeheader()
                writer.writerows(rows)
            else:
                json.dump(rows, handle, indent=2, default=str, ensure_ascii=False)
                handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@click.command()
@click.argument("name", required=False, shell_complete=complete_task_names)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--export",
    "export_path",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write them to PATH instead: CSV if it ends in .csv, else JSON.",
)
@database_option
@click.pass_context
def stats(ctx: click.Context, name: str | None, as_json: bool, export_path: Path | None) -> None:
    """Show per-task statistics: counts, success rate, durations, lateness."""
    store = open_reader(ctx)
    try:
        if name is not None and not _known(store, name) and not store.history(name, 1):
            raise BadInput(f"no task named {name!r} and no runs recorded for it")
        items = _stats(store, name)
    finally:
        store.close()
    if export_path is not None:
        _export(export_path, [_stats_dict(item) for item in items])
        output.line(f"Stats exported to {export_path}")
        return
    if as_json:
        output.json_out([_stats_dict(item) for item in items])
        return
    output.table(
        [
            "task",
            "runs",
            "ok",
            "failed",
            "timed out",
            "skipped",
            "missed",
            "success",
            "p50",
            "p95",
            "max",
            "last run",
            "last success",
        ],
        [
            (
                s.task,
                s.runs,
                s.succeeded,
                s.failed,
                s.timed_out,
                s.skipped,
                s.missed,
                _rate(s.success_rate),
                fmt_seconds(s.duration_p50),
                fmt_seconds(s.duration_p95),
                fmt_seconds(s.duration_max),
                fmt_time(s.last_run.astimezone() if s.last_run else None),
                fmt_time(s.last_success.astimezone() if s.last_success else None),
            )
            for s in items
        ],
        empty="no runs recorded yet",
    )
