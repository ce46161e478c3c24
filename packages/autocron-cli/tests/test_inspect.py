"""next, validate, plugins, completion and --version."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest


def test_next_cron_with_description(autocron) -> None:
    """next shows a cron expression's description and its fire times in the zone asked for."""
    result = autocron("next", "30 9 * * MON-FRI", "--count", "3", "--timezone", "Europe/Paris")
    assert result.exit_code == 0, result.stderr
    first, *times = result.stdout.splitlines()
    assert first.startswith("30 9 * * MON-FRI: ")
    assert len(times) == 3
    assert all("09:30:00 CE" in t for t in times)


def test_next_interval_json(autocron) -> None:
    """An interval is recognised as one; --json gives evenly spaced ISO times."""
    data = json.loads(autocron("next", "1h30m", "-n", "4", "--json", "--timezone", "UTC").stdout)
    assert data["kind"] == "interval"
    assert data["description"] == "every 1h30m"
    times = [dt.datetime.fromisoformat(t) for t in data["next"]]
    assert {b - a for a, b in itertools.pairwise(times)} == {dt.timedelta(minutes=90)}


def test_next_alias(autocron) -> None:
    """@daily is a cron alias; it fires at midnight."""
    data = json.loads(autocron("next", "@daily", "--json", "--timezone", "UTC").stdout)
    assert data["kind"] == "cron"
    assert all(t.endswith("T00:00:00+00:00") for t in data["next"])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["61 * * * *"], "not a valid cron expression"),
        (["* * * * * * * *"], "not a valid"),
        (["soon"], "not a valid interval"),
        (["5m", "--timezone", "Nowhere/Special"], "time zone"),
        (["5m", "--count", "0"], "--count"),
    ],
)
def test_next_bad_input_exits_2(autocron, args: list[str], fragment: str) -> None:
    """A bad expression, zone or count exits 2 with one line."""
    result = autocron("next", *args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert fragment in result.stderr


def test_validate_valid_config(autocron, tmp_path: Path, script: Path) -> None:
    """A valid config passes with exit code 0."""
    config = tmp_path / "ok.json"
    config.write_text(json.dumps({"tasks": [{"name": "a", "script": str(script), "schedule": "5m"}]}))
    result = autocron("validate", str(config))
    assert result.exit_code == 0
    assert "OK" in result.stdout


def test_validate_lists_every_problem_with_file_and_line(autocron, tmp_path: Path) -> None:
    """Every problem is printed as file:line: message, and the exit code is 2."""
    config = tmp_path / "bad.json"
    config.write_text(
        '{\n  "bogus": 1,\n  "tasks": [\n'
        '    {"name": "one", "command": "true", "schedule": "61 * * * *"},\n'
        '    {"name": "two", "command": "true", "every": "often"}\n  ]\n}\n'
    )
    result = autocron("validate", str(config))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert any(line.startswith(f"{config}:4: ") and "'one'" in line for line in lines)
    assert any(line.startswith(f"{config}:5: ") and "'two'" in line for line in lines)
    assert "3 problem(s)" in result.stderr
    problems = json.loads(autocron("validate", str(config), "--json").stdout)
    assert len(problems) == 3


def test_validate_missing_and_unreadable_files(autocron, tmp_path: Path) -> None:
    """A missing file or a wrong suffix is a problem too."""
    assert autocron("validate", str(tmp_path / "absent.yaml")).exit_code == 2
    other = tmp_path / "conf.txt"
    other.write_text("x")
    result = autocron("validate", str(other))
    assert result.exit_code == 2
    assert ".yaml" in result.stdout


def test_plugins_lists_every_group(autocron) -> None:
    """plugins names the built-ins and what installed packages provide, per group."""
    data = json.loads(autocron("plugins", "--json").stdout)
    assert set(data) == {
        "autocron.stores",
        "autocron.notifiers",
        "autocron.os_adapters",
        "autocron.executors",
    }
    assert data["autocron.stores"]["memory"] == "autocron-core"
    assert data["autocron.notifiers"]["log"] == "autocron-core"
    table = autocron("plugins").stdout
    assert "autocron.stores" in table
    assert "memory" in table


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(autocron, shell: str) -> None:
    """completion prints click's script for each shell, wired to _AUTOCRON_COMPLETE."""
    result = autocron("completion", shell)
    assert result.exit_code == 0
    assert "_AUTOCRON_COMPLETE" in result.stdout


def test_completion_unknown_shell(autocron) -> None:
    """An unsupported shell is a usage error."""
    assert autocron("completion", "tcsh").exit_code == 2


def test_task_name_completion(autocron, script: Path) -> None:
    """Task names complete from the store."""
    from click.shell_completion import ShellComplete

    from autocron_cli.main import cli

    autocron("schedule", str(script), "--every", "1m")
    autocron("schedule", "--command", "true", "--name", "other", "--every", "1m")
    complete = ShellComplete(cli, {}, "autocron", "_AUTOCRON_COMPLETE")
    names = [item.value for item in complete.get_completions(["run"], "h")]
    assert names == ["hello"]


def test_version_lists_all_seven_packages(autocron) -> None:
    """--version prints the version of each of the seven distributions."""
    result = autocron("--version")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names[:7] == [
        "autocron",
        "autocron-core",
        "autocron-store",
        "autocron-os",
        "autocron-notify",
        "autocron-dash",
        "autocron-cli",
    ]


def test_unknown_command_and_option_are_usage_errors(autocron) -> None:
    """An unknown command or option exits 2 with one line pointing at --help."""
    for args in (["frobnicate"], ["list", "--shiny"]):
        result = autocron(*args)
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1
        assert "--help" in result.stderr
