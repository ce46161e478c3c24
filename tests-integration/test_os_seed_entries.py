"""`autocron os list/remove` over crontab lines the original AutoCron wrote, with the real `crontab`."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from autocron_cli.main import cli
from autocron_core.registry import OS_ADAPTERS
from autocron_os import CronAdapter

USER_LINES = "MAILTO=me@example.com\n0 1 * * * /usr/bin/backup --fast\n"
SEED_12 = '30 2 * * * /usr/bin/python3 "/home/me/backup.py" # AutoCron: Nightly Backup\n'
SEED_13 = "*/5 * * * * /usr/bin/python3 /home/me/poll.py # AutoCron: poll\n"


def _crontab(user: str) -> str:
    return subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def seeded_cron(crontab_user: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The `cron` adapter of the CLI bound to a throwaway crontab holding the original's lines."""
    text = USER_LINES + SEED_12 + SEED_13
    subprocess.run(["crontab", "-u", crontab_user, "-"], input=text, text=True, check=True)
    OS_ADAPTERS.names()  # scan entry points first, so the registration below is not shadowed
    monkeypatch.setitem(OS_ADAPTERS._loaded, "cron", lambda: CronAdapter(user=crontab_user))
    return crontab_user


def _autocron(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="autocron", terminal_width=200)
    return result.exit_code, result.stdout, result.stderr


def test_os_list_marks_seed_entries(seeded_cron: str) -> None:
    """`autocron os list` shows the original's crontab lines as left by an older version."""
    code, out, _ = _autocron("os", "list", "--adapter", "cron")
    assert code == 0
    rows = [line for line in out.splitlines() if "left by an older version: autocron-scheduler" in line]
    assert len(rows) == 2 and "Nightly Backup" in rows[0] and "poll" in rows[1]
    code, out, _ = _autocron("os", "list", "--adapter", "cron", "--json")
    assert [(e["name"], e["schedule"], e["legacy"]) for e in json.loads(out)] == [
        ("Nightly Backup", "30 2 * * *", True),
        ("poll", "*/5 * * * *", True),
    ]


def test_os_remove_deletes_seed_entry(seeded_cron: str) -> None:
    """`autocron os remove NAME` deletes the original's line for NAME and keeps the user's lines."""
    code, out, _ = _autocron("os", "remove", "--adapter", "cron", "Nightly Backup")
    assert code == 0 and "Removed 'Nightly Backup'" in out
    assert _crontab(seeded_cron) == USER_LINES + SEED_13
    code, _, err = _autocron("os", "remove", "--adapter", "cron", "Nightly Backup")
    assert code == 2 and "no cron entry" in err
