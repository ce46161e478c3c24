"""``autocron start``: the scheduler in the foreground, until a signal or ``--duration``.

The daemon runs the store's tasks plus the config file's, and re-reads the
store every ``SYNC_EVERY`` seconds so that ``autocron schedule``/``remove``/
``pause`` from another shell take effect without a restart. The first SIGINT
or SIGTERM stops it gracefully (no new runs; running ones finish, up to
``--stop-timeout``); a second one exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import FrameType
from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import BadInput, Duration, database_option, store_url

__all__ = ["SYNC_EVERY", "start"]

logger = logging.getLogger("autocron.cli")

#: Longest delay between a signal and the start of the graceful stop.
CHECK_EVERY = 0.25
#: Seconds between two looks at the store for tasks added or removed elsewhere.
SYNC_EVERY = 2.0


def _build(
    ctx: click.Context, config: str | None, store: str | None, max_workers: int | None, celery_app: str | None
) -> Any:
    from autocron_core import AutoCron

    explicit = store or (ctx.obj.store_url if ctx.obj else None)
    url = store_url(ctx, store)
    extra: dict[str, Any] = {} if max_workers is None else {"max_workers": max_workers}
    if celery_app is not None:  # wins over the config's celery_app: and $AUTOCRON_CELERY_APP
        extra["celery_app"] = celery_app
    if config is None:
        return AutoCron(store=url, log_level=None, **extra)
    from autocron_core.config import load_config, validate_config

    problems = validate_config(config)
    if problems:
        for problem in problems:
            output.note(str(problem))
        raise BadInput(f"{config} has {len(problems)} problem(s); see 'autocron validate {config}'")
    data, _, _ = load_config(config)
    has_store = "store" in data or "store" in (data.get("scheduler") or {})
    # An explicit --store (or AUTOCRON_DATABASE) wins; else the config's store; else the default.
    if explicit or os.environ.get("AUTOCRON_DATABASE") or not has_store:
        extra["store"] = url
    return AutoCron.from_config(config, **extra)


class _Signals:
    """First signal: ask for a graceful stop. Second: leave at once.

    The handler only counts: taking a lock (``Event.set``) inside a signal
    handler can deadlock when the main thread was interrupted holding it.
    """

    def __init__(self) -> None:
        self.received = 0
        self.previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread (CliRunner in a thread)
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self.handle)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received += 1
        name = signal.Signals(signum).name
        if self.received > 1:
            logger.warning("second %s: exiting now without waiting for running tasks", name)
            os._exit(130)
        logger.info("%s received: stopping after running tasks finish (send it again to exit now)", name)


def _sync_forever(scheduler: Any, stop: threading.Event) -> None:
    while not stop.wait(SYNC_EVERY):
        try:
            scheduler.sync_with_store()
        except Exception:  # a database hiccup must not end the daemon; the next sync retries
            logger.exception("could not sync tasks with the store")


def _serve_metrics(scheduler: Any, port: int, host: str) -> Any:
    try:
        from autocron_dash import serve_metrics
    except ImportError as exc:
        raise BadInput(f"--metrics-port needs autocron-dash ({exc}); pip install autocron-dash") from None
    server = serve_metrics(scheduler, port, host)
    logger.info("metrics on http://%s:%d/metrics, health on /healthz", host, port)
    return server


def _close(server: Any) -> None:
    for method in ("shutdown", "stop", "close"):
        closer = getattr(server, method, None)
        if callable(closer):
            try:
                closer()
            except Exception:
                logger.exception("could not stop the metrics server")
            return


@click.command()
@click.option(
    "--config", type=click.Path(dir_okay=False), help="A config file (YAML or JSON) with more tasks."
)
@click.option("--store", metavar="URL", help="Store URL (overrides the global --store).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), help="Serve Prometheus metrics on this port.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port.")
@click.option(
    "--web", is_flag=True, help="Serve the web dashboard beside the scheduler (autocron-dash[web])."
)
@click.option("--web-host", default="127.0.0.1", show_default=True, help="Address for --web.")
@click.option(
    "--web-port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port for --web."
)
@click.option("--duration", type=Duration(), help="Stop by itself after this long (e.g. 30s, 1h).")
@click.option(
    "--stop-timeout",
    type=Duration(),
    default=60.0,
    show_default=True,
    help="On stop, wait this long for running tasks.",
)
@click.option("--max-workers", type=click.IntRange(min=1), help="Threads running tasks (default 4).")
@click.option("--log-level", default=None, help="DEBUG, INFO (default), WARNING or ERROR.")
@click.option(
    "--celery-app",
    metavar="MODULE:ATTR",
    help="The Celery app for --celery tasks, e.g. proj.celery:app (default: $AUTOCRON_CELERY_APP).",
)
@database_option
@click.pass_context
def start(
    ctx: click.Context,
    config: str | None,
    store: str | None,
    metrics_port: int | None,
    metrics_host: str,
    web: bool,
    web_host: str,
    web_port: int,
    duration: float | None,
    stop_timeout: float,
    max_workers: int | None,
    log_level: str | None,
    celery_app: str | None,
) -> None:
    """Run the scheduler in the foreground with the stored tasks (and --config's).

    Tasks added, changed or removed from another shell are picked up within a
    few seconds. SIGINT or SIGTERM stops it gracefully: no new runs start and
    running ones finish (up to --stop-timeout); a second signal exits at once.
    Logs go to $AUTOCRON_HOME/logs/autocron.log and to the console.
    """
    from autocron_core import configure_logging
    from autocron_core.config import is_reference

    if celery_app is not None and not is_reference(celery_app):  # refused before logging is set up
        raise BadInput(
            f'--celery-app {celery_app!r}: expected a "module:attr" reference such as proj.celery:app'
        )
    debug = bool(ctx.obj and ctx.obj.debug)
    try:
        log_path = configure_logging(level="DEBUG" if debug else log_level, console=True)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    from autocron_core.errors import TaskError

    try:
        scheduler = _build(ctx, config, store, max_workers, celery_app)
    except TaskError as exc:
        if exc.field != "celery_app":
            raise
        raise BadInput(f"--celery-app {exc.value!r}: expected {exc.expected}"
                       + (f" ({exc.detail})" if exc.detail else "")) from None  # fmt: skip
    stop = threading.Event()
    signals = _Signals()
    signals.install()
    server = None
    web_server = None
    finished = True
    loop_died = False
    try:
        if metrics_port is not None:
            server = _serve_metrics(scheduler, metrics_port, metrics_host)
        if web:
            from autocron_cli._web import start_web

            web_server = start_web(scheduler, web_host, web_port, host_option="--web-host")
        scheduler.start(blocking=False)
        logger.info("autocron started with %d task(s); logging to %s", len(scheduler.list_tasks()), log_path)
        syncer = threading.Thread(
            target=_sync_forever, args=(scheduler, stop), name="autocron-sync", daemon=True
        )
        syncer.start()
        deadline = None if duration is None else time.monotonic() + duration
        while not signals.received:
            left = CHECK_EVERY if deadline is None else min(CHECK_EVERY, deadline - time.monotonic())
            if left <= 0:
                break
            stop.wait(left)
            if not scheduler.health().get("healthy", True):  # its loop died: nothing fires any more
                logger.error("the scheduler loop died (%s); exiting", scheduler.health().get("loop_error"))
                loop_died = True
                break
        stop.set()
        syncer.join(SYNC_EVERY + 5)
        finished = scheduler.stop(wait=True, timeout=stop_timeout)
        if not finished:
            logger.warning("runs still going after %gs were left behind", stop_timeout)
    finally:
        stop.set()
        if server is not None:
            _close(server)
        if web_server is not None:
            _close(web_server)
        scheduler.store.close()
        signals.restore()
    logger.info("autocron stopped")
    ctx.exit(0 if finished and not loop_died else 1)
