"""``LaunchdAdapter``: a launch agent plist per task in ``~/Library/LaunchAgents``.

Labels are ``io.autocron.<id>``. Cron expressions become a list of
``StartCalendarInterval`` dictionaries (one per combination of the restricted
fields; a missing key means "any"); intervals become ``StartInterval``. Agents
are loaded with ``launchctl bootstrap gui/<uid>`` and unloaded with ``bootout``.
"""

from __future__ import annotations

import itertools
import logging
import os
import plistlib
import shutil
import sys
from pathlib import Path
from typing import Any

from autocron_core.cron import Cron
from autocron_core.errors import OSAdapterError
from autocron_core.protocols import InstalledEntry
from autocron_core.schedules import Interval, Schedule
from autocron_core.task import Task

from ._calendar import check_calendar_host, day_terms, spec_of
from ._secrets import mask_secrets
from .base import Command, OSAdapter, Runner, atomic_write

__all__ = ["LaunchdAdapter", "calendar_intervals"]

logger = logging.getLogger("autocron.os.launchd")

LABEL_PREFIX = "io.autocron."
MARK_KEY = "AutoCronTask"  # launchd ignores keys it does not know
MAX_ENTRIES = 500


def calendar_intervals(cron: Cron, max_entries: int = MAX_ENTRIES) -> list[dict[str, int]]:
    """``StartCalendarInterval`` dictionaries whose union fires exactly when ``cron`` does.

    launchd reads them in the host's zone; the caller checks the zone.

    Raises:
        OSAdapterError: seconds, ``L``, ``#n``, a weekday AND day-of-month rule,
            or more than ``max_entries`` dictionaries.
    """
    spec = spec_of(cron)
    if spec.seconds != [0]:
        raise OSAdapterError(f"launchd has no seconds: {cron.expr!r} cannot be expressed")
    minutes = [None] if len(spec.minutes) == 60 else spec.minutes
    hours = [None] if len(spec.hours) == 24 else spec.hours
    months = [None] if len(spec.months) == 12 else sorted(spec.months)
    out: list[dict[str, int]] = []
    for term in day_terms(cron):
        if term.last:
            raise OSAdapterError(f"launchd has no last-day-of-month: {cron.expr!r} cannot be expressed")
        if term.weekdays is not None and term.days is not None:
            raise OSAdapterError(
                f"launchd cannot require a weekday and a day of month together ({cron.expr!r}: #n, or "
                "a day field beginning with * next to a restricted one)"
            )
        if term.weekdays is not None:
            days: list[tuple[str, int] | None] = [("Weekday", d) for d in sorted(term.weekdays)]
        elif term.days is not None:
            days = [("Day", d) for d in sorted(term.days)]
        else:
            days = [None]
        count = len(out) + len(minutes) * len(hours) * len(months) * len(days)
        if count > max_entries:
            raise OSAdapterError(
                f"{cron.expr!r} needs {count}+ StartCalendarInterval entries; launchd is given at most "
                f"{max_entries}, so simplify the expression or use an interval"
            )
        for month, day, hour, minute in itertools.product(months, days, hours, minutes):
            entry: dict[str, int] = {}
            if month is not None:
                entry["Month"] = month
            if day is not None:
                entry[day[0]] = day[1]
            if hour is not None:
                entry["Hour"] = hour
            if minute is not None:
                entry["Minute"] = minute
            out.append(entry)
    return out


class LaunchdAdapter(OSAdapter):
    """Installs tasks as launchd user agents.

    Args:
        agents_dir: where plists go (default ``~/Library/LaunchAgents``).
        uid: the user's id for ``gui/<uid>`` (default ``os.getuid()``).
        launchctl: the ``launchctl`` program.
        system_zone: the zone launchd reads times in (default: detected).
        max_entries: the most ``StartCalendarInterval`` dictionaries one task may need.
        runner, python, env, dst_tolerant: see ``OSAdapter``.
    """

    name = "launchd"

    def __init__(
        self,
        *,
        agents_dir: str | os.PathLike[str] | None = None,
        uid: int | None = None,
        launchctl: str = "launchctl",
        system_zone: Any = None,
        max_entries: int = MAX_ENTRIES,
        runner: Runner | None = None,
        python: str | None = None,
        env: dict[str, str] | None = None,
        dst_tolerant: bool = False,
    ) -> None:
        super().__init__(runner=runner, python=python, env=env, dst_tolerant=dst_tolerant)
        self.agents_dir = Path(agents_dir) if agents_dir else Path.home() / "Library" / "LaunchAgents"
        self.uid = uid if uid is not None else (os.getuid() if hasattr(os, "getuid") else 0)
        self.launchctl = launchctl
        self.system_zone = system_zone
        self.max_entries = max_entries

    def is_supported(self) -> bool:
        """Whether this is macOS with ``launchctl``."""
        return sys.platform == "darwin" and shutil.which(self.launchctl) is not None

    def _check_schedule(self, schedule: Schedule) -> None:
        if isinstance(schedule, Cron):
            check_calendar_host(
                schedule,
                "launchd",
                "reads times in the system zone only",
                self.system_zone,
                dst_tolerant=self.dst_tolerant,
            )
            calendar_intervals(schedule, self.max_entries)
        elif not isinstance(schedule, Interval):
            super()._check_schedule(schedule)

    def label(self, name: str) -> str:
        """The launchd label of a task."""
        return LABEL_PREFIX + self.entry_id(name)

    def render(self, task: Task, command: Command) -> dict[str, Any]:
        """The plist (as a dictionary) for a task."""
        plist: dict[str, Any] = {
            "Label": self.label(task.name),
            "ProgramArguments": list(command.argv),
            "RunAtLoad": False,
            MARK_KEY: self.marker(task.name, task.schedule),
        }
        if command.env:
            plist["EnvironmentVariables"] = dict(command.env)
        schedule = task.schedule
        if isinstance(schedule, Cron):
            plist["StartCalendarInterval"] = calendar_intervals(schedule, self.max_entries)
        elif isinstance(schedule, Interval):
            plist["StartInterval"] = int(schedule.seconds)
        return plist

    def _path(self, name: str) -> Path:
        return self.agents_dir / f"{self.label(name)}.plist"

    def _read(self, path: Path) -> dict[str, Any] | None:
        """A plist of ours with its marker, or ``None`` (not ours, or unreadable)."""
        try:
            plist = plistlib.loads(path.read_bytes())
        except Exception:  # expat, plistlib and OS errors alike: one bad file must not hide the rest
            logger.warning("skipping unreadable plist %s", path)
            return None
        if not isinstance(plist, dict) or self.parse_marker(str(plist.get(MARK_KEY, ""))) is None:
            return None
        return plist

    def _owner(self, path: Path) -> str | None:
        plist = self._read(path) if path.exists() else None
        if plist is None:
            return None
        data = self.parse_marker(str(plist[MARK_KEY]))
        return None if data is None else str(data["task"])

    def _find(self, name: str) -> Path | None:
        """The plist installed for task ``name`` (by its marker, also under an older id rule)."""
        path = self._path(name)
        if self._owner(path) == name:
            return path
        if self.agents_dir.is_dir():
            for other in sorted(self.agents_dir.glob(f"{LABEL_PREFIX}*.plist")):
                if self._owner(other) == name:
                    return other
        return None

    def _unload(self, path: Path) -> None:
        label = path.name[: -len(".plist")]
        code, _, err = self.runner([self.launchctl, "bootout", f"gui/{self.uid}/{label}"], None)
        if code:
            logger.warning("launchctl bootout of %s exited %s: %s", label, code, err.strip())
        path.unlink()

    def _install(self, task: Task, command: Command) -> InstalledEntry:
        plist = self.render(task, command)
        path = self._path(task.name)
        domain = f"gui/{self.uid}"
        if path.exists() and self._owner(path) != task.name:
            raise OSAdapterError(
                f"launchd: {path} exists and does not belong to task {task.name!r}; it is left alone"
            )
        older = self._find(task.name)
        if older is not None and older != path:
            self._unload(older)  # an agent under an older id rule must not fire beside the new one
        if path.exists():
            # bootstrap refuses a label that is already loaded; the old one goes first.
            self.run([self.launchctl, "bootout", f"{domain}/{plist['Label']}"], ok=range(256))
        atomic_write(path, plistlib.dumps(plist, fmt=plistlib.FMT_XML))
        self.run([self.launchctl, "bootstrap", domain, str(path)])
        return InstalledEntry(
            task.name,
            _describe(plist),
            str(path),
            mask_secrets({"command": command.argv, "label": plist["Label"]}),
        )

    def remove(self, name: str) -> bool:
        """Unload the agent and delete its plist; whether there was one."""
        path = self._find(name)
        if path is None:
            return False
        self._unload(path)
        self.forget(name)
        return True

    def list(self) -> list[InstalledEntry]:
        """The agents AutoCron installed, with their schedule; unreadable files are skipped."""
        entries: list[InstalledEntry] = []
        if not self.agents_dir.is_dir():
            return entries
        for path in sorted(self.agents_dir.glob(f"{LABEL_PREFIX}*.plist")):
            plist = self._read(path)
            if plist is None:
                continue
            data = self.parse_marker(str(plist[MARK_KEY]))
            if data is None:  # _read checked it; kept for the type checker
                continue
            entries.append(
                InstalledEntry(
                    str(data["task"]),
                    _describe(plist),
                    str(path),
                    mask_secrets(
                        {
                            "source": data.get("schedule"),
                            "label": plist.get("Label"),
                            "command": plist.get("ProgramArguments"),
                        }
                    ),
                )
            )
        return entries


def _describe(plist: dict[str, Any]) -> str:
    if "StartInterval" in plist:
        return f"StartInterval={plist['StartInterval']}"
    return f"StartCalendarInterval x{len(plist.get('StartCalendarInterval', []))}"
