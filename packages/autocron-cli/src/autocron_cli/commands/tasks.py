"""Task definitions: ``schedule``, ``list``, ``show``, ``remove`` (``stop``), ``pause``, ``resume``.

Each command changes the store, not a running process: a running
``autocron start`` picks the change up within a few seconds.
"""

from __future__ import annotations

import os
from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import (
    BadInput,
    Duration,
    complete_task_names,
    fmt_time,
    open_scheduler,
    open_store,
    require,
    task_dict,
    task_status,
    task_target,
    upcoming,
)

__all__ = ["list_tasks", "pause", "remove", "resume", "schedule", "show", "stop"]


def _describe_task(task: Any, count: int = 3) -> list[tuple[str, Any]]:
    from autocron_core.timezones import zone_name

    policy = task.policy
    rows: list[tuple[str, Any]] = [
        ("name", task.name),
        (task.kind, task_target(task)),
        ("schedule", task.schedule.describe()),
        ("time zone", zone_name(task.timezone)),
        ("retries", f"{policy.retries} (first after {policy.retry_delay:g}s)" if policy.retries else 0),
        ("timeout", f"{policy.timeout:g}s" if policy.timeout else "none"),
        ("overlap", policy.overlap_policy),
        ("notify", ", ".join(str(c) for c in task.notify) or "none"),
        ("status", task_status(task)),
    ]
    times = upcoming(task, count)
    rows.append(("next runs", ", ".join(fmt_time(t) or "" for t in times) or "none (it will not fire again)"))
    return rows


@click.command()
@click.argument("target", required=False, type=click.Path(dir_okay=False))
@click.option("--command", "command_line", metavar="CMD", help="Run this command line instead of a script.")
@click.option("--name", help="Task name (default: the script's or command's name).")
@click.option("--every", metavar="INTERVAL", help='Fire every INTERVAL, e.g. "30s", "5m", "1h30m".')
@click.option("--cron", metavar="EXPR", help='Fire on a cron expression, e.g. "*/15 * * * *".')
@click.option("--at", "at", metavar="TIME", help='Fire once, at an ISO time such as "2026-12-01T09:30".')
@click.option("--timezone", metavar="TZ", help="IANA time zone of the schedule (default: local).")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Extra attempts after a failed run.",
)
@click.option(
    "--retry-delay",
    type=Duration(allow_zero=True),
    default=None,
    help="Delay before the first retry (default 60s).",
)
@click.option("--timeout", type=Duration(), default=None, help="Stop a run that takes longer than this.")
@click.option(
    "--notify",
    multiple=True,
    metavar="CHANNEL",
    help="Notification channel (desktop, email, webhook, log); repeatable.",
)
@click.option(
    "--overlap",
    type=click.Choice(["skip", "allow", "queue"]),
    default="skip",
    show_default=True,
    help="What to do when the previous run is still going.",
)
@click.option(
    "--os",
    "use_os",
    is_flag=True,
    help="Install it in the operating system's scheduler instead of the AutoCron daemon.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the task as JSON.")
@click.pass_context
def schedule(
    ctx: click.Context,
    target: str | None,
    command_line: str | None,
    name: str | None,
    every: str | None,
    cron: str | None,
    at: str | None,
    timezone: str | None,
    retries: int,
    retry_delay: float | None,
    timeout: float | None,
    notify: tuple[str, ...],
    overlap: str,
    use_os: bool,
    as_json: bool,
) -> None:
    """Schedule a Python script (TARGET) or a command line (--command).

    Give exactly one of --every, --cron and --at. The task is saved in the
    store; a running `autocron start` picks it up. Prints the task and its
    next three fire times.
    """
    if (target is None) == (command_line is None):
        raise click.UsageError("give a script path (TARGET) or --command, and not both")
    given = [
        flag for flag, value in (("--every", every), ("--cron", cron), ("--at", at)) if value is not None
    ]
    if len(given) != 1:
        raise click.UsageError(
            "give exactly one of --every, --cron and --at" + (f" (got {', '.join(given)})" if given else "")
        )
    if target is not None and not os.path.isfile(target):
        raise BadInput(f"script {target!r} does not exist or is not a file")
    options: dict[str, Any] = {"retries": retries, "overlap_policy": overlap}
    if timezone is not None:
        options["timezone"] = timezone
    if retry_delay is not None:
        options["retry_delay"] = retry_delay
    if timeout is not None:
        options["timeout"] = timeout
    if notify:
        options["notify"] = list(notify)
        from autocron_core.registry import NOTIFIERS

        for channel in notify:
            NOTIFIERS.get(channel)  # an unknown channel fails now, not at 3 a.m.
    with open_scheduler(ctx, use_os_scheduler=use_os) as scheduler:
        task_id = scheduler.add_task(
            name=name, script=target, command=command_line, every=every, cron=cron, at=at, **options
        )
        task = scheduler.get_task(task_id)
        if task is None:  # pragma: no cover - add_task just added it
            raise BadInput("the task vanished while it was being added")
        if as_json:
            output.json_out(task_dict(task))
            return
        where = "the operating system's scheduler" if use_os else "the store"
        output.pairs(_describe_task(task), title=f"Scheduled task {task.name!r} in {where}.")


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def list_tasks(ctx: click.Context, as_json: bool) -> None:
    """List every task: schedule, next and last run, last status, counts."""
    store = open_store(ctx)
    try:
        tasks = store.load_tasks()
    finally:
        store.close()
    if as_json:
        output.json_out([task_dict(task) for task in tasks])
        return
    output.table(
        ["name", "schedule", "next run", "last run", "last status", "runs", "failures"],
        [
            (
                t.name,
                t.schedule.describe(),
                None if t.paused else fmt_time(t.next_run),
                fmt_time(t.last_run),
                task_status(t),
                t.run_count,
                t.fail_count,
            )
            for t in tasks
        ],
        status_column="last status",
        empty="no tasks yet; add one with 'autocron schedule'",
    )


@click.command()
@click.argument("name", shell_complete=complete_task_names)
@click.option("--runs", type=click.IntRange(min=0), default=5, show_default=True, help="Recent runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, name: str, runs: int, as_json: bool) -> None:
    """Show one task's definition, state, next fire times and recent runs."""
    with open_scheduler(ctx) as scheduler:
        task = require(scheduler, name)
        recent = scheduler.history(name, runs) if runs else []
    if as_json:
        data = task_dict(task)
        data["upcoming"] = [t.isoformat() for t in upcoming(task, 3)]
        data["recent_runs"] = [r.to_dict() for r in recent]
        output.json_out(data)
        return
    output.pairs(
        [
            *_describe_task(task),
            ("runs", task.run_count),
            ("failures", task.fail_count),
            ("last run", fmt_time(task.last_run)),
        ],
        title=f"Task {task.name!r}",
    )
    if recent:
        output.line()
        output.table(
            ["scheduled for", "attempt", "status", "error"],
            [
                (
                    fmt_time(r.scheduled_for.astimezone(task.timezone)),
                    r.attempt,
                    r.status.value,
                    (r.error or "").splitlines()[0] if r.error else None,
                )
                for r in recent
            ],
            title="Recent runs",
            status_column="status",
        )


def _remove(ctx: click.Context, name: str, use_os: bool) -> None:
    with open_scheduler(ctx) as scheduler:
        if not scheduler.remove_task(name=name):
            raise BadInput(f"no task named {name!r} (see 'autocron list')")
    if use_os:
        from autocron_cli.commands.os_cmd import adapter_for

        adapter_for(None).remove(name)
    output.line(f"Removed task {name!r} (its history is kept).")


_NAME = click.argument("name", shell_complete=complete_task_names)
_OS = click.option("--os", "use_os", is_flag=True, help="Also remove its entry from the OS scheduler.")


@click.command()
@_NAME
@_OS
@click.pass_context
def remove(ctx: click.Context, name: str, use_os: bool) -> None:
    """Remove a task (its run history is kept). Alias: stop."""
    _remove(ctx, name, use_os)


@click.command()
@_NAME
@_OS
@click.pass_context
def stop(ctx: click.Context, name: str, use_os: bool) -> None:
    """Remove a task; the older name of `autocron remove`."""
    _remove(ctx, name, use_os)


@click.command()
@_NAME
@click.pass_context
def pause(ctx: click.Context, name: str) -> None:
    """Stop firing a task until `autocron resume`; a run in progress finishes."""
    with open_scheduler(ctx) as scheduler:
        require(scheduler, name)
        scheduler.pause_task(name)
    output.line(f"Paused task {name!r}.")


@click.command()
@_NAME
@click.pass_context
def resume(ctx: click.Context, name: str) -> None:
    """Fire a paused task again, from its next occurrence after now."""
    with open_scheduler(ctx) as scheduler:
        task = require(scheduler, name)
        scheduler.resume_task(name)
        nxt = fmt_time(task.next_run)
    output.line(f"Resumed task {name!r}; next run {nxt or 'never'}.")
