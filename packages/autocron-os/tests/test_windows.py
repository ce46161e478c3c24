"""WindowsAdapter with an injected schtasks: exact argv, the task XML and its triggers."""

# The XML parsed here is the adapter's own output, not untrusted input.
# ruff: noqa: S314
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from autocron_core.cron import Cron
from autocron_core.schedules import At, Interval
from autocron_core.testing.os_contract import HOSTILE_NAMES, OSAdapterContract, command_task
from autocron_os import WindowsAdapter

UTC = dt.timezone.utc
NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
PY = "C:\\Program Files\\Python312\\python.exe"
START = dt.datetime(2026, 1, 1)
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


class FakeSchtasks:
    """Keeps the XML each /Create gets and answers /Query /FO CSV /V like schtasks."""

    def __init__(self) -> None:
        self.tasks: dict[str, bytes] = {}
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], stdin: str | None) -> tuple[int, str, str]:
        self.calls.append(argv)
        if argv[1] == "/Create":
            with open(argv[argv.index("/XML") + 1], "rb") as handle:
                self.tasks[argv[3]] = handle.read()
            return 0, "SUCCESS\n", ""
        if argv[1] == "/Delete":
            return (0, "", "") if self.tasks.pop(argv[3], None) else (1, "", "ERROR: not found")
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        header = ["HostName", "TaskName", "Next Run Time", "Comment", "Task To Run"]
        writer.writerow(header)
        writer.writerow(["PC", "\\Microsoft\\Other", "N/A", "autocron: not ours", "x.exe"])
        writer.writerow(header)  # schtasks repeats the header per folder
        for path, xml in self.tasks.items():
            root = ET.fromstring(xml.decode("utf-16"))
            comment = root.find("t:RegistrationInfo/t:Description", NS).text  # type: ignore[union-attr]
            for _ in root.find("t:Triggers", NS) or [None]:  # one row per trigger
                writer.writerow(["PC", path, "N/A", comment, "python.exe"])
        return 0, out.getvalue(), ""


@pytest.fixture
def fake() -> FakeSchtasks:
    """A schtasks stand-in."""
    return FakeSchtasks()


@pytest.fixture
def adapter(fake: FakeSchtasks) -> WindowsAdapter:
    """A Windows adapter over the fake schtasks, in UTC."""
    return WindowsAdapter(runner=fake, python=PY, system_zone=UTC)


class TestContract(OSAdapterContract):
    """The shared OSScheduler guarantees, with schtasks injected."""


def _xml(fake: FakeSchtasks, path: str) -> ET.Element:
    return ET.fromstring(fake.tasks[path].decode("utf-16"))


def test_schtasks_argv(adapter: WindowsAdapter, fake: FakeSchtasks) -> None:
    """Create, query and delete use the exact schtasks arguments under \\AutoCron\\."""
    adapter.install(command_task("backup", Cron("0 3 * * *", "UTC")))
    create = fake.calls[0]
    assert create[:5] == ["schtasks", "/Create", "/TN", "\\AutoCron\\backup", "/XML"]
    assert create[5].endswith(".xml") and create[6:] == ["/F"]
    assert adapter.remove("backup")
    assert fake.calls[1:] == [
        ["schtasks", "/Query", "/FO", "CSV", "/V"],
        ["schtasks", "/Delete", "/TN", "\\AutoCron\\backup", "/F"],
    ]


def test_xml_shape(adapter: WindowsAdapter, fake: FakeSchtasks) -> None:
    """The definition is UTF-16 XML with the marker, the action and the trigger."""
    adapter.install(command_task("backup", Cron("0 3 * * *", "UTC")))
    raw = fake.tasks["\\AutoCron\\backup"]
    assert raw.startswith(b"\xff\xfe")  # UTF-16 with its byte order mark
    root = _xml(fake, "\\AutoCron\\backup")
    assert root.findtext("t:RegistrationInfo/t:URI", namespaces=NS) == "\\AutoCron\\backup"
    assert root.findtext("t:Actions/t:Exec/t:Command", namespaces=NS) == PY
    assert root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS) == "-m autocron_cli run backup"
    (trigger,) = root.find("t:Triggers", NS)  # type: ignore[misc]
    assert trigger.findtext("t:StartBoundary", namespaces=NS) == "2000-01-01T03:00:00"
    assert trigger.findtext("t:ScheduleByDay/t:DaysInterval", namespaces=NS) == "1"


def test_interval_and_one_off(adapter: WindowsAdapter, fake: FakeSchtasks) -> None:
    """An anchored interval repeats from its anchor; At is a single TimeTrigger."""
    adapter.install(command_task("poll", Interval("7m", anchor=dt.datetime(2026, 1, 1, tzinfo=UTC))))
    trigger = _xml(fake, "\\AutoCron\\poll").find("t:Triggers/t:TimeTrigger", NS)
    assert trigger is not None
    assert trigger.findtext("t:StartBoundary", namespaces=NS) == "2026-01-01T00:07:00Z"
    assert trigger.findtext("t:Repetition/t:Interval", namespaces=NS) == "PT7M"
    adapter.install(command_task("once", At("2031-05-06T09:08:07+02:00")))
    trigger = _xml(fake, "\\AutoCron\\once").find("t:Triggers/t:TimeTrigger", NS)
    assert (
        trigger is not None and trigger.findtext("t:StartBoundary", namespaces=NS) == "2031-05-06T07:08:07Z"
    )


def _seconds(text: str) -> int:
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text)
    assert m, text
    d, h, mi, s = (int(g or 0) for g in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def _day_matches(rule: ET.Element, day: dt.date) -> bool:
    tag = rule.tag.split("}")[1]
    names = lambda path: {c.tag.split("}")[1] for c in rule.find(path, NS) or []}  # noqa: E731
    months = names("t:Months")
    if months and MONTHS[day.month - 1] not in months:
        return False
    weekday = DAYS[(day.weekday() + 1) % 7]
    last_day = (day + dt.timedelta(days=1)).day == 1
    if tag == "ScheduleByDay":
        return True
    if tag == "ScheduleByWeek":
        return weekday in names("t:DaysOfWeek")
    if tag == "ScheduleByMonth":
        days = {d.text for d in rule.find("t:DaysOfMonth", NS) or []}
        return str(day.day) in days or ("Last" in days and last_day)
    weeks = {w.text for w in rule.find("t:Weeks", NS) or []}
    in_week = str((day.day - 1) // 7 + 1) in weeks or ("Last" in weeks and day.day + 7 > _month_len(day))
    return weekday in names("t:DaysOfWeek") and in_week


def _month_len(day: dt.date) -> int:
    nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (nxt - dt.timedelta(days=1)).day


def _fire_times(root: ET.Element, days: int) -> set[dt.datetime]:
    """What Task Scheduler would run over ``days`` days from the calendar triggers."""
    out: set[dt.datetime] = set()
    for trigger in root.find("t:Triggers", NS) or []:
        start = dt.datetime.fromisoformat(trigger.findtext("t:StartBoundary", namespaces=NS) or "")
        rule = next(c for c in trigger if c.tag.split("}")[1].startswith("ScheduleBy"))
        every = _seconds(trigger.findtext("t:Repetition/t:Interval", default="PT0S", namespaces=NS))
        length = _seconds(trigger.findtext("t:Repetition/t:Duration", default="PT0S", namespaces=NS))
        for offset in range(days):
            day = (START + dt.timedelta(days=offset)).date()
            if _day_matches(rule, day):
                first = dt.datetime.combine(day, start.time())
                k = 0
                while k * every <= length:
                    out.add(first + dt.timedelta(seconds=k * every))
                    if not every:
                        break
                    k += 1
    return out


def _cron_times(cron: Cron, days: int) -> set[dt.datetime]:
    end = START.replace(tzinfo=UTC) + dt.timedelta(days=days)
    out, moment = set(), START.replace(tzinfo=UTC) - dt.timedelta(seconds=1)
    while (nxt := cron.next_after(moment)) is not None and nxt < end:
        out.add(nxt.astimezone(UTC).replace(tzinfo=None))
        moment = nxt
    return out


@pytest.mark.parametrize(
    "expr",
    [
        "0 3 * * *",
        "*/15 9-17 * * MON-FRI",
        "*/5 * * * *",
        "0 */2 * * *",
        "0 9 1,15 * MON",
        "0 0 L * *",
        "0 0 L 2 *",
        "0 10 * * FRI#3",
        "0 8 * * MON#1,FRI#4",
        "30 6 * JUN-AUG SAT,SUN",
        "0 0 1 */3 *",
        "5,35 8,20 * * *",
        "7,19,41 3,11,17 * * *",
        "0 12 * MAR *",
        "@weekly",
        "@monthly",
        "0 22 * * 1-5",
    ],
)
def test_triggers_equal_cron(adapter: WindowsAdapter, fake: FakeSchtasks, expr: str) -> None:
    """The XML's calendar triggers fire exactly when Cron does, over 120 days."""
    adapter.install(command_task("t", Cron(expr, "UTC")))
    root = _xml(fake, "\\AutoCron\\t")
    assert _fire_times(root, 120) == _cron_times(Cron(expr, "UTC"), 120)


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        (Cron("0 0 * * MON#5", "UTC"), "#5"),
        (Cron("0 0 */2 * MON", "UTC"), "AND"),
        (Cron("1,2,4,8,16,32,33 1,2,4,8,16,17,22 * * *", "UTC"), "triggers"),
        (Interval("90s"), "whole minutes"),
        (Interval("40d"), "31 days"),
        (Cron("0 9 * * *", "Asia/Tokyo"), "system zone"),
    ],
)
def test_refusals(adapter: WindowsAdapter, schedule: Any, why: str) -> None:
    """What Task Scheduler cannot express exactly is refused with the reason."""
    support = adapter.supports(schedule)
    assert not support and why in support.reason


@pytest.mark.parametrize(
    "name", [n for n in HOSTILE_NAMES if not any(ord(c) < 32 for c in n) and "%" not in n]
)
def test_hostile_names_are_inert(adapter: WindowsAdapter, fake: FakeSchtasks, name: str) -> None:
    """XML parsing gives back the exact name; the task path is sanitized; quotes are refused."""
    try:
        adapter.install(command_task(name, Interval("1h")))
    except Exception as exc:
        assert '"' in name and "safely" in str(exc)
        return
    ((path, raw),) = fake.tasks.items()
    assert re.fullmatch(r"\\AutoCron\\[A-Za-z0-9_-]+", path)
    root = ET.fromstring(raw.decode("utf-16"))
    description = root.findtext("t:RegistrationInfo/t:Description", namespaces=NS) or ""
    assert json.loads(description[len("autocron: ") :])["task"] == name
    args = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS) or ""
    assert _ms_argv(args) == ["-m", "autocron_cli", "run", name]


def _ms_argv(line: str) -> list[str]:
    """Split a command line with the MS C runtime's rules (enough for list2cmdline's output)."""
    out, word, quoted, i, has = [], "", False, 0, False
    while i < len(line):
        c = line[i]
        if c == "\\":
            n = len(line[i:]) - len(line[i:].lstrip("\\"))
            if i + n < len(line) and line[i + n] == '"':
                word += "\\" * (n // 2)
                if n % 2:
                    word += '"'
                    i += n + 1
                    continue
                i += n
                continue
            word += "\\" * n
            i += n
            continue
        if c == '"':
            quoted, has = not quoted, True
        elif c in " \t" and not quoted:
            if word or has:
                out.append(word)
            word, has = "", False
        else:
            word += c
        i += 1
    if word or has:
        out.append(word)
    return out


def test_percent_refused(adapter: WindowsAdapter) -> None:
    """Task Scheduler expands %VAR% in arguments, so % in a name is refused."""
    with pytest.raises(Exception, match="expands %"):
        adapter.install(command_task("100%", Interval("1h")))
