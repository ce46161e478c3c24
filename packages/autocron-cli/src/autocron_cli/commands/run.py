"""``autocron run NAME``: one run now, in the foreground; what OS scheduler entries call."""

from __future__ import annotations

import click

from autocron_cli import output
from autocron_cli._common import complete_task_names, database_option, fmt_seconds, open_scheduler, require

__all__ = ["run"]


@click.command()
@click.argument("name", shell_complete=complete_task_names)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON (exit codes unchanged).")
@database_option
@click.pass_context
def run(ctx: click.Context, name: str, quiet: bool, as_json: bool) -> None:
    """Run a task now, in the foreground, with its retries and timeout.

    The run is recorded in the history like a scheduled one and notifies its
    channels. Exit code 0 when the final attempt succeeded, 1 when it failed.
    """
    from autocron_core import configure_logging

    state_debug = bool(ctx.obj and getattr(ctx.obj, "debug", False))
    # Runs started by cron or systemd have no terminal: their log belongs in the shared log file.
    configure_logging(level="DEBUG" if state_debug else None, console=False)
    with open_scheduler(ctx) as scheduler:
        task = require(scheduler, name)
        name = task.name  # NAME may have been the task's id
        with output.status(f"running task {name!r}"):
            ok = scheduler.run_task(name=name, wait=True)
        scheduler.notifications.close()
        records = scheduler.history(name, limit=1)
        attempts = task.policy.retries + 1
    record = records[0] if records else None
    if as_json:
        # The original's keys (success, task, task_id) first, then what the run record adds.
        output.json_out(
            {
                "success": ok,
                "task": name,
                "task_id": task.task_id,
                "status": record.status.value if record else None,
                "attempt": record.attempt if record else None,
                "duration": record.duration if record else None,
                "error": record.error if record else None,
                "output": record.output if record else None,
            }
        )
        ctx.exit(0 if ok else 1)
    if record is not None and record.output and not (ok and quiet):
        output.line(record.output.rstrip("\n"))
    took = fmt_seconds(record.duration) if record else None
    if ok:
        if not quiet:
            attempt = f" on attempt {record.attempt}" if record and record.attempt > 1 else ""
            output.note(f"task {name!r} succeeded{attempt}" + (f" in {took}" if took else ""))
        ctx.exit(0)
    why = f": {record.error.splitlines()[0]}" if record and record.error else ""
    status = record.status.value.replace("_", " ") if record else "failed"
    tries = f" after {record.attempt} of {attempts} attempt(s)" if record and attempts > 1 else ""
    output.error(f"task {name!r} {status}{tries}{why}")
    ctx.exit(1)
