"""The ``autocron`` command group: global options, lazy subcommands and error handling.

Subcommands live in ``autocron_cli.commands.*`` and are imported only when
named (or when ``--help`` lists them); their modules import click alone at the
top, and AutoCron's packages inside the functions that need them, so
``autocron --help`` loads neither SQLAlchemy nor rich nor the dashboard.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any

import click

from autocron_cli import output
from autocron_cli._common import CliError, State, exit_code_for
from autocron_cli._versions import PACKAGES

__all__ = ["COMMANDS", "PACKAGES", "cli", "main"]

#: Command name → ``module:attribute`` of its click command, in help order.
COMMANDS = {
    "schedule": "autocron_cli.commands.tasks:schedule",
    "list": "autocron_cli.commands.tasks:list_tasks",
    "show": "autocron_cli.commands.tasks:show",
    "remove": "autocron_cli.commands.tasks:remove",
    "stop": "autocron_cli.commands.tasks:stop",
    "pause": "autocron_cli.commands.tasks:pause",
    "resume": "autocron_cli.commands.tasks:resume",
    "reschedule": "autocron_cli.commands.reschedule:reschedule",
    "run": "autocron_cli.commands.run:run",
    "backfill": "autocron_cli.commands.backfill:backfill",
    "start": "autocron_cli.commands.start:start",
    "history": "autocron_cli.commands.history:history",
    "stats": "autocron_cli.commands.history:stats",
    "logs": "autocron_cli.commands.logs:logs",
    "dashboard": "autocron_cli.commands.extras:dashboard",
    "next": "autocron_cli.commands.inspect:next_times",
    "validate": "autocron_cli.commands.inspect:validate",
    "import": "autocron_cli.commands.import_cmd:import_cmd",
    "os": "autocron_cli.commands.os_cmd:os_group",
    "notify": "autocron_cli.commands.extras:notify_group",
    "plugins": "autocron_cli.commands.inspect:plugins",
    "doctor": "autocron_cli.commands.doctor:doctor",
    "completion": "autocron_cli.commands.inspect:completion",
}


class AutoCronGroup(click.Group):
    """A group that imports its subcommands on demand and turns errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(import_module(module), attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            state = ctx.find_object(State)
            if state is not None and state.debug:
                output.traceback(exc)
            raise CliError(_message(exc), exit_code_for(exc)) from exc

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            # Bare `autocron` shows the help and succeeds, as the original did (and click
            # before 8.2, which raises NoArgsIsHelpError, a usage error, since).
            if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
                output.line(exc.ctx.get_help())
                sys.exit(0)
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            output.error(exc.format_message() + hint)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            output.error("interrupted")
            sys.exit(130)
        # With standalone_mode=False click returns the exit code of ctx.exit(); commands return None.
        sys.exit(result if isinstance(result, int) else 0)


def _message(exc: BaseException) -> str:
    if isinstance(exc, (KeyError, OSError)) and not str(exc).strip():
        return type(exc).__name__
    from autocron_core.errors import AutoCronError

    if isinstance(exc, AutoCronError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def _print_versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import platform

    from autocron_cli._versions import package_versions

    rows = [(name, ver or "not installed") for name, ver in package_versions()]
    rows.append(("python", platform.python_version()))
    width = max(len(name) for name, _ in rows)
    for name, ver in rows:
        output.line(f"{name.ljust(width)}  {ver}")
    from autocron_cli._original import original_warning

    warning = original_warning()
    if warning is not None:
        output.warning(warning)
    ctx.exit(0)


@click.group(cls=AutoCronGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    "--database",
    "store",
    metavar="URL",
    default=None,
    help="Database or store URL (default: $AUTOCRON_DATABASE, else $AUTOCRON_HOME/autocron.db).",
)
@click.option("--debug", is_flag=True, default=False, help="Show tracebacks and debug logging.")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_versions,
    help="Show the version of every AutoCron package and exit.",
)
@click.pass_context
def cli(ctx: click.Context, store: str | None, debug: bool) -> None:
    """AutoCron: schedule scripts and commands, run them, and see what happened.

    Every command reads and writes the same store as a running `autocron start`.
    """
    ctx.obj = State(store_url=store, debug=debug)
    if debug:
        import logging

        logging.getLogger("autocron").setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None, prog_name: str | None = None) -> None:
    """Run the ``autocron`` command (the console script and ``python -m autocron``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name=prog_name or "autocron")
