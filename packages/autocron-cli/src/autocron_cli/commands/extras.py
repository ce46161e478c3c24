"""``autocron dashboard`` (autocron-dash) and ``autocron notify test`` (the notifiers)."""

from __future__ import annotations

from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import (
    MAX_DAYS,
    MAX_ROWS,
    CliError,
    Duration,
    FiniteNumber,
    complete_task_names,
    database_option,
    open_reader,
)

__all__ = ["dashboard", "notify_group"]


@click.command()
@click.option("--live", is_flag=True, help="Keep refreshing until Ctrl-C.")
@click.option("--refresh", type=Duration(), default=2.0, show_default=True, help="Seconds between refreshes.")
@click.option(
    "--task", "task_name", metavar="NAME", shell_complete=complete_task_names, help="Show one task in detail."
)
# NaN and infinity pass click's FloatRange; 100,000 days keeps the window's start a valid date.
@click.option("--days", type=FiniteNumber(0, MAX_DAYS, "of days"), help="Only runs of the last N days.")
@click.option("--last", "last_n", type=click.IntRange(1, MAX_ROWS), help="Only each task's last N runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@click.option(
    "--web", is_flag=True, help="Serve the web dashboard instead (autocron-dash[web]) until Ctrl-C."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --web.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port for --web."
)
@database_option
@click.pass_context
def dashboard(
    ctx: click.Context,
    live: bool,
    refresh: float,
    task_name: str | None,
    days: float | None,
    last_n: int | None,
    as_json: bool,
    web: bool,
    host: str,
    port: int,
) -> None:
    """Show the terminal dashboard: health, success rates, durations, advice.

    Without a terminal it prints plain text; --live redraws every --refresh
    seconds until Ctrl-C. --web serves the web dashboard on --host/--port
    instead; actions there need the token it prints (or AUTOCRON_DASH_TOKEN).
    """
    if web:
        if live or as_json or task_name is not None:
            raise click.UsageError("--web does not go with --live, --json or --task")
        _serve_web(ctx, host, port)
        return
    try:
        import autocron_dash
    except ImportError as exc:
        raise CliError(f"the dashboard needs autocron-dash ({exc}); pip install autocron-dash") from None
    if live and as_json:
        raise click.UsageError("--live and --json do not go together")
    window: dict[str, Any] = {k: v for k, v in (("days", days), ("last_n", last_n)) if v is not None}
    store = open_reader(ctx)
    try:
        if live:
            autocron_dash.live_monitor(refresh=refresh, source=store, task=task_name, **window)
        elif task_name is not None:
            # Dashboard.show_task raises TaskError for an unknown name (exit 2);
            # the module's show_task only prints, as the original's did.
            autocron_dash.Dashboard(store, **window).show_task(task_name, json=as_json)
        else:
            autocron_dash.show_dashboard(store, json=as_json, **window)
    except KeyboardInterrupt:
        return
    finally:
        store.close()


def _serve_web(ctx: click.Context, host: str, port: int) -> None:
    import threading

    from autocron_cli._common import store_url
    from autocron_cli._web import start_web

    server = start_web(store_url(ctx), host, port)
    try:
        threading.Event().wait()  # until Ctrl-C (SIGINT) or SIGTERM ends the process
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@click.group("notify")
def notify_group() -> None:
    """Notification channels."""


@notify_group.command("test")
@click.argument("channel")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the channel's settings from this config file's notifications: section.",
)
@click.option(
    "--kind",
    type=click.Choice(["failed", "succeeded"]),
    default="failed",
    show_default=True,
    help="Which kind of event to send.",
)
def notify_test(channel: str, config: str | None, kind: str) -> None:
    """Send a test event through CHANNEL (desktop, email, webhook, log, ...).

    Settings come from --config or the channel's environment variables
    (e.g. AUTOCRON_SMTP_*). Exit code 1 when delivery fails.
    """
    import datetime as _dt

    from autocron_core import Event, EventKind, build_task
    from autocron_core.errors import AutoCronError, PluginNotFoundError
    from autocron_core.notifications import NotificationDispatcher

    settings: dict[str, Any] = {}
    if config is not None:
        from autocron_core.config import load_config

        data, _, _ = load_config(config)
        settings = dict(data.get("notifications") or {})
        settings.pop("default", None)
    dispatcher = NotificationDispatcher(None, settings)
    task = build_task(
        name="autocron-test", command=["autocron", "notify", "test"], every="1d", notify=channel
    )
    now = _dt.datetime.now(_dt.timezone.utc)
    failed = kind == "failed"
    event = Event(
        EventKind.FAILED if failed else EventKind.SUCCEEDED,
        task.name,
        now,
        task,
        scheduled_for=now,
        attempt=1,
        error="This is a test notification sent by 'autocron notify test'." if failed else None,
    )
    try:
        notifier = dispatcher.resolve(channel, task)
        with output.status(f"sending a test notification through {channel!r}"):
            notifier.notify(event)
    except (PluginNotFoundError, KeyboardInterrupt):
        raise
    except AutoCronError as exc:
        raise CliError(f"could not notify through {channel!r}: {exc}") from exc
    except Exception as exc:
        raise CliError(f"could not notify through {channel!r}: {type(exc).__name__}: {exc}") from exc
    output.line(f"Sent a test {kind} event through {channel!r}.")
