"""Commands that inspect without touching tasks: ``next``, ``validate``, ``plugins``, ``completion``."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import BadInput, fmt_time

__all__ = ["completion", "next_times", "plugins", "validate"]


def parse_expression(expr: str, timezone: str | None) -> Any:
    """A ``Cron`` or ``Interval`` from text, recognised like a config's ``schedule:`` key."""
    from autocron_core.errors import ScheduleError
    from autocron_core.schedules import Interval, looks_like_cron
    from autocron_core.timezones import resolve_timezone

    tz = resolve_timezone(timezone)
    is_cron = looks_like_cron(expr)
    try:
        if is_cron:
            from autocron_core.cron import Cron

            return Cron(expr, tz)
        return Interval(expr)
    except ScheduleError as exc:
        kind = "cron expression" if is_cron else "interval (or cron expression)"
        detail = f" ({exc.detail})" if exc.detail else ""
        raise BadInput(f"{expr!r} is not a valid {kind}: expected {exc.expected}{detail}") from None


def _excluding(schedule: Any, exclude: tuple[str, ...], business_days: bool, timezone: str | None) -> Any:
    """``schedule`` under the exclusion calendar of ``--exclude``/``--business-days``."""
    from autocron_core.errors import ScheduleError
    from autocron_core.exclusions import exclude_schedule
    from autocron_core.timezones import resolve_timezone

    try:
        return exclude_schedule(schedule, list(exclude), business_days, resolve_timezone(timezone))
    except ScheduleError as exc:
        detail = f" ({exc.detail})" if exc.detail else ""
        raise BadInput(f"--exclude {exc.value!r}: expected {exc.expected}{detail}") from None


@click.command("next")
@click.argument("expr")
@click.option(
    "--count",
    "-n",
    type=click.IntRange(1, 1000),
    default=5,
    show_default=True,
    help="How many fire times to show.",
)
@click.option("--timezone", metavar="TZ", help="IANA time zone to evaluate it in (default: local).")
@click.option(
    "--exclude",
    multiple=True,
    metavar="DAYS",
    help='Skip these local dates: "2026-12-25", "2026-12-24..2026-12-31", "SAT", "holidays:GB"; repeatable.',
)
@click.option("--business-days", is_flag=True, help="Skip Saturdays and Sundays.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def next_times(
    expr: str, count: int, timezone: str | None, exclude: tuple[str, ...], business_days: bool, as_json: bool
) -> None:
    """Show the next fire times of a cron expression or interval, and what it means.

    EXPR is a cron expression ("*/15 9-17 * * MON-FRI", "@daily") or an
    interval ("90s", "5m", "1h30m"), told apart like a config's schedule: key.
    """
    from autocron_core.timezones import resolve_timezone

    schedule = parse_expression(expr, timezone)
    if exclude or business_days:
        schedule = _excluding(schedule, exclude, business_days, timezone)
    moment = _dt.datetime.now(resolve_timezone(timezone))
    times: list[_dt.datetime] = []
    for _ in range(count):
        nxt = schedule.next_after(moment)
        if nxt is None:
            break
        nxt = nxt.astimezone(moment.tzinfo)
        times.append(nxt)
        moment = nxt
    if as_json:
        output.json_out(
            {
                "expression": expr,
                "kind": schedule.kind,
                "description": schedule.describe(),
                "next": [t.isoformat() for t in times],
            }
        )
        return
    output.line(f"{expr}: {schedule.describe()}")
    for when in times:
        output.line(f"  {fmt_time(when)}")


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate(config: str, as_json: bool) -> None:
    """Check a configuration file and print every problem as file:line: message.

    Exit code 0 when the file is valid, 2 when it has problems.
    """
    from autocron_core.config import validate_config

    problems = validate_config(config)
    if as_json:
        output.json_out(
            [
                {"path": p.path or config, "line": p.line, "field": p.field, "message": p.reason}
                for p in problems
            ]
        )
    else:
        for problem in problems:
            where = (
                f"{problem.path or config}:{problem.line}" if problem.line else f"{problem.path or config}"
            )
            output.line(f"{where}: {problem.reason}")
    if problems:
        raise BadInput(f"{config}: {len(problems)} problem(s) found")
    if not as_json:
        output.line(f"{config}: OK")


GROUPS = (
    ("stores", "STORES"),
    ("notifiers", "NOTIFIERS"),
    ("os_adapters", "OS_ADAPTERS"),
    ("executors", "EXECUTORS"),
)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """Show what is installed for each plugin group (stores, notifiers, OS adapters, executors)."""
    from autocron_core import registry

    found: dict[str, dict[str, str]] = {}
    for _short, attr in GROUPS:
        reg = getattr(registry, attr)
        found[reg.group] = dict(sorted(reg.providers().items()))
    if as_json:
        output.json_out(found)
        return
    output.table(
        ["group", "name", "provided by"],
        [(group, name, dist) for group, names in found.items() for name, dist in names.items()],
        empty="no plugins found",
    )


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    \b
    bash:  eval "$(autocron completion bash)"      (e.g. in ~/.bashrc)
    zsh:   eval "$(autocron completion zsh)"       (e.g. in ~/.zshrc)
    fish:  autocron completion fish > ~/.config/fish/completions/autocron.fish
    """
    from click.shell_completion import get_completion_class

    root = ctx.find_root()
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise BadInput(f"no completion for {shell}")
    prog = root.info_name or "autocron"
    var = f"_{prog.replace('-', '_').replace('.', '_')}_COMPLETE".upper()
    output.line(cls(root.command, {}, prog, var).source())
