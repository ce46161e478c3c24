"""CronAdapter against the real ``crontab`` program, for a throwaway user."""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import Any

import pytest

from autocron_core.cron import Cron
from autocron_core.errors import OSAdapterError
from autocron_core.schedules import At, Interval
from autocron_core.testing.os_contract import HOSTILE_NAMES, OSAdapterContract, command_task
from autocron_os import CronAdapter, UnixAdapter
from autocron_os.base import Command
from autocron_os.cron import cron_line_for, debian_cron_unescape

FOREIGN = (
    "# my own comment, with odd   spacing\t\n"
    "SHELL=/bin/bash\n"
    'MAILTO="me@example.com"\n'
    "\n"
    "*/10  *\t* * *   /usr/bin/backup --fast   # trailing comment\n"
    '0 3 * * 1 echo "50\\% off" > /dev/null\n'
    "#last line without newline"
)


def _crontab(user: str) -> str:
    return subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True, check=True).stdout


def _set(user: str, text: str) -> None:
    subprocess.run(["crontab", "-u", user, "-"], input=text, text=True, check=True)


@pytest.fixture
def adapter(crontab_user: str) -> CronAdapter:
    """A cron adapter bound to a throwaway user's crontab, in UTC."""
    return CronAdapter(
        user=crontab_user,
        system_zone=Cron("0 0 * * *", "UTC").tz,
        python="/usr/bin/python3",
        env={"AUTOCRON_HOME": "/srv/autocron home"},
    )


class TestContract(OSAdapterContract):
    """The shared OSScheduler guarantees, with the real crontab program."""


def test_unix_adapter_is_cron_adapter() -> None:
    """UnixAdapter is the original AutoCron's name for CronAdapter."""
    assert UnixAdapter is CronAdapter


def test_no_crontab_is_empty(adapter: CronAdapter) -> None:
    """A user without a crontab lists nothing, and installing creates one."""
    assert adapter.read() == ""
    assert adapter.list() == []
    adapter.install(command_task("first", Interval("5m")))
    assert [e.schedule for e in adapter.list()] == ["*/5 * * * *"]


def test_foreign_lines_kept_byte_for_byte(adapter: CronAdapter, crontab_user: str) -> None:
    """Install, replace and remove keep every foreign line exactly."""
    _set(crontab_user, FOREIGN + "\n")
    adapter.install(command_task("backup", Cron("30 2 * * *", "UTC")))
    adapter.install(command_task("other", Interval("2h")))
    text = _crontab(crontab_user)
    assert text.startswith(FOREIGN + "\n")
    adapter.install(command_task("backup", Cron("45 2 * * MON-FRI", "UTC")))
    assert _crontab(crontab_user).startswith(FOREIGN + "\n")
    assert {e.name: e.schedule for e in adapter.list()} == {
        "backup": "45 2 * * MON-FRI",
        "other": "0 */2 * * *",
    }
    assert adapter.remove("backup") and adapter.remove("other")
    assert _crontab(crontab_user) == FOREIGN + "\n"


def test_foreign_lines_between_entries(adapter: CronAdapter, crontab_user: str) -> None:
    """Lines a user adds after AutoCron's entries stay where they are on replace and remove."""
    adapter.install(command_task("a", Interval("1h")))
    _set(crontab_user, _crontab(crontab_user) + "# user note\n5 4 * * * /bin/true\n")
    adapter.install(command_task("a", Interval("1d")))
    text = _crontab(crontab_user)
    assert text.endswith("# user note\n5 4 * * * /bin/true\n")
    adapter.remove("a")
    assert _crontab(crontab_user) == "# user note\n5 4 * * * /bin/true\n"


def test_look_alike_foreign_marker_is_ignored(adapter: CronAdapter, crontab_user: str) -> None:
    """A user's comment that merely starts like the marker is not taken for an entry."""
    _set(crontab_user, "# autocron: not json\n* * * * * /bin/true\n")
    assert adapter.list() == []
    assert adapter.remove("not json") is False
    assert _crontab(crontab_user) == "# autocron: not json\n* * * * * /bin/true\n"


def test_line_format(adapter: CronAdapter, crontab_user: str) -> None:
    """The entry is a marker comment then one line running python -m autocron_cli run NAME."""
    adapter.install(command_task("nightly", Cron("0 0 * * *", "UTC")))
    assert _crontab(crontab_user) == (
        '# autocron: {"schedule": {"cron": "0 0 * * *", "timezone": "UTC"}, "task": "nightly"}\n'
        "0 0 * * * AUTOCRON_HOME='/srv/autocron home' /usr/bin/python3 -m autocron_cli run -- nightly\n"
    )


@pytest.mark.parametrize(
    ("every", "expected"),
    [
        ("1m", "* * * * *"),
        ("5m", "*/5 * * * *"),
        ("15m", "*/15 * * * *"),
        ("30m", "*/30 * * * *"),
        ("1h", "0 * * * *"),
        ("2h", "0 */2 * * *"),
        ("6h", "0 */6 * * *"),
        ("1d", "0 0 * * *"),
        ("1w", "0 0 * * 0"),
    ],
)
def test_exact_intervals(every: str, expected: str) -> None:
    """Intervals that divide an hour or a day become the matching cron fields."""
    assert cron_line_for(Interval(every), Command(["p"], {})) == f"{expected} p"


@pytest.mark.parametrize("every", ["7m", "90s", "45s", "90m", "5h", "2d", "1d1h", 0.5])
def test_inexact_intervals_refused(every: Any) -> None:
    """Intervals cron cannot repeat evenly are refused with a reason."""
    support = CronAdapter(system_zone=Cron("0 0 * * *", "UTC").tz).supports(Interval(every))
    assert not support and support.reason


@pytest.mark.parametrize(
    ("expr", "why"),
    [("0 0 L * *", "L"), ("0 0 * * MON#2", "#n"), ("0 0 0 * * *", "seconds")],
)
def test_unsupported_cron_refused(expr: str, why: str) -> None:
    """L, #n and seconds are not in Debian's cron, so they are refused."""
    schedule = Cron(expr, "UTC", seconds=why == "seconds")
    support = CronAdapter(system_zone=Cron("0 0 * * *", "UTC").tz).supports(schedule)
    assert not support and why.strip("n") in support.reason


def test_other_zone_refused_without_cron_tz() -> None:
    """A zone other than the system's is refused: Debian's cron has no CRON_TZ."""
    adapter = CronAdapter(system_zone=Cron("0 0 * * *", "UTC").tz)
    support = adapter.supports(Cron("0 9 * * *", "Asia/Tokyo"))
    assert not support and "CRON_TZ" in support.reason
    assert adapter.supports(Cron("0 9 * * *", "Etc/UTC"))


def test_cron_tz_line_when_supported(recorder: Any) -> None:
    """With cron_tz=True (cronie) the entry gets its own CRON_TZ= line and lists back."""
    store = {"text": ""}

    def crontab(argv: list[str], stdin: str | None) -> tuple[int, str, str]:
        if argv[-1] == "-":
            store["text"] = stdin or ""
            return 0, "", ""
        return (0, store["text"], "") if store["text"] else (1, "", "no crontab for me\n")

    recorder.handler = crontab
    adapter = CronAdapter(
        runner=recorder, cron_tz=True, system_zone=Cron("0 0 * * *", "UTC").tz, python="/py", env={}
    )
    adapter.install(command_task("tokyo", Cron("0 9 * * *", "Asia/Tokyo")))
    lines = store["text"].splitlines()
    assert lines[1:] == ["CRON_TZ=Asia/Tokyo", "0 9 * * * /py -m autocron_cli run -- tokyo"]
    entry = adapter.list()[0]
    assert entry.details is not None and entry.details["timezone"] == "Asia/Tokyo"
    assert adapter.remove("tokyo") and store["text"] == ""


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("5/15 * * * *", "5-59/15 * * * *"),
        ("0 0 ? * 1", "0 0 * * 1"),
        ("0 0 * JAN-MAR MON-FRI", "0 0 * JAN-MAR MON-FRI"),
        ("@daily", "@daily"),
    ],
)
def test_expressions_pass_through(adapter: CronAdapter, given: str, written: str) -> None:
    """Expressions go through as written, with a/step and ? spelled as Debian's cron reads them."""
    adapter.install(command_task("x", Cron(given, "UTC")))
    assert adapter.list()[0].schedule == written


@pytest.mark.parametrize("name", [n for n in HOSTILE_NAMES if not any(ord(c) < 32 for c in n)])
def test_hostile_names_are_inert(adapter: CronAdapter, crontab_user: str, name: str) -> None:
    """The rendered line, as cron and sh read it, gives back exactly the intended argv."""
    adapter.install(command_task(name, Interval("1h")))
    text = _crontab(crontab_user)
    marker, line, _ = text.split("\n")
    assert marker.isascii() and json.loads(marker[len("# autocron: ") :])["task"] == name
    command, stdin = debian_cron_unescape(line.split(" ", 5)[5])
    assert stdin is None  # cron would cut the line at a bare %
    words = shlex.split(command)
    assert words == [
        "AUTOCRON_HOME=/srv/autocron home",
        "/usr/bin/python3",
        "-m",
        "autocron_cli",
        "run",
        "--",
        name,
    ]


def test_hostile_names_run_through_sh(adapter: CronAdapter, crontab_user: str, tmp_path: Any) -> None:
    """/bin/sh given the rendered command prints each argument unchanged and runs nothing else."""
    for name in [n for n in HOSTILE_NAMES if not any(ord(c) < 32 for c in n)]:
        line = cron_line_for(Interval("1h"), Command(["printf", "%s\\n", name], {}))
        command, _ = debian_cron_unescape(line.split(" ", 5)[5])
        out = subprocess.run(
            ["/bin/sh", "-c", command], capture_output=True, text=True, cwd=tmp_path, check=True
        )
        assert out.stdout == name + "\n"
    assert list(tmp_path.iterdir()) == []


def test_backslash_before_percent_is_written_exactly() -> None:
    """A backslash right before % reaches the program unchanged through Debian's cron and sh."""
    line = cron_line_for(Interval("1h"), Command(["p", "a\\%b"], {}))
    command, stdin = debian_cron_unescape(line.split(" ", 5)[5])
    assert stdin is None and shlex.split(command) == ["p", "a\\%b"]


def test_at_refused() -> None:
    """cron has no one-off entries."""
    support = CronAdapter().supports(At("2030-01-01T00:00:00+00:00"))
    assert not support and "one-off" in support.reason


def test_crontab_failure_is_reported(recorder: Any) -> None:
    """A crontab program that fails raises OSAdapterError with its message."""
    recorder.handler = lambda argv, stdin: (1, "", "crontab: permission denied\n")
    with pytest.raises(OSAdapterError, match="permission denied"):
        CronAdapter(runner=recorder, user="bob").list()
    assert recorder.calls == [["crontab", "-u", "bob", "-l"]]
