"""``autocron os list|install|remove``: tasks in the operating system's own scheduler.

An installed entry runs ``python -m autocron_cli run -- NAME`` against the
store this command used (``--store``, else the default), so the OS fires the
task and AutoCron runs it with its retries, timeout, history and
notifications. The store's URL is kept in a 0600 file, never in the entry.
Installing a task also pauses it in the store, so a running ``autocron start``
does not run it a second time.
"""

from __future__ import annotations

from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import BadInput, complete_task_names, open_scheduler, store_url

__all__ = ["adapter_for", "os_group"]


def adapter_for(name: str | None) -> Any:
    """The OS adapter called ``name`` (``cron``, ``systemd``, ...), or this platform's default."""
    from autocron_core.errors import PluginNotFoundError
    from autocron_core.registry import OS_ADAPTERS

    try:
        factory = OS_ADAPTERS.get(name or "default")
    except PluginNotFoundError as exc:
        if name is None:
            raise PluginNotFoundError(exc.group, "default", exc.installed, "autocron-os") from None
        raise
    return factory()


_LEGACY = " (left by an older version: autocron-scheduler)"
_ADAPTER = click.option(
    "--adapter", metavar="NAME", help="cron, systemd, launchd or windows (default: this platform's)."
)


@click.group("os")
def os_group() -> None:
    """Hand tasks to the operating system's scheduler (cron, systemd, launchd, Windows)."""


@os_group.command("list")
@_ADAPTER
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def os_list(adapter: str | None, as_json: bool) -> None:
    """List the entries AutoCron installed in the OS scheduler (and no others)."""
    entries = list(adapter_for(adapter).list())
    if as_json:
        from autocron_os import mask_secrets  # entries of older versions may hold a password

        output.json_out(
            [
                {"name": e.name, "schedule": e.schedule, "location": e.location}
                | {"details": mask_secrets(e.details)}
                | {"legacy": getattr(e, "legacy", False)}  # left by the original autocron-scheduler
                for e in entries
            ]
        )
        return
    output.table(
        ["name", "schedule", "location"],
        [
            (e.name, e.schedule, e.location + (_LEGACY if getattr(e, "legacy", False) else ""))
            for e in entries
        ],
        empty="no AutoCron entries in the OS scheduler",
    )


@os_group.command("install")
@click.argument("names", nargs=-1, shell_complete=complete_task_names)
@click.option("--all", "install_all", is_flag=True, help="Install every script and command task.")
@_ADAPTER
@click.pass_context
def os_install(ctx: click.Context, names: tuple[str, ...], install_all: bool, adapter: str | None) -> None:
    """Install stored tasks (NAMES, or --all) in the OS scheduler and pause them here."""
    if not names and not install_all:
        raise click.UsageError("name at least one task, or give --all")
    target = adapter_for(adapter)
    with open_scheduler(ctx) as scheduler:
        tasks = [t for t in scheduler.list_tasks() if t.kind not in ("func", "celery")] if install_all else []
        for name in names:
            task = scheduler.get_task(name=name)
            if task is None:
                raise BadInput(f"no task named {name!r} (see 'autocron list')")
            if task.kind == "celery":
                raise BadInput(
                    f"task {name!r} is a Celery task: Celery workers run it, scheduled by "
                    "'autocron start --celery-app ...', not by the OS"
                )
            tasks.append(task)
        for task in tasks:  # refuse before installing anything: all or nothing is easier to reason about
            support = target.supports(task.schedule)
            if not support:
                raise BadInput(
                    f"task {task.name!r}: {target.name} cannot run {task.schedule.describe()}: "
                    f"{support.reason}"
                )
        from autocron_core.os_install import install_in_os

        for task in output.progress(tasks, f"installing in {target.name}"):
            # The entry opens the store this command used, not whatever the default is then.
            entry = install_in_os(target, task, store_url(ctx), scheduler.store)
            if not task.paused:
                scheduler.pause_task(task.name)
            output.line(f"Installed {task.name!r} in {target.name} ({entry.schedule}) at {entry.location}.")


@os_group.command("remove")
@click.argument("names", nargs=-1, required=True)
@_ADAPTER
def os_remove(names: tuple[str, ...], adapter: str | None) -> None:
    """Remove tasks' entries from the OS scheduler (the tasks stay in the store, paused)."""
    target = adapter_for(adapter)
    missing = []
    for name in output.progress(list(names), f"removing from {target.name}"):
        if target.remove(name):
            output.line(f"Removed {name!r} from {target.name}.")
        else:
            missing.append(name)
    if missing:
        raise BadInput(f"no {target.name} entry for {', '.join(map(repr, missing))} (see 'autocron os list')")
