"""docs/cli.md stays the reference: it holds every command's current --help verbatim."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from autocron_cli.main import cli

DOC = Path(__file__).resolve().parents[3] / "docs" / "cli.md"


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand, as argument tuples (the group itself is ``()``)."""
    ctx = click.Context(cli, info_name="autocron")
    paths: list[tuple[str, ...]] = [()]
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        paths.append((name,))
        if isinstance(command, click.Group):
            paths.extend((name, sub) for sub in command.list_commands(ctx))
    return paths


def help_text(path: tuple[str, ...]) -> str:
    """The --help output of ``autocron PATH`` at 80 columns."""
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="autocron", terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "autocron")
def test_docs_hold_the_current_help(path: tuple[str, ...]) -> None:
    """docs/cli.md has a section per command with its --help output, unchanged."""
    text = DOC.read_text(encoding="utf-8")
    title = "## `autocron" + "".join(f" {p}" for p in path) + "`"
    assert title in text, f"docs/cli.md lacks a section {title}"
    block = f"```text\n$ autocron {' '.join((*path, '--help'))}\n{help_text(path)}```"
    assert block in text, f"the --help of {title} in docs/cli.md is out of date; paste:\n{block}"
