"""Issue 15 (faults 7, 10-14, 25): what an OS entry holds, and names no entry can be confused by."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import plistlib
import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core.cron import Cron
from autocron_core.errors import AutoCronError, OSAdapterError
from autocron_core.schedules import Interval
from autocron_core.task import name_problem
from autocron_core.testing.os_contract import command_task
from autocron_core.timezones import UTC
from autocron_os import CronAdapter, LaunchdAdapter, OSAdapter, SystemdAdapter, WindowsAdapter
from autocron_os.cron import debian_cron_unescape

PY = "/usr/bin/python3"
SECRET = "s3cr3t-Pa55"
DB_URL = f"postgresql://autocron:{SECRET}@db.example:5432/jobs"


def _systemd(tmp_path: Path, recorder: Any, env: dict[str, str] | None = None) -> SystemdAdapter:
    return SystemdAdapter(unit_dir=tmp_path / "units", runner=recorder, python=PY, env=env or {})


def _launchd(tmp_path: Path, recorder: Any, env: dict[str, str] | None = None) -> LaunchdAdapter:
    return LaunchdAdapter(
        agents_dir=tmp_path / "agents", uid=501, runner=recorder, python=PY, system_zone=UTC, env=env or {}
    )


def _cron(user: str, env: dict[str, str] | None = None) -> CronAdapter:
    return CronAdapter(user=user, system_zone=UTC, python=PY, env=env or {})


def _crontab(user: str) -> str:
    return subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True, check=False).stdout


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- fault 7: no password in an entry, files 0600, folders 0700, listings masked ---------------
def test_database_password_stays_out_of_cron_line(crontab_user: str, autocron_home: Path) -> None:
    """A password in AUTOCRON_DATABASE is not in the crontab (ps shows it); a 0600 file holds the URL."""
    adapter = _cron(crontab_user, {"AUTOCRON_DATABASE": DB_URL})
    adapter.install(command_task("backup", Interval("1h")))
    text = _crontab(crontab_user)
    assert SECRET not in text
    (pointer,) = re.findall(r"AUTOCRON_DATABASE_FILE=(\S+)", text)
    store_file = Path(shlex.split(pointer)[0])
    assert store_file.read_text() == DB_URL + "\n"
    assert _mode(store_file) == 0o600 and _mode(store_file.parent) == 0o700
    assert SECRET not in json.dumps([e.details for e in adapter.list()])
    assert adapter.remove("backup") and not store_file.exists()


def test_database_password_stays_out_of_units_and_plists(tmp_path: Path, recorder: Any) -> None:
    """Units and plists hold only the path of the 0600 URL file, and are 0600 in 0700 folders."""
    for adapter in (
        _systemd(tmp_path, recorder, {"AUTOCRON_DATABASE": DB_URL}),
        _launchd(tmp_path, recorder, {"AUTOCRON_DATABASE": DB_URL}),
    ):
        adapter.install(command_task("backup", Interval("1h")))
        folder = tmp_path / ("units" if isinstance(adapter, SystemdAdapter) else "agents")
        files = list(folder.iterdir())
        assert files and all(SECRET not in f.read_text() for f in files)
        assert all(_mode(f) == 0o600 for f in files) and _mode(folder) == 0o700
        assert all("AUTOCRON_DATABASE_FILE" in f.read_text() for f in files if f.suffix != ".timer")
        assert SECRET not in json.dumps([e.details for e in adapter.list()])


def test_listing_masks_a_password_left_by_an_older_version(crontab_user: str) -> None:
    """An entry written before this fix (URL on the line) is listed with the password masked."""
    marker = json.dumps({"schedule": {"every": "1h"}, "task": "old"}, sort_keys=True)
    old = f"# autocron: {marker}\n0 * * * * AUTOCRON_DATABASE={DB_URL} {PY} -m autocron_cli run old\n"
    subprocess.run(["crontab", "-u", crontab_user, "-"], input=old, text=True, check=True)
    (entry,) = _cron(crontab_user).list()
    assert SECRET not in json.dumps(entry.details) and "autocron:***@db.example" in entry.details["line"]


# -- fault 10: -- before the name ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["--help", "-n", "--version"])
def test_option_like_name_follows_double_dash(tmp_path: Path, recorder: Any, name: str) -> None:
    """A task named like an option is run, not read as one: every adapter writes `run -- NAME`."""
    adapter = _systemd(tmp_path, recorder)
    assert adapter.command(name).argv[-3:] == ["run", "--", name]
    assert WindowsAdapter(python=PY).command(name).argv[-3:] == ["run", "--", name]


# -- fault 11: backslashes through Debian's cron -------------------------------------------------
@pytest.mark.parametrize("name", ["C:\\\\share", "a\\\\%b", "end\\", "\\\\\\", "x\\'y"])
def test_backslashes_reach_sh_unchanged_through_debian_cron(crontab_user: str, name: str) -> None:
    """A name with backslashes (also doubled, before % or a quote) is the argument sh passes on."""
    _cron(crontab_user).install(command_task(name, Interval("1h")))
    line = _crontab(crontab_user).splitlines()[-1]
    command, stdin = debian_cron_unescape(line.split(" ", 5)[5])
    assert stdin is None
    script = command.replace(f"{PY} -m autocron_cli run --", "printf '%s\\n'")
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert out == name + "\n"


# -- fault 12: no control characters in forwarded values -----------------------------------------
@pytest.mark.parametrize(
    "env",
    [
        {"AUTOCRON_HOME": "/tmp/h\n* * * * * touch /tmp/pwned"},
        {"AUTOCRON_HOME": "/tmp/h\nExecStartPre=/bin/true"},
        {"AUTOCRON_DATABASE": "sqlite:////tmp/x.db\n* * * * * id"},
        {"AUTOCRON_HOME": "/tmp/h\u2028x"},
    ],
)
def test_control_characters_in_forwarded_values_refused(
    crontab_user: str, tmp_path: Path, recorder: Any, env: dict[str, str]
) -> None:
    """A newline in AUTOCRON_HOME or AUTOCRON_DATABASE is refused, naming it; nothing is written."""
    adapters: list[OSAdapter] = [
        _cron(crontab_user, env),
        _systemd(tmp_path, recorder, env),
        _launchd(tmp_path, recorder, env),
    ]
    for adapter in adapters:
        with pytest.raises(OSAdapterError, match=r"AUTOCRON_HOME|store") as caught:
            adapter.install(command_task("job", Interval("1h")))
        assert "\n" not in str(caught.value).replace("\\n", "")
        assert adapter.list() == []
    assert _crontab(crontab_user) == ""


# -- fault 13: entry ids are injective -----------------------------------------------------------
def test_lookalike_names_get_different_units(tmp_path: Path, recorder: Any) -> None:
    """`backup db` and a task literally named like its id get two units; removing one keeps the other."""
    adapter = _systemd(tmp_path, recorder)
    lookalike = OSAdapter.entry_id("backup db")
    assert OSAdapter.entry_id(lookalike) != lookalike
    adapter.install(command_task("backup db", Interval("1h")))
    adapter.install(command_task(lookalike, Interval("1d")))
    assert sorted(e.name for e in adapter.list()) == sorted(["backup db", lookalike])
    assert adapter.remove(lookalike)
    assert [e.name for e in adapter.list()] == ["backup db"]


def test_names_differing_in_case_get_different_ids() -> None:
    """launchd (APFS) and Task Scheduler ignore case, so `Backup` and `backup` differ beyond case."""
    assert OSAdapter.entry_id("Backup").lower() != OSAdapter.entry_id("backup").lower()


_PIECES = st.sampled_from(["a", "b", "_", "-", "0", "9", " ", ".", "A", "-513b53ea", "é", "\\", "%"])
_NAMES = st.lists(_PIECES, min_size=1, max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(_NAMES, _NAMES, st.booleans())
def test_entry_ids_are_injective(a: str, b: str, lookalike: bool) -> None:
    """Two different names never get the same entry id, even ignoring case or spelled like an id."""
    if lookalike:
        b = OSAdapter.entry_id(a)
    if a != b:
        assert OSAdapter.entry_id(a).lower() != OSAdapter.entry_id(b).lower()


# -- fault 14: one name rule, and list() survives one bad file -----------------------------------
@pytest.mark.parametrize(
    "bad", ["\x85", "\x9f", "\ufffe", "\uffff", "\ud800", "\u2028", "\u2029", "\U0010fffe"]
)
def test_adapters_refuse_what_core_refuses(tmp_path: Path, recorder: Any, bad: str) -> None:
    """C1 controls, noncharacters, surrogates and line separators are refused by the adapters as by core."""
    assert name_problem(f"a{bad}b") is not None
    with pytest.raises(OSAdapterError):
        _launchd(tmp_path, recorder).install(command_task(f"a{bad}b", Interval("1h")))
    assert _launchd(tmp_path, recorder).list() == []


def test_launchd_list_survives_an_unreadable_plist(tmp_path: Path, recorder: Any) -> None:
    """One broken plist (invalid XML) is skipped; the other entries are still listed."""
    adapter = _launchd(tmp_path, recorder)
    adapter.install(command_task("good", Interval("1h")))
    (tmp_path / "agents" / "io.autocron.broken.plist").write_bytes(
        b'<?xml version="1.0"?><plist version="1.0"><dict><key>AutoCronTask</key><string>\x01</string>'
    )
    assert [e.name for e in adapter.list()] == ["good"]


def test_systemd_list_survives_an_undecodable_timer(tmp_path: Path, recorder: Any) -> None:
    """A timer file that is not UTF-8 is skipped; the other entries are still listed."""
    adapter = _systemd(tmp_path, recorder)
    adapter.install(command_task("good", Interval("1h")))
    (tmp_path / "units" / "autocron-zz.timer").write_bytes(b"# autocron: \xff\xfe\n")
    assert [e.name for e in adapter.list()] == ["good"]


# -- fault 25: systemd skips the rest of the hour after a gap that ends off the hour ------------
def test_systemd_refuses_chatham_quarter_to_four() -> None:
    """`45 3 * * *` in Pacific/Chatham hits the time systemd skips on its spring-forward day."""
    adapter = SystemdAdapter(unit_dir="/nonexistent")
    support = adapter.supports(Cron("45 3 * * *", "Pacific/Chatham"))
    assert not support and "does not fall on the hour" in support.reason
    assert adapter.supports(Cron("15 4 * * *", "Pacific/Chatham"))
    assert SystemdAdapter(unit_dir="/x", dst_tolerant=True).supports(Cron("45 3 * * *", "Pacific/Chatham"))


ANALYZE = shutil.which("systemd-analyze")


def _systemd_fires(spec: str, base: dt.datetime, count: int) -> list[dt.datetime]:
    out = subprocess.run(
        [
            ANALYZE or "systemd-analyze",
            "calendar",
            f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC",
            f"--iterations={count}",
            spec,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC", "LC_ALL": "C"},
    ).stdout
    stamps = re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    return [dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc) for s in stamps]


@pytest.mark.skipif(ANALYZE is None, reason="needs systemd-analyze (systemd)")
@pytest.mark.parametrize("zone", ["Pacific/Chatham", "Australia/Lord_Howe", "America/New_York"])
@pytest.mark.parametrize("minute", [0, 15, 30, 45])
@pytest.mark.parametrize("hour", [2, 3])
def test_systemd_accepts_exactly_what_systemd_analyze_fires_like_autocron(
    zone: str, hour: int, minute: int
) -> None:
    """Whatever the adapter accepts, systemd-analyze fires exactly when AutoCron does around DST changes."""
    cron = Cron(f"{minute} {hour} * * *", zone)
    adapter = SystemdAdapter(unit_dir="/nonexistent")
    if not adapter.supports(cron):
        return
    year = dt.date.today().year
    (line,) = __import__("autocron_os.systemd", fromlist=["on_calendar"]).on_calendar(cron)
    for start in (dt.datetime(year + 1, m, 1, tzinfo=dt.timezone.utc) for m in range(1, 13)):
        ours, moment = [], start
        for _ in range(31):
            moment = cron.next_after(moment)
            ours.append(moment.astimezone(dt.timezone.utc))
        assert _systemd_fires(line, start, 31) == ours


# -- the class: hostile names through every adapter ----------------------------------------------
HOSTILE = st.lists(
    st.one_of(
        st.sampled_from(
            [*"-\\%'\"$`;&|<>()[]{}#*?~ \t\n\r!=:/.", "\x85", "\u2028", "\ufffe", "]]>", "&amp;"]
        ),
        st.characters(blacklist_categories=("Cs",)),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    ),
    min_size=1,
    max_size=16,
).map("".join)


def _load_sibling(module: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"_sibling_{module}", Path(__file__).with_name(f"{module}.py")
    )
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def _round_trips(adapter: OSAdapter, name: str, neighbour: str) -> None:
    try:
        adapter.install(command_task(name, Interval("1h")))
    except AutoCronError:
        assert [e.name for e in adapter.list()] == [neighbour]
        return
    assert name_problem(name) is None, "a name core refuses must not be installed"
    assert sorted(e.name for e in adapter.list()) == sorted([neighbour, name])
    assert adapter.remove(name)
    assert [e.name for e in adapter.list()] == [neighbour]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=HOSTILE)
def test_hostile_names_file_adapters(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    """systemd, launchd, Task Scheduler: a hostile name is refused cleanly or round-trips beside another."""
    fake_schtasks = _load_sibling("test_windows").FakeSchtasks  # this package's Task Scheduler stand-in

    if name == "neighbour":
        return
    tmp = tmp_path_factory.mktemp("hostile")
    calls: list[list[str]] = []

    def runner(argv: Any, stdin: str | None = None) -> tuple[int, str, str]:
        calls.append(list(argv))
        return 0, "", ""

    fake = fake_schtasks()
    adapters: list[OSAdapter] = [
        SystemdAdapter(unit_dir=tmp / "units", runner=runner, python=PY, env={}),
        LaunchdAdapter(agents_dir=tmp / "agents", uid=1, runner=runner, python=PY, system_zone=UTC, env={}),
        WindowsAdapter(runner=fake, python="C:\\Python\\python.exe", system_zone=UTC),
    ]
    for adapter in adapters:
        adapter.install(command_task("neighbour", Interval("1h")))
        _round_trips(adapter, name, "neighbour")
    for plist in (tmp / "agents").glob("*.plist"):
        plistlib.loads(plist.read_bytes())  # always valid XML


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=HOSTILE)
def test_hostile_names_real_crontab(crontab_user: str, name: str) -> None:
    """cron, real crontab program: refused cleanly or one entry that round-trips; never a second line."""
    if name == "neighbour":
        return
    adapter = _cron(crontab_user)
    subprocess.run(["crontab", "-u", crontab_user, "-r"], capture_output=True, check=False)
    adapter.install(command_task("neighbour", Interval("1h")))
    _round_trips(adapter, name, "neighbour")
    try:
        adapter.install(command_task(name, Interval("1h")))
    except AutoCronError:
        return
    lines = _crontab(crontab_user).splitlines()
    assert len(lines) == 4  # two entries of two lines: the name injected nothing
    command, stdin = debian_cron_unescape(lines[-1].split(" ", 5)[5])
    assert stdin is None and shlex.split(command)[-3:] == ["run", "--", name]
