"""``reschedule``: change a task's schedule in the store, keeping its history and state.

A running ``autocron start`` takes the change in place within a few seconds: a
run in flight finishes, and the next fire is the new schedule's first
occurrence after now.
"""

from __future__ import annotations

from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import (
    BadInput,
    complete_task_names,
    database_option,
    open_scheduler,
    require,
    task_dict,
)
from autocron_cli.commands.tasks import _FLAGS, BUSINESS_DAYS_OPTION, EXCLUDE_OPTION, _describe_task

__all__ = ["reschedule"]


@click.command()
@click.argument("name", shell_complete=complete_task_names)
@click.option("--every", metavar="INTERVAL", help='Fire every INTERVAL from now, e.g. "30s", "5m", "1h30m".')
@click.option("--cron", metavar="EXPR", help='Fire on a cron expression, e.g. "0 9 * * 1-5".')
@click.option("--at", "at", metavar="TIME", help='Fire once, at an ISO time such as "2026-12-01T09:30".')
@click.option("--timezone", metavar="TZ", help="The task's new IANA time zone.")
@EXCLUDE_OPTION
@BUSINESS_DAYS_OPTION
@click.option("--no-exclude", is_flag=True, help="Remove the task's exclusion calendar.")
@click.option("--json", "as_json", is_flag=True, help="Print the task as JSON.")
@database_option
@click.pass_context
def reschedule(
    ctx: click.Context,
    name: str,
    every: str | None,
    cron: str | None,
    at: str | None,
    timezone: str | None,
    exclude: tuple[str, ...],
    business_days: bool,
    no_exclude: bool,
    as_json: bool,
) -> None:
    """Change task NAME's schedule; its history, counts and a running run are kept.

    Give at most one of --every, --cron and --at. --exclude and --business-days
    replace the exclusion calendar (--no-exclude removes it); without them the
    calendar stays. Prints the task and its next three fire times.
    """
    given = [
        flag for flag, value in (("--every", every), ("--cron", cron), ("--at", at)) if value is not None
    ]
    if len(given) > 1:
        raise click.UsageError(f"give at most one of --every, --cron and --at (got {', '.join(given)})")
    if no_exclude and (exclude or business_days):
        raise click.UsageError(
            "--no-exclude removes the calendar: it does not go with --exclude or --business-days"
        )
    if not (given or timezone or exclude or business_days or no_exclude):
        raise click.UsageError(
            "nothing to change: give --every, --cron, --at, --timezone, --exclude, --business-days "
            "or --no-exclude"
        )
    changes: dict[str, Any] = {"every": every, "cron": cron, "at": at, "timezone": timezone}
    if exclude or business_days or no_exclude:
        changes["exclude"] = list(exclude)
        changes["business_days"] = business_days
    from autocron_core.errors import ScheduleError

    with open_scheduler(ctx) as scheduler:
        require(scheduler, name)
        try:
            task = scheduler.reschedule(name, **changes)
        except ScheduleError as exc:
            flag = _FLAGS.get(exc.field) or (f"--{exc.field}" if exc.field in changes else None)
            if flag is None:
                raise
            detail = f" ({exc.detail})" if exc.detail else ""
            raise BadInput(f"{flag} {exc.value!r}: expected {exc.expected}{detail}") from exc
        if as_json:
            output.json_out(task_dict(task))
            return
        output.pairs(_describe_task(task), title=f"Rescheduled task {task.name!r}.")
