"""``autocron backfill NAME --from ISO --to ISO``: run a past range's occurrences now."""

from __future__ import annotations

import click

from autocron_cli import output
from autocron_cli._common import (
    BadInput,
    complete_task_names,
    database_option,
    fmt_seconds,
    fmt_time,
    open_scheduler,
    require,
)

__all__ = ["backfill"]


@click.command()
@click.argument("name", shell_complete=complete_task_names)
@click.option("--from", "start", required=True, metavar="ISO", help="First moment of the range (included).")
@click.option("--to", "end", required=True, metavar="ISO", help="End of the range (excluded).")
@click.option(
    "--dry-run", is_flag=True, help="List the occurrences and which are recorded already; run nothing."
)
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000_000),
    default=10_000,
    show_default=True,
    help="Refuse a range of more occurrences than this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@database_option
@click.pass_context
def backfill(
    ctx: click.Context, name: str, start: str, end: str, dry_run: bool, limit: int, as_json: bool
) -> None:
    """Run the occurrences of task NAME in [--from, --to), oldest first, in this process.

    Times without an offset are read in the task's time zone. Occurrences
    that already have a record are not run again, so a second backfill of the
    same range runs nothing new. Exit code 1 when a run failed.
    """
    from autocron_core.errors import TaskError

    with open_scheduler(ctx) as scheduler:
        task = require(scheduler, name)
        try:
            with output.status(f"backfilling task {task.name!r}"):
                result = scheduler.backfill(task.name, start, end, dry_run=dry_run, limit=limit)
        except TaskError as exc:
            flag = {"start": "--from", "end": "--to", "limit": "--limit"}.get(exc.field)
            if flag is None:
                raise
            raise BadInput(f"{flag} {exc.value!r}: expected {exc.expected}") from exc
        scheduler.notifications.close()
    recorded = set(result.already_recorded)
    if as_json:
        output.json_out(
            {
                "task": result.task,
                "dry_run": result.dry_run,
                "occurrences": [t.isoformat() for t in result.occurrences],
                "already_recorded": [t.isoformat() for t in result.already_recorded],
                "started": [t.isoformat() for t in result.started],
                "runs": [r.to_dict() for r in result.records],
            }
        )
        ctx.exit(1 if result.failed else 0)
    if dry_run:
        output.table(
            ["occurrence", "state"],
            [(fmt_time(t), "recorded already" if t in recorded else "would run") for t in result.occurrences],
            title=f"Backfill of {result.task!r} (dry run)",
            empty="no occurrence in that range",
        )
        return
    output.table(
        ["scheduled for", "attempt", "status", "duration", "error"],
        [
            (
                fmt_time(r.scheduled_for.astimezone(task.timezone)),
                r.attempt,
                r.status.value,
                fmt_seconds(r.duration),
                (r.error or "").splitlines()[0] if r.error else None,
            )
            for r in result.records
        ],
        title=f"Backfill of {result.task!r}",
        status_column="status",
        empty="nothing to run: no occurrence in that range, or every one is recorded already",
    )
    skipped = len(result.already_recorded)
    output.note(
        f"{len(result.started)} run(s): {result.succeeded} succeeded, {result.failed} did not"
        + (f"; {skipped} occurrence(s) recorded already, not run again" if skipped else "")
    )
    ctx.exit(1 if result.failed else 0)
