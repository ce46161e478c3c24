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


# schtasks /Query /FO CSV /V's columns (English Windows), in its order.
HEADER = [
    "HostName",
    "TaskName",
    "Next Run Time",
    "Status",
    "Logon Mode",
    "Last Run Time",
    "Last Result",
    "Author",
    "Task To Run",
    "Start In",
    "Comment",
    "Scheduled Task State",
    "Idle Time",
    "Power Management",
    "Run As User",
    "Delete Task If Not Rescheduled",
    "Stop Task If Runs X Hours and X Mins",
    "Schedule",
    "Schedule Type",
    "Start Time",
    "Start Date",
    "End Date",
    "Days",
    "Months",
    "Repeat: Every",
    "Repeat: Until: Time",
    "Repeat: Until: Duration",
    "Repeat: Stop If Still Running",
]


def _row(path: str, comment: str, run: str, **more: str) -> list[str]:
    values = {"HostName": "PC", "TaskName": path, "Comment": comment, "Task To Run": run, **more}
    return [values.get(column, "N/A") for column in HEADER]


class FakeSchtasks:
    """Keeps the XML each /Create gets and answers /Query /FO CSV /V like schtasks.

    ``others`` holds tasks that exist already (the original AutoCron's, a user's): path -> row.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, bytes] = {}
        self.others: dict[str, list[str]] = {}
        self.calls: list[list[str]] = []
        self.fail_create = False

    def __call__(self, argv: list[str], stdin: str | None) -> tuple[int, str, str]:
        self.calls.append(argv)
        if argv[1] == "/Create":
            if self.fail_create:
                return 1, "", "ERROR: Access is denied."
            with open(argv[argv.index("/XML") + 1], "rb") as handle:
                self.tasks[argv[3]] = handle.read()
            return 0, "SUCCESS\n", ""
        if argv[1] == "/Delete":
            found = self.tasks.pop(argv[3], None) or self.others.pop(argv[3], None)
            return (0, "", "") if found else (1, "", "ERROR: not found")
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerow(_row("\\Microsoft\\Other", "autocron: not ours", "x.exe"))
        writer.writerows(self.others.values())
        writer.writerow(HEADER)  # schtasks repeats the header per folder
        for path, xml in self.tasks.items():
            root = ET.fromstring(xml.decode("utf-16"))
            comment = root.find("t:RegistrationInfo/t:Description", NS).text  # type: ignore[union-attr]
            for _ in root.find("t:Triggers", NS) or [None]:  # one row per trigger
                writer.writerow(_row(path, comment or "", "python.exe"))
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
    query, create = fake.calls
    assert query == ["schtasks", "/Query", "/FO", "CSV", "/V"]  # for the original AutoCron's task
    assert create[:5] == ["schtasks", "/Create", "/TN", "\\AutoCron\\backup", "/XML"]
    assert create[5].endswith(".xml") and create[6:] == ["/F"]
    assert adapter.remove("backup")
    assert fake.calls[2:] == [
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
    assert root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS) == "-m autocron_cli run -- backup"
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
    assert _ms_argv(args) == ["-m", "autocron_cli", "run", "--", name]


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


# What the original AutoCron (autocron-scheduler) registered: \AutoCron_<sanitized name> in the
# root folder, described "AutoCron scheduled task: AutoCron_<sanitized name>".
SEED_TASKS = {
    "\\AutoCron_daily_report": _row(
        "\\AutoCron_daily_report",
        "AutoCron scheduled task: AutoCron_daily_report",
        '"C:\\Python311\\python.exe" C:\\jobs\\report.py',
        **{"Schedule Type": "Daily", "Start Time": "9:00:00 AM", "Repeat: Every": "Disabled"},
    ),
    "\\AutoCron_poll": _row(
        "\\AutoCron_poll",
        "AutoCron scheduled task: AutoCron_poll",
        '"C:\\Python311\\python.exe" C:\\jobs\\poll.py',
        **{"Schedule Type": "One Time Only, Minute", "Repeat: Every": "0 Hour(s), 5 Minute(s)"},
    ),
}
# A user's own tasks that merely look like the original's.
USER_TASKS = {
    "\\AutoCron_backup": _row("\\AutoCron_backup", "my own backup job", "backup.exe"),
    "\\Tools\\AutoCron_sync": _row(
        "\\Tools\\AutoCron_sync", "AutoCron scheduled task: AutoCron_sync", "sync.exe"
    ),
    "\\AutoCron_Sync": _row("\\AutoCron_Sync", "AutoCron scheduled task: AutoCron_Sync", "sync.exe"),
}


@pytest.fixture
def seeded(fake: FakeSchtasks) -> FakeSchtasks:
    """The fake schtasks holding the original AutoCron's tasks beside a user's look-alikes."""
    fake.others = {**SEED_TASKS, **USER_TASKS}
    return fake


def test_seed_tasks_listed_as_legacy(adapter: WindowsAdapter, seeded: FakeSchtasks) -> None:
    """`os list` shows the original's \\AutoCron_<name> tasks, marked legacy, and no look-alike."""
    entries = adapter.list()
    assert [(e.name, e.location, e.schedule, e.legacy) for e in entries] == [
        ("daily_report", "\\AutoCron_daily_report", "Daily", True),
        ("poll", "\\AutoCron_poll", "One Time Only, Minute, every 0 Hour(s), 5 Minute(s)", True),
    ]
    assert entries[0].details == {
        "origin": "autocron-scheduler",
        "command": '"C:\\Python311\\python.exe" C:\\jobs\\report.py',
    }


def test_remove_deletes_seed_task(adapter: WindowsAdapter, seeded: FakeSchtasks) -> None:
    """`os remove NAME` deletes the original's task for NAME, mapped as it named it, and nothing else."""
    assert adapter.remove("Daily Report") is True
    assert seeded.calls == [
        ["schtasks", "/Query", "/FO", "CSV", "/V"],
        ["schtasks", "/Delete", "/TN", "\\AutoCron_daily_report", "/F"],
    ]
    assert adapter.remove("poll") is True
    assert seeded.calls[-1] == ["schtasks", "/Delete", "/TN", "\\AutoCron_poll", "/F"]
    for name in ("backup", "sync", "Sync", "poll"):
        assert adapter.remove(name) is False
    assert seeded.others == USER_TASKS
    assert all(call[1] == "/Query" for call in seeded.calls[4:])


def test_install_replaces_seed_task(adapter: WindowsAdapter, seeded: FakeSchtasks) -> None:
    """Installing a task the original had registered creates ours, then deletes the old one: one runs."""
    adapter.install(command_task("Daily Report", Cron("0 9 * * *", "UTC")))
    ours = adapter.task_path("Daily Report")
    query, create, delete = seeded.calls
    assert query == ["schtasks", "/Query", "/FO", "CSV", "/V"]
    assert create[:4] == ["schtasks", "/Create", "/TN", ours]
    assert delete == ["schtasks", "/Delete", "/TN", "\\AutoCron_daily_report", "/F"]
    assert [(e.name, e.legacy) for e in adapter.list()] == [("poll", True), ("Daily Report", False)]
    assert seeded.others == {"\\AutoCron_poll": SEED_TASKS["\\AutoCron_poll"], **USER_TASKS}


def test_failed_install_keeps_seed_task(adapter: WindowsAdapter, seeded: FakeSchtasks) -> None:
    """When Task Scheduler refuses the new task, the original's task stays, so the job still runs."""
    seeded.fail_create = True
    with pytest.raises(Exception, match="Access is denied"):
        adapter.install(command_task("poll", Interval("5m")))
    assert [call[1] for call in seeded.calls] == ["/Query", "/Create"]
    assert seeded.others == {**SEED_TASKS, **USER_TASKS}
