"""SystemdAdapter: OnCalendar translation checked by the real systemd-analyze, units, safety."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from autocron_core.cron import Cron
from autocron_core.schedules import At, Interval
from autocron_core.testing.os_contract import HOSTILE_NAMES, OSAdapterContract, command_task
from autocron_os import SystemdAdapter
from autocron_os.systemd import on_calendar

UTC = dt.timezone.utc
ANALYZE = shutil.which("systemd-analyze")
BASE = dt.datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
ITERATIONS = 40
PY = "/usr/bin/python3"

# (expression, zone): every one must translate, and fire exactly as Cron does.
EXPRESSIONS = [
    ("* * * * *", "UTC"),
    ("*/5 * * * *", "UTC"),
    ("*/7 * * * *", "UTC"),
    ("0 * * * *", "UTC"),
    ("15,45 * * * *", "UTC"),
    ("0 */3 * * *", "UTC"),
    ("0 9 * * *", "UTC"),
    ("30 17 * * MON-FRI", "UTC"),
    ("0 0 1 * *", "UTC"),
    ("0 0 L * *", "UTC"),
    ("0 12 L 2 *", "UTC"),
    ("0 0 * * MON#1", "UTC"),
    ("0 10 * * FRI#3", "UTC"),
    ("0 0 * * SUN#5", "UTC"),
    ("0 8 * * MON#2,FRI#4", "UTC"),
    ("0 9 1,15 * MON", "UTC"),
    ("0 9 1-7 * MON", "UTC"),
    ("0 0 */2 * MON", "UTC"),
    ("0 0 1 * */2", "UTC"),
    ("0 0 13 * FRI", "UTC"),
    ("5 4 * * SUN", "UTC"),
    ("5 4 * * 7", "UTC"),
    ("0 22 * * 1-5", "UTC"),
    ("23 0-20/2 * * *", "UTC"),
    ("0 0 1 JAN *", "UTC"),
    ("0 0 1 */3 *", "UTC"),
    ("0 6 * JUN-AUG SAT,SUN", "UTC"),
    ("0 0 29 2 *", "UTC"),
    ("0 0 31 * *", "UTC"),
    ("10-20 3 * * *", "UTC"),
    ("5/15 * * * *", "UTC"),
    ("0 0 ? * 1", "UTC"),
    ("0 12 * * ?", "UTC"),
    ("@daily", "UTC"),
    ("@hourly", "UTC"),
    ("@weekly", "UTC"),
    ("@monthly", "UTC"),
    ("@yearly", "UTC"),
    ("59 23 31 DEC *", "UTC"),
    ("0 0 1-10/3 * *", "UTC"),
    ("1,2,3,5,8,13 * * * *", "UTC"),
    ("0 0 L * FRI", "UTC"),
    ("0 0 L,15 * *", "UTC"),
    ("0 4 8-14 * 2", "UTC"),
    ("0 9 * * *", "Europe/Paris"),
    ("30 12 * * MON-FRI", "America/New_York"),
    ("*/15 * * * *", "Asia/Kolkata"),
    ("0 0 L * *", "Asia/Tokyo"),
    ("0 7 1 * *", "Australia/Sydney"),
    ("45 23 * * SAT", "Europe/London"),
    ("0 12 * * MON#1", "America/Los_Angeles"),
    ("0 5 * * *", "Australia/Lord_Howe"),
    ("0 */6 * * *", "Asia/Kathmandu"),
]

REFUSED_DST = [
    ("30 2 * * *", "Europe/Paris"),
    ("*/5 * * * *", "Europe/Berlin"),
    ("0 * * * *", "America/New_York"),
    ("0 2 * * SUN", "America/Chicago"),
]


def _analyze(spec: str, base: dt.datetime, iterations: int) -> list[dt.datetime]:
    out = subprocess.run(
        [
            ANALYZE or "systemd-analyze",
            "calendar",
            f"--base-time=@{int(base.timestamp())}",
            f"--iterations={iterations}",
            spec,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout
    times = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    return [dt.datetime.strptime(t, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) for t in times]


def _chain(cron: Cron, base: dt.datetime, count: int) -> list[dt.datetime]:
    out, moment = [], base
    for _ in range(count):
        nxt = cron.next_after(moment)
        assert nxt is not None
        out.append(nxt.astimezone(UTC))
        moment = nxt
    return out


def test_at_least_fifty_expressions() -> None:
    """The comparison covers at least 50 expressions."""
    assert len(EXPRESSIONS) >= 50


@pytest.mark.skipif(ANALYZE is None, reason="needs systemd-analyze (systemd)")
@pytest.mark.parametrize(("expr", "zone"), EXPRESSIONS)
def test_on_calendar_matches_cron(expr: str, zone: str) -> None:
    """The union of the OnCalendar= lines fires at exactly Cron's times (systemd-analyze calendar)."""
    cron = Cron(expr, zone)
    merged: set[dt.datetime] = set()
    for line in on_calendar(cron):
        merged.update(_analyze(line, BASE, ITERATIONS))
    assert sorted(merged)[:ITERATIONS] == _chain(cron, BASE, ITERATIONS)


@pytest.mark.parametrize(("expr", "zone"), REFUSED_DST)
def test_dst_changes_refused(expr: str, zone: str) -> None:
    """Expressions that fire at a DST change are refused (systemd handles those times differently)."""
    support = SystemdAdapter(unit_dir="/nonexistent").supports(Cron(expr, zone))
    assert not support and "DST" in support.reason
    assert SystemdAdapter(unit_dir="/nonexistent", dst_tolerant=True).supports(Cron(expr, zone))


def test_fixed_offset_zone_refused() -> None:
    """A zone without an IANA name cannot be written as an OnCalendar suffix."""
    support = SystemdAdapter(unit_dir="/x").supports(Cron("0 9 * * *", dt.timezone(dt.timedelta(hours=2))))
    assert not support and "IANA" in support.reason


@pytest.fixture
def adapter(recorder: Any, tmp_path: Path) -> SystemdAdapter:
    """A systemd adapter writing to a temporary unit folder with a recording runner."""
    return SystemdAdapter(
        unit_dir=tmp_path / "units", runner=recorder, python=PY, env={"AUTOCRON_HOME": "/srv/a $HOME %h"}
    )


class TestContract(OSAdapterContract):
    """The shared OSScheduler guarantees, with systemctl injected."""


def test_default_unit_dir_follows_xdg(autocron_home: Path) -> None:
    """Units go to $XDG_CONFIG_HOME/systemd/user by default."""
    assert SystemdAdapter().unit_dir == autocron_home / "xdg-config" / "systemd" / "user"


def test_install_argv_and_files(adapter: SystemdAdapter, recorder: Any) -> None:
    """Install writes both units, reloads and enables the timer with systemctl --user."""
    adapter.install(command_task("nightly", Cron("0 3 * * *", "UTC")))
    assert recorder.calls == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "autocron-nightly.timer"],
    ]
    timer = (adapter.unit_dir / "autocron-nightly.timer").read_text()
    assert "OnCalendar=*-*-* 03:00:00 UTC\nPersistent=true\n" in timer
    recorder.calls.clear()
    assert adapter.remove("nightly")
    assert recorder.calls == [
        ["systemctl", "--user", "disable", "--now", "autocron-nightly.timer"],
        ["systemctl", "--user", "daemon-reload"],
    ]
    assert list(adapter.unit_dir.iterdir()) == []


def test_interval_timer(adapter: SystemdAdapter) -> None:
    """An interval becomes OnUnitActiveSec= with OnActiveSec=/OnBootSec= so it starts."""
    adapter.install(command_task("poll", Interval("7m")))
    timer = (adapter.unit_dir / "autocron-poll.timer").read_text()
    assert "OnActiveSec=420s\nOnUnitActiveSec=420s\nOnBootSec=420s\n" in timer
    assert "Persistent" not in timer
    assert adapter.list()[0].schedule == "OnUnitActiveSec=420s"


def test_one_off(adapter: SystemdAdapter) -> None:
    """An At schedule becomes one OnCalendar= in UTC."""
    adapter.install(command_task("once", At("2031-05-06T09:08:07+02:00")))
    assert "OnCalendar=2031-05-06 07:08:07 UTC\n" in (adapter.unit_dir / "autocron-once.timer").read_text()


def test_foreign_units_ignored(adapter: SystemdAdapter) -> None:
    """Units without AutoCron's marker are neither listed nor removed."""
    adapter.unit_dir.mkdir(parents=True)
    (adapter.unit_dir / "autocron-mine.timer").write_text("[Timer]\nOnCalendar=daily\n")
    (adapter.unit_dir / "backup.timer").write_text("[Timer]\nOnCalendar=daily\n")
    assert adapter.list() == []


def _unquote_words(text: str) -> list[str]:
    """Split an Exec line as systemd does (quoted words, C escapes), then undo %% and $$."""
    words = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    return [re.sub(r"\\(.)", r"\1", w).replace("%%", "%").replace("$$", "$") for w in words]


@pytest.mark.parametrize("name", [n for n in HOSTILE_NAMES if not any(ord(c) < 32 for c in n)])
def test_hostile_names_are_inert(adapter: SystemdAdapter, name: str) -> None:
    """ExecStart= and Environment= read back exactly; the file name and description are sanitized."""
    adapter.install(command_task(name, Interval("1h")))
    (service,) = adapter.unit_dir.glob("*.service")
    assert re.fullmatch(r"autocron-[A-Za-z0-9_-]+\.service", service.name)
    text = service.read_text(encoding="utf-8")
    marker = text.split("\n", 1)[0]
    assert marker.isascii() and json.loads(marker[len("# autocron: ") :])["task"] == name
    (exec_line,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    assert _unquote_words(exec_line[len("ExecStart=") :]) == [PY, "-m", "autocron_cli", "run", "--", name]
    (env_line,) = [line for line in text.splitlines() if line.startswith("Environment=")]
    assert (
        re.sub(r"\\(.)", r"\1", env_line[len('Environment="') : -1]).replace("%%", "%")
        == "AUTOCRON_HOME=/srv/a $HOME %h"
    )
    description = next(line for line in text.splitlines() if line.startswith("Description="))
    assert re.fullmatch(r"Description=AutoCron task [A-Za-z0-9_-]+", description)


@pytest.mark.skipif(ANALYZE is None, reason="needs systemd-analyze (systemd)")
@pytest.mark.parametrize(
    "schedule",
    [Cron("0 9 1,15 * MON-FRI", "UTC"), Interval("5m"), At("2031-01-01T00:00:00+00:00")],
    ids=["cron", "interval", "at"],
)
def test_units_pass_verify(adapter: SystemdAdapter, schedule: Any) -> None:
    """Generated units (with a hostile name) pass systemd-analyze verify."""
    adapter.python = shutil.which("python3") or PY
    adapter.install(command_task('x; rm -rf ~ $(id) %n "q" \\', schedule))
    files = sorted(str(p) for p in adapter.unit_dir.iterdir())
    proc = subprocess.run([ANALYZE or "", "verify", *files], capture_output=True, text=True, check=False)
    if "Failed to initialize manager" in proc.stderr:
        pytest.skip(f"systemd-analyze verify cannot run here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


def test_is_supported_asks_for_a_user_instance(
    recorder: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the user bus socket, is-system-running decides."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/" + name)
    recorder.handler = lambda argv, stdin: (1, "offline\n", "")
    assert SystemdAdapter(runner=recorder).is_supported() is False
    assert recorder.calls == [["systemctl", "--user", "is-system-running"]]
    (tmp_path / "systemd").mkdir()
    (tmp_path / "systemd" / "private").touch()
    assert SystemdAdapter(runner=recorder).is_supported() is True
