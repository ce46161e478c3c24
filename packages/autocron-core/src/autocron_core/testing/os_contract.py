"""``OSAdapterContract``: the guarantees every ``OSScheduler`` implementation gives.

Subclass it in a test module and provide an ``adapter`` fixture returning a
fresh adapter whose host side is isolated (an injected runner, a temporary
folder, a throwaway user's crontab): the suite installs and removes entries.
"""

# A pytest suite shipped for other packages to subclass: its checks are plain asserts.
from __future__ import annotations

from typing import Any

import pytest

from autocron_core.errors import AutoCronError, OSAdapterError
from autocron_core.policy import make_policy
from autocron_core.protocols import OSScheduler
from autocron_core.schedules import At, Interval, Schedule
from autocron_core.task import Task

__all__ = ["HOSTILE_NAMES", "OSAdapterContract", "command_task"]

#: Names that must be refused or written as inert data by every adapter.
HOSTILE_NAMES = (
    "x; rm -rf ~",
    "a'b\"c",
    "100% done %s %%",
    "$(touch /tmp/pwned)",
    "`id`",
    "${HOME}",
    "back\\slash",
    "x && y | z > /tmp/out",
    "ünïcödé ✓ 日本",
    "-n",
    "#comment",
    "n" * 200,
    "line\nbreak",
    "tab\there",
    "cr\rreturn",
)


def command_task(name: str, schedule: Schedule) -> Task:
    """A command task built without the name checks, so adapters see hostile names too."""
    return Task(name, "command", ("echo", "hi"), schedule, make_policy())


class OSAdapterContract:
    """Tests every OS adapter must pass.

    The ``adapter`` fixture (in the subclass or its module) gives a fresh,
    isolated adapter for each test.
    """

    def test_is_an_os_scheduler(self, adapter: Any) -> None:
        """The adapter satisfies the OSScheduler protocol and has a name."""
        assert isinstance(adapter, OSScheduler)
        assert isinstance(adapter.name, str) and adapter.name
        assert isinstance(adapter.is_supported(), bool)

    def test_starts_empty(self, adapter: Any) -> None:
        """A fresh host has no entries of this project."""
        assert list(adapter.list()) == []

    def test_install_list_remove(self, adapter: Any) -> None:
        """An installed entry is listed with its schedule, and remove deletes it once."""
        entry = adapter.install(command_task("nightly", Interval("1d")))
        assert entry.name == "nightly"
        listed = adapter.list()
        assert [e.name for e in listed] == ["nightly"]
        assert listed[0].schedule
        assert adapter.remove("nightly") is True
        assert adapter.list() == []
        assert adapter.remove("nightly") is False

    def test_install_replaces(self, adapter: Any) -> None:
        """Installing a task name again replaces its entry."""
        adapter.install(command_task("job", Interval("1d")))
        first = adapter.list()[0].schedule
        adapter.install(command_task("job", Interval("1h")))
        listed = adapter.list()
        assert [e.name for e in listed] == ["job"]
        assert listed[0].schedule != first

    def test_entries_are_independent(self, adapter: Any) -> None:
        """Removing one task's entry leaves the others."""
        adapter.install(command_task("a b", Interval("1h")))
        adapter.install(command_task("a_b", Interval("1d")))
        assert sorted(e.name for e in adapter.list()) == ["a b", "a_b"]
        assert adapter.remove("a b")
        assert [e.name for e in adapter.list()] == ["a_b"]

    def test_entry_runs_autocron(self, adapter: Any) -> None:
        """The installed command ends with ``run -- <name>``, so no name is read as an option."""
        entry = adapter.install(command_task("report", Interval("1h")))
        command = (entry.details or {}).get("command")
        assert command is not None and list(command[-5:]) == ["-m", "autocron_cli", "run", "--", "report"]

    @pytest.mark.parametrize(
        "schedule",
        [Interval(0.5), Interval("7m"), Interval("90s"), At("2031-05-06T07:08:09+00:00")],
        ids=["half-second", "7m", "90s", "at"],
    )
    def test_refusals_carry_a_reason(self, adapter: Any, schedule: Schedule) -> None:
        """A schedule that supports() refuses has a reason and install raises OSAdapterError."""
        support = adapter.supports(schedule)
        if support:
            adapter.install(command_task("maybe", schedule))
            assert [e.name for e in adapter.list()] == ["maybe"]
            return
        assert support.reason
        with pytest.raises(OSAdapterError):
            adapter.install(command_task("maybe", schedule))
        assert adapter.list() == []

    def test_sub_second_interval_refused(self, adapter: Any) -> None:
        """No OS scheduler fires twice a second, so every adapter refuses it."""
        assert not adapter.supports(Interval(0.5))

    @pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
    def test_hostile_names(self, adapter: Any, name: str) -> None:
        """A hostile name is refused, or listed back exactly and removable."""
        try:
            adapter.install(command_task(name, Interval("1h")))
        except AutoCronError:
            assert adapter.list() == []
            return
        assert any(ord(c) < 32 for c in name) is False, "control characters must be refused"
        assert [e.name for e in adapter.list()] == [name]
        assert adapter.remove(name)
        assert adapter.list() == []
