"""Crontab lines the original AutoCron (autocron-scheduler) wrote, through the real ``crontab``.

The fixture lines are written by hand in the original's two formats: 1.0-1.2
(``<cron> <python> "<script>" # AutoCron: <name as given>``) and 1.3
(``<5 fields> <sh-quoted python> <sh-quoted script> # AutoCron: <sanitized name>``).
"""

from __future__ import annotations

import shlex
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autocron_core.cron import Cron
from autocron_core.schedules import Interval
from autocron_core.testing.os_contract import command_task
from autocron_os import CronAdapter
from autocron_os._legacy import parse_seed_cron_line, seed_sanitize

SEED_12_REPORT = '0 9 * * * /usr/bin/python3 "/home/me/jobs/report.py" # AutoCron: Daily Report\n'
SEED_12_POLL = '*/5 * * * * /usr/bin/python3 "/home/me/jobs/poll.py" # AutoCron: poll\n'
SEED_12_POLLING = '@hourly /usr/bin/python3 "/home/me/jobs/polling.py" # AutoCron: polling\n'
SEED_13_REPORT = "0 9 * * * /usr/bin/python3 '/home/me/my jobs/report.py' # AutoCron: daily_report\n"
SEED_13_SYNC = "0 */2 * * * /usr/bin/python3 /home/me/jobs/sync.py # AutoCron: sync\n"
SEED = [SEED_12_REPORT, SEED_12_POLL, SEED_12_POLLING, SEED_13_REPORT, SEED_13_SYNC]

# A user's own lines, several built to look like the original's entries.
USER = [
    "# my nightly jobs\n",
    "MAILTO=me@example.com\n",
    "# AutoCron: poll\n",  # a comment line, not an entry: the original never wrote one alone
    '0 2 * * * echo "# AutoCron: poll" >> /tmp/log\n',  # the marker inside quotes is no comment
    "0 6 * * * /usr/bin/python3 '/x.py # AutoCron: sync'\n",  # inside a quoted word
    "0 1 * * * /usr/bin/backup # AutoCron: sync\n",  # one word: not the original's command shape
    "5 4 * * * /usr/bin/python3 /srv/x.py # AutoCron: Sync\n",  # 1.3 shape, unsanitized tag
    "0 3 * * * /usr/bin/python3 /srv/y.py # AutoCron: poll extra\n",  # 1.3 shape, tag has a space
]


def _crontab(user: str) -> str:
    return subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True, check=True).stdout


def _set(user: str, text: str) -> None:
    subprocess.run(["crontab", "-u", user, "-"], input=text, text=True, check=True)


def _without(text: str, *lines: str) -> str:
    kept = text.splitlines(keepends=True)
    for line in lines:
        kept.remove(line)
    return "".join(kept)


@pytest.fixture
def adapter(crontab_user: str) -> CronAdapter:
    """A cron adapter for a throwaway user whose crontab holds the original's lines among the user's."""
    mixed = [USER[0], USER[1], SEED[0], USER[2], SEED[1], USER[3], SEED[2], USER[4]]
    _set(crontab_user, "".join([*mixed, USER[5], SEED[3], USER[6], SEED[4], USER[7]]))
    return CronAdapter(
        user=crontab_user, system_zone=Cron("0 0 * * *", "UTC").tz, python="/usr/bin/python3", env={}
    )


def test_seed_lines_listed_as_legacy(adapter: CronAdapter) -> None:
    """`os list` shows each line the original wrote, marked legacy, and none of the user's look-alikes."""
    entries = adapter.list()
    assert all(e.legacy for e in entries)
    assert [(e.name, e.schedule) for e in entries] == [
        ("Daily Report", "0 9 * * *"),
        ("poll", "*/5 * * * *"),
        ("polling", "@hourly"),
        ("daily_report", "0 9 * * *"),
        ("sync", "0 */2 * * *"),
    ]
    report = entries[3].details
    assert report is not None and report["origin"] == "autocron-scheduler"
    assert report["command"] == ["/usr/bin/python3", "/home/me/my jobs/report.py"]
    assert report["release"] == "1.3" and entries[0].details["release"] == "1.0-1.2"  # type: ignore[index]


def test_remove_deletes_exactly_the_seed_lines(adapter: CronAdapter, crontab_user: str) -> None:
    """`os remove NAME` deletes the original's lines for NAME and leaves every other byte alone."""
    before = _crontab(crontab_user)
    assert adapter.remove("poll") is True
    assert _crontab(crontab_user) == _without(before, SEED_12_POLL)
    # "Daily Report" had a 1.2 line (its name) and a 1.3 line (its sanitized name).
    assert adapter.remove("Daily Report") is True
    assert _crontab(crontab_user) == _without(before, SEED_12_POLL, SEED_12_REPORT, SEED_13_REPORT)
    assert adapter.remove("sync") is True
    after = _without(before, SEED_12_POLL, SEED_12_REPORT, SEED_13_REPORT, SEED_13_SYNC)
    assert _crontab(crontab_user) == after
    assert adapter.remove("poll") is False and adapter.remove("Sync") is False
    assert _crontab(crontab_user) == after
    assert [e.name for e in adapter.list()] == ["polling"]


def test_remove_by_listed_sanitized_name(adapter: CronAdapter, crontab_user: str) -> None:
    """The name `os list` shows for a 1.3 line removes it, but not the 1.2 line of another spelling."""
    before = _crontab(crontab_user)
    assert adapter.remove("daily_report") is True
    assert _crontab(crontab_user) == _without(before, SEED_13_REPORT)


def test_install_replaces_seed_entry(adapter: CronAdapter, crontab_user: str) -> None:
    """Installing a task the original had scheduled replaces its line, so the task never runs twice."""
    before = _crontab(crontab_user)
    adapter.install(command_task("poll", Interval("5m")))
    ours = (
        '# autocron: {"schedule": {"every": "5m"}, "task": "poll"}\n'
        "*/5 * * * * /usr/bin/python3 -m autocron_cli run -- poll\n"
    )
    assert _crontab(crontab_user) == _without(before, SEED_12_POLL) + ours
    assert [(e.name, e.legacy) for e in adapter.list() if e.name == "poll"] == [("poll", False)]
    adapter.install(command_task("Daily Report", Cron("0 9 * * *", "UTC")))
    text = _crontab(crontab_user)
    assert SEED_12_REPORT not in text and SEED_13_REPORT not in text
    assert text.startswith(_without(before, SEED_12_POLL, SEED_12_REPORT, SEED_13_REPORT))


def test_install_with_own_entry_and_seed_line(crontab_user: str) -> None:
    """Re-installing a task whose own entry sits beside an old seed line keeps one entry in place."""
    adapter = CronAdapter(
        user=crontab_user, system_zone=Cron("0 0 * * *", "UTC").tz, python="/usr/bin/python3", env={}
    )
    adapter.install(command_task("sync", Interval("1h")))
    _set(crontab_user, SEED_13_SYNC + _crontab(crontab_user) + "# tail\n")
    adapter.install(command_task("sync", Interval("2h")))
    assert _crontab(crontab_user) == (
        '# autocron: {"schedule": {"every": "2h"}, "task": "sync"}\n'
        "0 */2 * * * /usr/bin/python3 -m autocron_cli run -- sync\n"
        "# tail\n"
    )


_NAMES = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40)
_PATHS = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30)


class TestSeedLineMatching:
    """Which task a line of the original belongs to, over many names."""

    @given(name=_NAMES, other=_NAMES)
    def test_v12_line_belongs_to_its_name_only(self, name: str, other: str) -> None:
        """A 1.0-1.2 line (raw name) is found for its own name and never for another."""
        seed = parse_seed_cron_line(f'0 9 * * * /usr/bin/python3 "/srv/job.py" # AutoCron: {name}\n')
        assert seed is not None and seed.release == "1.0-1.2"
        assert seed.belongs_to(name) and seed.belongs_to(seed.name)
        assert seed.belongs_to(other) == (other in (name, name.strip()))

    @given(name=_NAMES, other=_NAMES, script=_PATHS)
    def test_v13_line_belongs_to_names_that_sanitize_alike(self, name: str, other: str, script: str) -> None:
        """A 1.3 line (sanitized name) is found exactly for the names the original mapped to it."""
        tag = seed_sanitize(name)
        quoted = shlex.quote(script).replace("%", "\\%")
        seed = parse_seed_cron_line(f"0 9 * * * /usr/bin/python3 {quoted} # AutoCron: {tag}\n")
        if not tag:
            assert seed is None  # the original refused such names
            return
        assert seed is not None and seed.release == "1.3"
        assert seed.argv == ("/usr/bin/python3", script)
        assert seed.belongs_to(name) and seed.belongs_to(seed.name)
        assert seed.belongs_to(other) == (seed_sanitize(other) == tag)

    @given(name=_NAMES, words=st.lists(_PATHS, min_size=1, max_size=3))
    def test_marker_inside_a_quoted_word_is_never_an_entry(self, name: str, words: list[str]) -> None:
        """A user's line carrying the marker inside a quoted argument is not taken for the original's."""
        inner = shlex.quote(" ".join(words) + " # AutoCron: " + name)
        assert parse_seed_cron_line(f"0 9 * * * /usr/bin/python3 {inner}\n") is None


def test_six_field_seed_line_recognised() -> None:
    """A 1.0-1.2 six-field line (sub-minute interval; only non-Debian crontabs took it) is listed."""
    seed = parse_seed_cron_line('*/30 * * * * * /usr/bin/python3 "/home/me/fast.py" # AutoCron: fast\n')
    assert seed is not None and (seed.name, seed.when) == ("fast", "*/30 * * * * *")
    assert seed.argv == ("/usr/bin/python3", "/home/me/fast.py")


def test_seed_sanitize_matches_the_original() -> None:
    """Task names map to the original's identifiers exactly as its sanitize_task_name did."""
    assert seed_sanitize("My Task #1") == "my_task_1"
    assert seed_sanitize("a task") == "a_task"
    assert seed_sanitize("__Back--Up__") == "back_up"
    assert seed_sanitize("café") == "caf"
    assert seed_sanitize("###") == ""
