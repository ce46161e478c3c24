"""``WindowsAdapter``: Task Scheduler tasks under ``\\AutoCron\\``, created from XML.

``schtasks /Create /TN "\\AutoCron\\<id>" /XML <file> /F`` installs a task,
``/Delete /TN ... /F`` removes it and ``/Query /FO CSV /V`` lists them. The
task's description holds the marker (task name and schedule, as JSON).

Tasks the original AutoCron created (``\\AutoCron_<name>`` in the root folder,
see ``_legacy``) are listed as legacy entries, deleted by ``remove(name)`` and
deleted after ``install`` of a task of the same name has succeeded.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any
from xml.etree import ElementTree as ET

from autocron_core.cron import Cron
from autocron_core.errors import OSAdapterError
from autocron_core.protocols import InstalledEntry
from autocron_core.schedules import At, Interval, Schedule
from autocron_core.task import Task
from autocron_core.timezones import UTC

from ._calendar import check_calendar_host
from ._legacy import LEGACY_ORIGIN, seed_windows_id, seed_windows_path
from ._taskxml import NS, calendar_triggers, time_trigger
from .base import Command, OSAdapter, Runner

__all__ = ["WindowsAdapter"]

logger = logging.getLogger("autocron.os.windows")

FOLDER = "\\AutoCron\\"
MARK = "autocron: "
_MAX_REPEAT = 31 * 86400  # the longest repetition interval Task Scheduler takes


class WindowsAdapter(OSAdapter):
    """Installs tasks in Windows Task Scheduler with ``schtasks``.

    ``AUTOCRON_HOME``/``AUTOCRON_DATABASE`` are not forwarded: a Task Scheduler
    action has no environment of its own, so set them for the user instead.

    Args:
        schtasks: the ``schtasks`` program.
        system_zone: the zone Task Scheduler reads times in (default: detected).
        runner, python, env, dst_tolerant: see ``OSAdapter``.
    """

    name = "windows"
    carries_env = False

    def __init__(
        self,
        *,
        schtasks: str = "schtasks",
        system_zone: Any = None,
        runner: Runner | None = None,
        python: str | None = None,
        env: dict[str, str] | None = None,
        dst_tolerant: bool = False,
    ) -> None:
        super().__init__(runner=runner, python=python, env=env, dst_tolerant=dst_tolerant)
        self.schtasks = schtasks
        self.system_zone = system_zone

    def is_supported(self) -> bool:
        """Whether this is Windows with ``schtasks``."""
        return sys.platform == "win32" and shutil.which(self.schtasks) is not None

    def check_name(self, name: str) -> None:
        """Also refuse ``%``: Task Scheduler expands ``%VAR%`` in arguments, with no escape."""
        super().check_name(name)
        if "%" in name:
            raise OSAdapterError(
                f"task name {name!r}: Task Scheduler expands % in arguments; use another name"
            )

    def _check_schedule(self, schedule: Schedule) -> None:
        if isinstance(schedule, Cron):
            check_calendar_host(
                schedule,
                "Task Scheduler",
                "calendar triggers follow the system zone",
                self.system_zone,
                dst_tolerant=self.dst_tolerant,
            )
            calendar_triggers(schedule)
        elif isinstance(schedule, Interval):
            seconds = int(schedule.seconds)
            if seconds % 60 or not 60 <= seconds <= _MAX_REPEAT:
                raise OSAdapterError(
                    f"Task Scheduler repeats in whole minutes from 1 minute to 31 days, not every {seconds}s"
                )

    def task_path(self, name: str) -> str:
        """The Task Scheduler path of a task (``\\AutoCron\\<id>``)."""
        return FOLDER + self.entry_id(name)

    def render(self, task: Task, command: Command) -> bytes:
        """The task definition XML (UTF-16, as ``schtasks /XML`` expects)."""
        for arg in command.argv:
            if "%" in arg or '"' in arg:
                raise OSAdapterError(f'Task Scheduler cannot hold {arg!r} in an argument safely (% or ")')
        root = ET.Element("Task", {"version": "1.2", "xmlns": NS})
        info = ET.SubElement(root, "RegistrationInfo")
        ET.SubElement(info, "Description").text = MARK + self.marker(task.name, task.schedule)
        ET.SubElement(info, "URI").text = self.task_path(task.name)
        triggers = ET.SubElement(root, "Triggers")
        schedule = task.schedule
        if isinstance(schedule, Cron):
            triggers.extend(calendar_triggers(schedule))
        elif isinstance(schedule, Interval):
            anchor = schedule.anchor or _dt.datetime.now(UTC).replace(microsecond=0)
            triggers.append(
                time_trigger(anchor + _dt.timedelta(seconds=schedule.seconds), int(schedule.seconds))
            )
        elif isinstance(schedule, At):
            triggers.append(time_trigger(schedule.when, None))
        settings = ET.SubElement(root, "Settings")
        for tag, text in (
            ("MultipleInstancesPolicy", "IgnoreNew"),
            ("StartWhenAvailable", "true"),
            ("Enabled", "true"),
            ("ExecutionTimeLimit", "PT0S"),
        ):
            ET.SubElement(settings, tag).text = text
        action = ET.SubElement(ET.SubElement(root, "Actions", {"Context": "Author"}), "Exec")
        ET.SubElement(action, "Command").text = command.argv[0]
        # The program parses its own command line with the MS C runtime's rules.
        ET.SubElement(action, "Arguments").text = subprocess.list2cmdline(command.argv[1:])
        body = ET.tostring(root, encoding="unicode")  # the xmlns attribute is written as given
        return ('<?xml version="1.0" encoding="UTF-16"?>\n' + body).encode("utf-16")

    def _install(self, task: Task, command: Command) -> InstalledEntry:
        command = Command(command.argv, {})
        xml = self.render(task, command)
        # Looked up before anything changes, so a failing query leaves the host as it was.
        entries = self.list()
        legacy = self._legacy_path(task.name, entries)
        taken = [
            e.name
            for e in entries
            if not e.legacy and e.location.lower() == self.task_path(task.name).lower()
        ]
        if taken and taken != [task.name]:
            raise OSAdapterError(
                f"windows: {self.task_path(task.name)} belongs to task {taken[0]!r}; it is left alone"
            )
        handle, path = tempfile.mkstemp(prefix="autocron-", suffix=".xml")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(xml)
            self.run([self.schtasks, "/Create", "/TN", self.task_path(task.name), "/XML", path, "/F"])
        finally:
            os.unlink(path)
        if legacy is not None:
            # Deleted only once ours exists: the task never stops running, and never runs twice after.
            self.run([self.schtasks, "/Delete", "/TN", legacy, "/F"])
            logger.info("replaced the original AutoCron's task %s with %s", legacy, self.task_path(task.name))
        return InstalledEntry(
            task.name, task.schedule.describe(), self.task_path(task.name), {"command": command.argv}
        )

    @staticmethod
    def _legacy_path(name: str, entries: list[InstalledEntry]) -> str | None:
        """The listed task the original AutoCron created for ``name``, if there is one."""
        path = seed_windows_path(name)
        return path if any(e.legacy and e.location == path for e in entries) else None

    def remove(self, name: str) -> bool:
        """Delete the task, and the original AutoCron's task for ``name``; whether either existed."""
        entries = self.list()
        # The listed entry's own path: removing one task never deletes another's.
        paths = [e.location for e in entries if not e.legacy and e.name == name]
        legacy = self._legacy_path(name, entries)
        if legacy is not None:
            paths.append(legacy)
        for path in paths:
            self.run([self.schtasks, "/Delete", "/TN", path, "/F"])
        return bool(paths)

    def list(self) -> list[InstalledEntry]:
        """The tasks under ``\\AutoCron\\`` that AutoCron created.

        The original AutoCron's tasks follow, with ``legacy=True`` and the
        sanitized name it gave them (``\\AutoCron_my_task`` is ``my_task``).
        """
        out, _ = self.run([self.schtasks, "/Query", "/FO", "CSV", "/V"])
        rows = list(csv.reader(io.StringIO(out)))
        if not rows:
            return []
        header = rows[0]
        try:
            name_col, comment_col = header.index("TaskName"), header.index("Comment")
        except ValueError:
            raise OSAdapterError(f"windows: unexpected schtasks /Query header: {header!r}") from None
        seen: dict[str, InstalledEntry] = {}
        for row in rows[1:]:
            if row == header or len(row) <= max(name_col, comment_col):
                continue  # the header repeats per folder
            path, comment = row[name_col], row[comment_col]
            ident = seed_windows_id(path, comment)
            if ident is not None and path not in seen:
                seen[path] = self._legacy_entry(ident, path, dict(zip(header, row, strict=False)))
                continue
            if not path.startswith(FOLDER) or not comment.startswith(MARK) or path in seen:
                continue
            data = self.parse_marker(comment[len(MARK) :])
            if data is None:
                continue
            source = data.get("schedule") or {}
            text = ", ".join(f"{k}={v}" for k, v in sorted(source.items()))
            seen[path] = InstalledEntry(str(data["task"]), text, path, {"source": source})
        return list(seen.values())

    @staticmethod
    def _legacy_entry(ident: str, path: str, row: dict[str, str]) -> InstalledEntry:
        """A listed task of the original AutoCron, with what ``schtasks /V`` says of it."""
        kind = row.get("Schedule Type", "").strip()
        every = row.get("Repeat: Every", "").strip()
        schedule = kind + (f", every {every}" if every and every not in ("N/A", "Disabled") else "")
        details = {"origin": LEGACY_ORIGIN, "command": row.get("Task To Run", "").strip()}
        return InstalledEntry(ident, schedule or "unknown", path, details, legacy=True)
