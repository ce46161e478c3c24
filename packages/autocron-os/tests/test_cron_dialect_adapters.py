"""croniter's dialect through the OS adapters: translated exactly, or refused with the reason."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from autocron_core.cron import Cron
from autocron_core.testing.os_contract import command_task
from autocron_os.cron import CronAdapter
from autocron_os.launchd import LaunchdAdapter
from autocron_os.systemd import SystemdAdapter
from autocron_os.windows import WindowsAdapter

UTC = dt.timezone.utc

UNPORTABLE = [
    ("0 9 15W * *", "nW (nearest weekday)"),
    ("0 9 LW * *", "LW (last weekday of the month)"),
    ("0 9 * * 5L", "nL (last such weekday of the month)"),
    ("0 9 * * L5", "nL (last such weekday of the month)"),
    ("0 9 1 1 * 0 2030", "a year field"),
]


def _adapters() -> list[object]:
    def refuse(argv: object, stdin: str | None = None) -> tuple[int, str, str]:
        raise AssertionError("a refused schedule must not reach the host's tool")

    return [
        CronAdapter(system_zone=UTC, runner=refuse),
        SystemdAdapter(unit_dir="/nonexistent", runner=refuse),
        LaunchdAdapter(agents_dir="/nonexistent", system_zone=UTC, runner=refuse),
        WindowsAdapter(runner=refuse, python="C:\\Python\\python.exe", system_zone=UTC),
    ]


@pytest.mark.parametrize(("expr", "form"), UNPORTABLE)
def test_forms_no_host_has_are_refused_by_every_adapter(expr: str, form: str) -> None:
    """W, LW, nL and a year field are refused by name by cron, systemd, launchd and Task Scheduler."""
    for adapter in _adapters():
        support = adapter.supports(Cron(expr, "UTC"))  # type: ignore[attr-defined]
        assert not support, (adapter, expr)
        assert form in support.reason


def test_trailing_seconds_refused_where_the_host_has_no_seconds() -> None:
    """croniter's seconds-last six fields: cron refuses second 30, systemd keeps it."""
    schedule = Cron("0 9 * * * 30", "UTC")
    assert "no seconds" in CronAdapter(system_zone=UTC).supports(schedule).reason
    assert SystemdAdapter(unit_dir="/nonexistent").supports(schedule)


def _crontab(user: str) -> str:
    return subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True, check=False).stdout


@pytest.mark.parametrize(
    ("expr", "written"),
    [
        ("0 9 * * fri-sun", "0 9 * * fri-7 "),
        ("0 9 10-L * *", "0 9 10-31 * * "),
        ("0 9 * * 1/2", "0 9 * * 1-6/2 "),
        ("0 9 * * * 0", "0 9 * * * "),
    ],
)
def test_croniter_forms_install_into_the_real_crontab(crontab_user: str, expr: str, written: str) -> None:
    """FRI-SUN, a-L, a/n in the day of week and seconds 0 reach the real crontab as the same days."""
    adapter = CronAdapter(user=crontab_user, system_zone=UTC, python="/usr/bin/python3")
    adapter.install(command_task("dialect", Cron(expr, "UTC")))
    assert any(line.startswith(written) for line in _crontab(crontab_user).splitlines())
    assert adapter.remove("dialect")
