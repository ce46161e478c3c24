"""What every command shares: the store to use, errors with exit codes, formatting.

Nothing here imports AutoCron's packages at module level: commands are loaded
for ``--help`` and must stay cheap.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from autocron_cli import output

if TYPE_CHECKING:
    from autocron_core import AutoCron, Task

__all__ = [
    "MAX_DAYS",
    "MAX_ROWS",
    "BadInput",
    "CliError",
    "Duration",
    "FiniteNumber",
    "State",
    "complete_task_names",
    "database_option",
    "exit_code_for",
    "fmt_time",
    "open_reader",
    "open_scheduler",
    "open_store",
    "store_url",
    "task_dict",
    "task_target",
    "upcoming",
]

#: Exit codes: success, task or operation failed, bad usage or bad input.
OK, FAILED, BAD_INPUT = 0, 1, 2


class CliError(click.ClickException):
    """An error shown as one line on standard error, with its exit code."""

    def __init__(self, message: str, exit_code: int = FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class; ours varies

    def show(self, file: Any = None) -> None:
        output.error(self.message)


class BadInput(CliError):
    """The user asked for something that cannot be: exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, BAD_INPUT)


def exit_code_for(exc: BaseException) -> int:
    """2 for invalid input (schedules, tasks, configs, unknown plugins), else 1."""
    from autocron_core.errors import ConfigError, PluginNotFoundError, ScheduleError, TaskError

    if isinstance(exc, (ScheduleError, TaskError, ConfigError, PluginNotFoundError)):
        return BAD_INPUT
    return FAILED


@dataclass
class State:
    """The group's options, shared with every subcommand through ``ctx.obj``."""

    store_url: str | None = None
    debug: bool = False


def _normalise(url: str) -> str:
    if "://" in url or url.startswith("memory:"):
        return url
    if url.lower().endswith((".yaml", ".yml", ".json")):
        return os.path.abspath(os.path.expanduser(url))
    return f"sqlite:///{os.path.abspath(os.path.expanduser(url))}"


def store_url(ctx: click.Context, override: str | None = None) -> str:
    """The store to use: ``override``, else the group's ``--store``, else the default.

    The default is ``$AUTOCRON_DATABASE`` or ``$AUTOCRON_HOME/autocron.db``
    (``autocron_core.env.default_store_url``). A bare path means SQLite.
    """
    state = ctx.find_object(State)
    chosen = override or (state.store_url if state else None)
    if chosen:
        return _normalise(chosen)
    from autocron_core.env import default_store_url

    return default_store_url()


def open_store(ctx: click.Context, override: str | None = None) -> Any:
    """The store behind this invocation, opened through core's plugin registry."""
    from autocron_core.registry import open_store as _open

    return _open(store_url(ctx, override))


def open_reader(ctx: click.Context, override: str | None = None) -> Any:
    """The store for a command that only reads (``list``, ``history``, ``stats``, ``dashboard``).

    An SQLite file at the current schema is read through autocron-store's
    read-only ``sqlite3`` reader, which gives the same answers without
    importing SQLAlchemy (most of such a command's time: docs/cli.md, "Start-up
    time"). Anything else (other databases, files to create or migrate, task
    files) is opened as ``open_store`` opens it.
    """
    url = store_url(ctx, override)
    try:
        from autocron_store._reads import open_reader as _reader
    except ImportError:  # autocron-store not installed: the registry says what to install
        reader = None
    else:
        reader = _reader(url)
    if reader is not None:
        return reader
    from autocron_core.registry import open_store as _open

    return _open(url)


@contextmanager
def open_scheduler(ctx: click.Context, override: str | None = None, **options: Any) -> Iterator[AutoCron]:
    """A not-started ``AutoCron`` over the store, closed (store released) afterwards.

    Only the store is closed, not the scheduler: ``stop()`` would write back
    the state of every task this short-lived process loaded, over what a
    running ``autocron start`` recorded meanwhile.
    """
    from autocron_core import AutoCron

    scheduler = AutoCron(store=store_url(ctx, override), log_level=None, **options)
    try:
        yield scheduler
    finally:
        scheduler.store.close()


def require(scheduler: AutoCron, name: str) -> Task:
    """The task named ``name`` (or with that id), or a ``BadInput`` error saying it does not exist.

    The original AutoCron's ``run`` and ``stop`` took a task name or id, so an
    id is looked up when no task has that name.
    """
    task = scheduler.get_task(name=name) or scheduler.get_task(task_id=name)
    if task is None:
        raise BadInput(f"no task named {name!r} (see 'autocron list')")
    return task


def _set_database(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(State).store_url = value


#: ``--database PATH`` after a subcommand: the original AutoCron accepted it there
#: (``autocron list --database tasks.db``) as well as before it. Hidden, since
#: the group's ``--store``/``--database`` is the documented spelling.
database_option = click.option(
    "--database",
    metavar="PATH",
    default=None,
    hidden=True,
    expose_value=False,
    callback=_set_database,
    help="The store's database (the group's --store).",
)


def complete_task_names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for task names: the names in the store that start with ``incomplete``."""
    from click.shell_completion import CompletionItem

    try:
        store = open_reader(ctx)
        try:
            names = [task.name for task in store.load_tasks()]
        finally:
            store.close()
    except Exception:  # completion must never print a traceback into the user's shell
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only in click 8.2+
    """Seconds, given as a number or a duration such as ``30s``, ``5m`` or ``1h30m``.

    Args:
        allow_zero: accept 0 (``--retry-delay 0`` retries at once); intervals
            and timeouts must be above zero.
    """

    name = "duration"

    def __init__(self, allow_zero: bool = False) -> None:
        self.allow_zero = allow_zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if self.allow_zero and str(value).strip() in ("0", "0s", "0.0"):
            return 0.0
        from autocron_core.errors import ScheduleError
        from autocron_core.schedules import parse_interval

        try:
            return parse_interval(str(value), field=param.name if param and param.name else "duration")
        except ScheduleError as exc:
            self.fail(f"{value!r} is not a duration: expected {exc.expected}", param, ctx)


#: The most rows a listing option (``--limit``, ``--last``, ``--runs``, ``--lines``)
#: accepts: beyond it a store's integer column (64-bit) could not even hold the number.
MAX_ROWS = 1_000_000
#: The longest ``--days`` window: its start stays a representable date.
MAX_DAYS = 100_000


class FiniteNumber(click.ParamType):  # type: ignore[type-arg]  # generic only in click 8.2+
    """A finite number in ``(low, high]``: click's ``FloatRange`` lets NaN through.

    Args:
        low: the bound the value must be above.
        high: the highest value allowed, or ``None`` for no upper bound.
        unit: what the number counts, for the error message.
    """

    name = "number"

    def __init__(self, low: float = 0.0, high: float | None = None, unit: str = "") -> None:
        self.low = low
        self.high = high
        self.unit = unit

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number <= self.low or (self.high is not None and number > self.high):
            upper = f" and at most {self.high:g}" if self.high is not None else ""
            unit = f" {self.unit}" if self.unit else ""
            self.fail(
                f"{value!r} is not valid: expected a number{unit} above {self.low:g}{upper}", param, ctx
            )
        return number


def fmt_time(moment: _dt.datetime | None) -> str | None:
    """A datetime for humans: ``2026-01-31 09:30:00 CET`` (``None`` stays ``None``)."""
    if moment is None:
        return None
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    zone = moment.tzname()
    return f"{text} {zone}" if zone else text


def fmt_seconds(seconds: float | None) -> str | None:
    """A duration for humans: ``0.25s``, ``12.3s``, ``4m05s``."""
    if seconds is None:
        return None
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def task_target(task: Task) -> str:
    """What a task runs, as one line."""
    if task.kind == "command":
        import shlex

        return shlex.join(task.target)
    if task.kind in ("script", "celery"):  # celery: the Celery task name it sends
        return str(task.target)
    return str(task.func_ref or getattr(task.target, "__qualname__", repr(task.target)))


def task_status(task: Task) -> str:
    """``paused``, else the last run's status, else ``never run`` (or ``unknown`` for a
    task that ran but whose outcome was not kept, as in the original's task files)."""
    if task.paused:
        return "paused"
    if task.last_status:
        return task.last_status
    return "unknown" if task.run_count or task.last_run_us is not None else "never run"


def upcoming(task: Task, count: int, after: _dt.datetime | None = None) -> list[_dt.datetime]:
    """The task's next ``count`` fire times after ``after`` (default now), in its time zone."""
    from autocron_core.schedules import from_utc_us, to_utc_us

    moment = to_utc_us(after or _dt.datetime.now(_dt.timezone.utc))
    times: list[_dt.datetime] = []
    for _ in range(count):
        nxt = task.next_fire_after_us(moment)
        if nxt is None:
            break
        times.append(from_utc_us(nxt, task.timezone))
        moment = nxt
    return times


def task_dict(task: Task) -> dict[str, Any]:
    """A task for ``--json``: its definition, its state and a few derived fields."""
    from autocron_core.timezones import zone_name

    data = task.to_dict()
    data.update(
        kind=task.kind,
        schedule=task.schedule.describe(),
        timezone=zone_name(task.timezone),
        status=task_status(task),
        enabled=not task.paused,  # the original's name for "not paused", which its scripts filter on
        next_run=task.next_run.isoformat() if task.next_run else None,
        last_run=task.last_run.isoformat() if task.last_run else None,
        runs=task.run_count,
        failures=task.fail_count,
        # issue 17: who paused it, why and when (the dashboards read the same three)
        pause_note=task.pause_note,
        paused_by=task.paused_by,
        paused_at=task.paused_at.isoformat() if task.paused_at is not None else None,
    )
    return data
