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
    MAX_ROWS,
    BadInput,
    Duration,
    FiniteNumber,
    complete_task_names,
    database_option,
    fmt_time,
    open_reader,
    open_scheduler,
    open_store,
    require,
    task_dict,
    task_status,
    task_target,
    upcoming,
)
from autocron_cli._flowtext import flow_rows, os_user, pause_marker

__all__ = ["list_tasks", "pause", "remove", "resume", "schedule", "show", "stop"]


def _overlap(policy: Any) -> str:
    """The overlap policy, with what differs from the defaults (instances, misfire grace, coalescing)."""
    parts = [policy.overlap_policy]
    if policy.overlap_policy in ("allow", "queue", "buffer_one"):
        parts.append(f"up to {policy.max_instances} at once")
    if policy.misfire_grace_time != 60:
        grace = policy.misfire_grace_time
        if grace is None:
            parts.append("late start however late")
        else:
            parts.append("no late start" if grace == 0 else f"late start up to {grace:g}s")
    if not policy.coalesce:
        parts.append("every missed run")
    return ", ".join(parts)


def _limits(task: Any) -> str:
    """The original's isolation options a task uses, as one line (empty when none)."""
    parts = []
    if task.safe_mode:
        parts.append("safe mode")
    if task.clean_env:
        parts.append("clean environment")
    if task.max_memory_mb is not None:
        parts.append(f"memory {task.max_memory_mb} MiB")
    if task.max_cpu_percent is not None:
        parts.append(f"CPU {task.max_cpu_percent:g}%")
    if task.max_output_bytes is not None:
        parts.append(f"output {task.max_output_bytes} bytes")
    return ", ".join(parts)


def _describe_task(task: Any, count: int = 3) -> list[tuple[str, Any]]:
    from autocron_core.timezones import zone_name

    policy = task.policy
    rows: list[tuple[str, Any]] = [
        ("name", task.name),
        (task.kind, task_target(task)),
        *([("queue", task.route.queue)] if task.route is not None and task.route.queue else []),
        ("schedule", task.schedule.describe()),
        ("time zone", zone_name(task.timezone)),
        ("retries", f"{policy.retries} (first after {policy.retry_delay:g}s)" if policy.retries else 0),
        ("timeout", f"{policy.timeout:g}s" if policy.timeout else "none"),
        ("overlap", _overlap(policy)),
        ("notify", ", ".join(str(c) for c in task.notify) or "none"),
        ("status", task_status(task)),
    ]
    limits = _limits(task)
    if limits:
        rows.insert(-1, ("isolation", limits))
    rows[-1:-1] = flow_rows(task)
    times = upcoming(task, count)
    never = (
        "each time its upstream tasks succeed"
        if task.schedule.kind == "after"
        else "none (it will not fire again)"
    )
    rows.append(("next runs", ", ".join(fmt_time(t) or "" for t in times) or never))
    return rows


def _next_run(task: Any) -> Any:
    """The stored next run; for a task no scheduler has started yet, the first fire
    time from now, as ``schedule`` and ``show`` print it (not "-")."""
    if task.next_run is not None:
        return task.next_run
    first = upcoming(task, 1)
    return first[0] if first else None


#: ``add_task`` keyword → the ``schedule`` flag that sets it, for error messages.
_FLAGS = {
    "celery": "--celery",
    "queue": "--queue",
    "retries": "--retries",
    "retry_delay": "--retry-delay",
    "timeout": "--timeout",
    "overlap_policy": "--overlap",
    "max_instances": "--max-instances",
    "misfire_grace_time": "--misfire-grace-time",
    "coalesce": "--no-coalesce",
    "safe_mode": "--isolated",
    "clean_env": "--clean-env",
    "max_memory_mb": "--max-memory-mb",
    "max_cpu_percent": "--max-cpu-percent",
    "max_output_bytes": "--max-output-bytes",
    "after": "--after",
    "after_policy": "--after-policy",
    "when": "--when",
    "pause_after_failures": "--pause-after-failures",
    "exclude": "--exclude",
    "business_days": "--business-days",
}

#: ``--overlap`` choices: core's policies (``buffer_all`` is stored as ``queue``).
OVERLAP_CHOICES = ["skip", "allow", "queue", "buffer_one", "buffer_all", "cancel_other", "terminate_other"]

#: ``--exclude``, shared by ``schedule``, ``reschedule`` and ``next``.
EXCLUDE_OPTION = click.option(
    "--exclude",
    multiple=True,
    metavar="DAYS",
    help='Skip these local dates: "2026-12-25", "2026-12-24..2026-12-31", "SAT", "holidays:GB"; repeatable.',
)
BUSINESS_DAYS_OPTION = click.option(
    "--business-days", is_flag=True, help="Skip Saturdays and Sundays (with --exclude: both)."
)


@click.command()
@click.argument("target", required=False, type=click.Path(dir_okay=False))
@click.option("--command", "command_line", metavar="CMD", help="Run this command line instead of a script.")
@click.option(
    "--celery",
    "celery_name",
    metavar="TASK",
    help="Send this Celery task (by name) instead (docs/celery.md).",
)
@click.option("--queue", metavar="QUEUE", help="With --celery: the Celery queue to send it to.")
@click.option(
    "--celery-args", metavar="JSON", help='With --celery: positional arguments, a JSON list ("[1, 2]").'
)
@click.option("--celery-kwargs", metavar="JSON", help="With --celery: keyword arguments, a JSON object.")
@click.option("--name", help="Task name (default: the script's or command's name).")
@click.option("--every", metavar="INTERVAL", help='Fire every INTERVAL, e.g. "30s", "5m", "1h30m".')
@click.option("--cron", metavar="EXPR", help='Fire on a cron expression, e.g. "0 9 * * 1-5".')
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
    "--overlap-policy",
    "overlap",
    type=click.Choice(OVERLAP_CHOICES),
    default="skip",
    show_default=True,
    help="What to do when the previous run is still going.",
)
@click.option(
    "--max-instances",
    metavar="N",
    type=click.IntRange(min=1),
    default=None,
    help="Runs at once with --overlap allow, queue or buffer_one (default 1).",
)
@click.option(
    "--misfire-grace-time",
    metavar="SECONDS",
    type=Duration(allow_zero=True),
    default=None,
    help="How late a run may still start (default 60s; 0: never late).",
)
@click.option("--no-coalesce", is_flag=True, help="Run every missed occurrence, not one for all.")
@click.option("--disabled", is_flag=True, help="Add the task paused (start it with `autocron resume`).")
@click.option("--isolated", is_flag=True, help="Safe mode: run it in a child process of its own.")
@click.option("--clean-env", is_flag=True, help="Run it with a minimal environment.")
@click.option(
    "--max-memory-mb",
    metavar="MB",
    type=click.IntRange(min=1),
    default=None,
    help="Memory limit of the run's process, in MiB.",
)
@click.option(
    "--max-cpu-percent",
    metavar="PERCENT",
    type=FiniteNumber(0, 100, "of a CPU"),
    default=None,
    help="CPU share of the run's process over --timeout, 1 to 100.",
)
@click.option(
    "--max-output-bytes",
    metavar="BYTES",
    type=click.IntRange(min=1),
    default=None,
    help="Keep at most this much of its output.",
)
@click.option(
    "--os",
    "use_os",
    is_flag=True,
    help="Install it in the operating system's scheduler instead of the AutoCron daemon.",
)
@click.option(
    "--after",
    "after",
    metavar="TASK",
    multiple=True,
    help="Run after this task succeeds (repeat for several); with a schedule, that opens a window.",
)
@click.option(
    "--after-policy",
    type=click.Choice(["all", "any"]),
    default=None,
    help="With several --after: wait for all of them (default) or any one.",
)
@click.option("--when", "when", metavar="MODULE:FUNCTION", help="Run only when this function returns true.")
@click.option(
    "--pause-after-failures",
    metavar="N",
    type=click.IntRange(1, 1_000_000),
    default=None,
    help="Pause the task after N consecutive failed runs.",
)
@EXCLUDE_OPTION
@BUSINESS_DAYS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the task as JSON.")
@database_option
@click.pass_context
def schedule(
    ctx: click.Context,
    target: str | None,
    command_line: str | None,
    celery_name: str | None,
    queue: str | None,
    celery_args: str | None,
    celery_kwargs: str | None,
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
    max_instances: int | None,
    misfire_grace_time: float | None,
    no_coalesce: bool,
    disabled: bool,
    isolated: bool,
    clean_env: bool,
    max_memory_mb: int | None,
    max_cpu_percent: float | None,
    max_output_bytes: int | None,
    use_os: bool,
    after: tuple[str, ...],
    after_policy: str | None,
    when: str | None,
    pause_after_failures: int | None,
    exclude: tuple[str, ...],
    business_days: bool,
    as_json: bool,
) -> None:
    """Schedule a Python script (TARGET), a command line (--command) or a Celery task (--celery).

    Give exactly one of --every, --cron and --at, or --after alone (then the
    task runs each time its upstream tasks succeed). The task is saved in the
    store; a running `autocron start` picks it up. Prints the task and its
    next three fire times.
    """
    if [target, command_line, celery_name].count(None) != 2:
        raise click.UsageError("give exactly one of a script path (TARGET), --command and --celery")
    celery_options = _celery_options(celery_name, queue, celery_args, celery_kwargs, use_os)
    given = [
        flag for flag, value in (("--every", every), ("--cron", cron), ("--at", at)) if value is not None
    ]
    if len(given) > 1 or (not given and not after):
        raise click.UsageError(
            "give exactly one of --every, --cron and --at, or --after"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if after_policy is not None and not after:
        raise click.UsageError("--after-policy needs --after")
    if after and use_os:
        raise click.UsageError("--after and --os do not go together: the OS scheduler fires on time alone")
    if disabled and use_os:
        raise click.UsageError(
            "--disabled and --os do not go together: the OS scheduler would run it; "
            "schedule it paused here and install it later with 'autocron os install'"
        )
    if max_cpu_percent is not None and timeout is None:
        raise BadInput(
            f"--max-cpu-percent {max_cpu_percent:g} needs --timeout: the CPU budget is that share of it"
        )
    if target is not None and not os.path.isfile(target):
        raise BadInput(f"script {target!r} does not exist or is not a file")
    options: dict[str, Any] = {"retries": retries, "overlap_policy": overlap}
    # Only the options given are passed: a task with the defaults shares core's default objects.
    given_options = {
        "timezone": timezone,
        "retry_delay": retry_delay,
        "timeout": timeout,
        "max_instances": max_instances,
        "misfire_grace_time": misfire_grace_time,
        "coalesce": False if no_coalesce else None,
        "safe_mode": True if isolated else None,
        "clean_env": True if clean_env else None,
        "max_memory_mb": max_memory_mb,
        "max_cpu_percent": max_cpu_percent,
        "max_output_bytes": max_output_bytes,
        "after": list(after) or None,
        "after_policy": after_policy,
        "when": when,
        "pause_after_failures": pause_after_failures,
        "exclude": list(exclude) if exclude else None,
        "business_days": True if business_days else None,
    }
    options.update((key, value) for key, value in given_options.items() if value is not None)
    options.update(celery_options)
    if notify:
        options["notify"] = list(notify)
        from autocron_core.registry import NOTIFIERS

        for channel in notify:
            NOTIFIERS.get(channel)  # an unknown channel fails now, not at 3 a.m.
    with open_scheduler(ctx, use_os_scheduler=use_os) as scheduler:
        from autocron_core.errors import ScheduleError, TaskError
        from autocron_core.task import build_task

        options.setdefault("timezone", scheduler.timezone)
        try:
            task = build_task(
                name, script=target, command=command_line, every=every, cron=cron, at=at, **options
            )
        except (TaskError, ScheduleError) as exc:
            flag = _FLAGS.get(exc.field)
            if flag is None:
                raise
            # Core names its keyword; the user typed a flag.
            detail = f" ({exc.detail})" if exc.detail else ""
            raise BadInput(f"{flag} {exc.value!r}: expected {exc.expected}{detail}") from exc
        # Paused before it is added, so that it is saved once, already paused, and
        # a running `autocron start` never sees it active.
        task.paused = disabled
        try:
            task = scheduler.add(task)
        except TaskError as exc:
            if exc.field != "after":
                raise
            raise BadInput(f"--after {exc.value!r}: expected {exc.expected}") from exc
        if as_json:
            output.json_out(task_dict(task))
            return
        where = "the operating system's scheduler" if use_os else "the store"
        output.pairs(_describe_task(task), title=f"Scheduled task {task.name!r} in {where}.")


def _celery_options(
    name: str | None, queue: str | None, args: str | None, kwargs: str | None, use_os: bool
) -> dict[str, Any]:
    """``schedule``'s Celery flags as ``add_task`` keywords; a flag without --celery is refused."""
    if name is None:
        stray = [
            f for f, v in (("--queue", queue), ("--celery-args", args), ("--celery-kwargs", kwargs)) if v
        ]
        if stray:
            raise click.UsageError(f"{stray[0]} goes with --celery")
        return {}
    if use_os:
        raise click.UsageError("--celery and --os do not go together: Celery workers run it")
    import json

    options: dict[str, Any] = {"celery": name}
    if queue is not None:
        options["queue"] = queue
    for flag, text, kind, key in (
        ("--celery-args", args, list, "args"),
        ("--celery-kwargs", kwargs, dict, "kwargs"),
    ):
        if text is None:
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise BadInput(f"{flag} {text!r}: expected JSON ({exc})") from None
        if not isinstance(value, kind):
            raise BadInput(f"{flag} {text!r}: expected a JSON {'list' if kind is list else 'object'}")
        options[key] = value
    return options


@click.command("list")
@click.option("--enabled", "only_enabled", is_flag=True, help="Only the tasks that are not paused.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@database_option
@click.pass_context
def list_tasks(ctx: click.Context, only_enabled: bool, as_json: bool) -> None:
    """List every task: schedule, next and last run, last status, counts."""
    store = open_reader(ctx)
    try:
        tasks = store.load_tasks()
        # Rows the store could not rebuild (issue 15, fault 3): listed as broken, removable by name.
        broken = list(getattr(store, "load_errors", ()))
    finally:
        store.close()
    if only_enabled:
        tasks = [task for task in tasks if not task.paused]
    if as_json:
        output.json_out(
            [task_dict(task) for task in tasks] + [{"name": n, "broken": True, "error": e} for n, e in broken]
        )
        return
    output.table(
        ["name", "schedule", "next run", "last run", "last status", "runs", "failures"],
        [
            (
                t.name,
                t.schedule.describe(),
                None if t.paused else fmt_time(_next_run(t)),
                fmt_time(t.last_run),
                pause_marker(t),
                t.run_count,
                t.fail_count,
            )
            for t in tasks
        ]
        + [(n, f"broken: {e}", None, None, "broken", None, None) for n, e in broken],
        status_column="last status",
        empty="no enabled tasks" if only_enabled else "no tasks yet; add one with 'autocron schedule'",
    )


@click.command()
@click.argument("name", shell_complete=complete_task_names)
@click.option(
    "--runs", type=click.IntRange(0, MAX_ROWS), default=5, show_default=True, help="Recent runs to show."
)
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


def _remove_broken(ctx: click.Context, name: str) -> bool:
    """Delete a stored row the store could not rebuild (listed as broken); whether there was one."""
    store = open_store(ctx)
    try:
        store.load_tasks()
        if name not in [n for n, _ in getattr(store, "load_errors", ())]:
            return False
        return bool(store.delete_task(name))
    finally:
        store.close()


def _remove(ctx: click.Context, name: str, use_os: bool, as_json: bool) -> None:
    with open_scheduler(ctx) as scheduler:
        task = scheduler.get_task(name=name) or scheduler.get_task(task_id=name)
        removed = task is not None and scheduler.remove_task(name=task.name)
    if task is None and _remove_broken(ctx, name):
        if as_json:
            output.json_out({"removed": True, "task": name})
        else:
            output.line(f"Removed the broken task {name!r} (its history is kept).")
        return
    if as_json:
        # The original's `stop --json` shape, printed even when nothing was removed.
        output.json_out({"removed": removed, "task": name})
    if task is None or not removed:
        raise BadInput(f"no task named {name!r} (see 'autocron list')")
    if use_os:
        from autocron_cli.commands.os_cmd import adapter_for

        adapter_for(None).remove(task.name)
    if not as_json:
        output.line(f"Removed task {task.name!r} (its history is kept).")


_NAME = click.argument("name", shell_complete=complete_task_names)
_OS = click.option("--os", "use_os", is_flag=True, help="Also remove its entry from the OS scheduler.")
_JSON = click.option("--json", "as_json", is_flag=True, help='Print {"removed": ..., "task": ...} as JSON.')


@click.command()
@_NAME
@_OS
@_JSON
@database_option
@click.pass_context
def remove(ctx: click.Context, name: str, use_os: bool, as_json: bool) -> None:
    """Remove a task (its run history is kept). Alias: stop."""
    _remove(ctx, name, use_os, as_json)


@click.command()
@_NAME
@_OS
@_JSON
@database_option
@click.pass_context
def stop(ctx: click.Context, name: str, use_os: bool, as_json: bool) -> None:
    """Remove a task; the older name of `autocron remove`."""
    _remove(ctx, name, use_os, as_json)


@click.command()
@_NAME
@click.option("--note", metavar="TEXT", help="Why it is paused (shown by list, show and the dashboards).")
@click.pass_context
def pause(ctx: click.Context, name: str, note: str | None) -> None:
    """Stop firing a task until `autocron resume`; a run in progress finishes.

    The note, your user name and the time are kept with the task.
    """
    from autocron_core.errors import TaskError

    with open_scheduler(ctx) as scheduler:
        task = require(scheduler, name)
        try:
            scheduler.pause_task(task.name, note=note, by=os_user())
        except TaskError as exc:
            raise BadInput(f"--note {exc.value!r}: expected {exc.expected}") from exc
    output.line(f"Paused task {task.name!r}" + (f": {note}" if note else "."))


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
