"""LaunchdAdapter: StartCalendarInterval entries equal Cron over a year, plists, launchctl argv."""

from __future__ import annotations

import datetime as dt
import plistlib
from pathlib import Path
from typing import Any

import pytest

from autocron_core.cron import Cron
from autocron_core.schedules import Interval
from autocron_core.testing.os_contract import HOSTILE_NAMES, OSAdapterContract, command_task
from autocron_os import LaunchdAdapter
from autocron_os.launchd import calendar_intervals

UTC = dt.timezone.utc
START = dt.datetime(2026, 1, 1, tzinfo=UTC)
PY = "/usr/bin/python3"

EXPRESSIONS = [
    "0 9 * * *",
    "*/15 9-17 * * MON-FRI",
    "0 0 1,15 * *",
    "0 9 1,15 * MON",
    "30 6 * JUN-AUG SAT,SUN",
    "0 0 1 */3 *",
    "5 4 * * 7",
    "0 12 29 2 *",
    "@weekly",
    "@monthly",
    "0 0 31 * *",
    "45 23 * * 5",
    "0 8-18/2 * * 1-5",
    "0 0 * * *",
    "* 3 * * *",
    "0 0 1 * *",
]


def _launchd_times(entries: list[dict[str, int]], days: int) -> set[dt.datetime]:
    """The minutes a year of launchd would fire at: a missing key matches anything."""
    out: set[dt.datetime] = set()
    for offset in range(days):
        day = START + dt.timedelta(days=offset)
        weekday = (day.weekday() + 1) % 7
        for entry in entries:
            if entry.get("Month", day.month) != day.month or entry.get("Day", day.day) != day.day:
                continue
            if entry.get("Weekday", weekday) % 7 != weekday:
                continue
            for hour in [entry["Hour"]] if "Hour" in entry else range(24):
                for minute in [entry["Minute"]] if "Minute" in entry else range(60):
                    out.add(day.replace(hour=hour, minute=minute))
    return out


def _cron_times(cron: Cron, days: int) -> set[dt.datetime]:
    end = START + dt.timedelta(days=days)
    out, moment = set(), START - dt.timedelta(seconds=1)
    while True:
        nxt = cron.next_after(moment)
        if nxt is None or nxt >= end:
            return out
        out.add(nxt.astimezone(UTC))
        moment = nxt


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_calendar_intervals_match_cron_over_a_year(expr: str) -> None:
    """Over a year of minutes, the StartCalendarInterval entries fire exactly when Cron does."""
    cron = Cron(expr, "UTC")
    assert _launchd_times(calendar_intervals(cron), 365) == _cron_times(cron, 365)


@pytest.mark.parametrize(
    ("expr", "why"),
    [
        ("0 0 L * *", "last"),
        ("0 0 * * MON#2", "together"),
        ("0 0 */2 * MON", "together"),
        ("*/2 */2 * * 1-5", "entries"),
        ("30 0 0 * * *", "seconds"),
        ("0 0 1 * */2", "together"),
    ],
)
def test_inexpressible_refused(expr: str, why: str) -> None:
    """L, #n, AND day rules, too many entries and seconds are refused with a reason."""
    adapter = LaunchdAdapter(agents_dir="/nonexistent", system_zone=UTC)
    support = adapter.supports(Cron(expr, "UTC", seconds=why == "seconds"))
    assert not support and why in support.reason


def test_other_zone_refused() -> None:
    """launchd reads times in the system zone only."""
    support = LaunchdAdapter(agents_dir="/x", system_zone=UTC).supports(Cron("0 9 * * *", "Asia/Tokyo"))
    assert not support and "system zone" in support.reason


@pytest.fixture
def adapter(recorder: Any, tmp_path: Path) -> LaunchdAdapter:
    """A launchd adapter writing to a temporary folder with a recording launchctl."""
    return LaunchdAdapter(
        agents_dir=tmp_path / "LaunchAgents",
        uid=501,
        runner=recorder,
        python=PY,
        system_zone=UTC,
        env={"AUTOCRON_DATABASE": "sqlite:////srv/a.db"},
    )


class TestContract(OSAdapterContract):
    """The shared OSScheduler guarantees, with launchctl injected."""


def test_plist_and_launchctl_argv(adapter: LaunchdAdapter, recorder: Any) -> None:
    """The plist loads with plistlib and is bootstrapped into gui/<uid>, then booted out."""
    adapter.install(command_task("report", Cron("0 9 * * MON-FRI", "UTC")))
    path = adapter.agents_dir / "io.autocron.report.plist"
    plist = plistlib.loads(path.read_bytes())
    assert plist["Label"] == "io.autocron.report"
    assert plist["ProgramArguments"] == [PY, "-m", "autocron_cli", "run", "--", "report"]
    (pointer,) = plist["EnvironmentVariables"].values()  # the URL itself lives in a 0600 file
    assert plist["EnvironmentVariables"] == {"AUTOCRON_DATABASE_FILE": pointer}
    assert Path(pointer).read_text() == "sqlite:////srv/a.db\n"
    assert plist["StartCalendarInterval"] == [{"Weekday": d, "Hour": 9, "Minute": 0} for d in range(1, 6)]
    assert recorder.calls == [["launchctl", "bootstrap", "gui/501", str(path)]]
    recorder.calls.clear()
    adapter.install(command_task("report", Interval("10m")))
    assert plistlib.loads(path.read_bytes())["StartInterval"] == 600
    assert recorder.calls == [
        ["launchctl", "bootout", "gui/501/io.autocron.report"],
        ["launchctl", "bootstrap", "gui/501", str(path)],
    ]
    recorder.calls.clear()
    assert adapter.remove("report")
    assert recorder.calls == [["launchctl", "bootout", "gui/501/io.autocron.report"]]
    assert not path.exists()


@pytest.mark.parametrize("name", [n for n in HOSTILE_NAMES if not any(ord(c) < 32 for c in n)])
def test_hostile_names_are_inert(adapter: LaunchdAdapter, name: str) -> None:
    """The plist holds the name only as data: plistlib gives back exactly the argv; the label is sanitized."""
    adapter.install(command_task(name, Interval("1h")))
    (path,) = adapter.agents_dir.iterdir()
    plist = plistlib.loads(path.read_bytes())
    assert plist["ProgramArguments"] == [PY, "-m", "autocron_cli", "run", "--", name]
    assert all(c.isalnum() or c in "._-" for c in plist["Label"]) and path.name == plist["Label"] + ".plist"
