"""``CronAdapter``: entries in the user's crontab, through the ``crontab`` program.

Each entry is two lines: a marker comment holding the task name (as JSON, so
it is inert) and the cron line itself::

    # autocron: {"schedule": {"every": "5m"}, "task": "backup"}
    */5 * * * * AUTOCRON_HOME=/home/me/.autocron /usr/bin/python3 -m autocron_cli run backup

Every other line of the crontab is kept byte for byte. The command is quoted
with ``shlex.quote`` for ``/bin/sh`` and every ``%`` is written ``\\%``,
because cron turns a bare ``%`` into a newline.

Lines the original AutoCron wrote (``... # AutoCron: <name>``, see ``_legacy``)
are listed as legacy entries, removed by ``remove(name)`` and replaced by
``install`` of a task of the same name, in the same crontab write.
"""

from __future__ import annotations

import logging
import shlex
import shutil
from pathlib import Path

from autocron_core.cron import Cron
from autocron_core.errors import OSAdapterError
from autocron_core.protocols import InstalledEntry
from autocron_core.schedules import Interval, Schedule
from autocron_core.task import Task
from autocron_core.timezones import zone_name

from ._calendar import cron_interval, is_system_zone
from ._legacy import LEGACY_ORIGIN, SeedCronLine, parse_seed_cron_line
from ._secrets import mask_secrets
from .base import Command, OSAdapter, Runner

__all__ = ["CronAdapter", "cron_line_for", "cron_quote", "debian_cron_unescape"]

logger = logging.getLogger("autocron.os.cron")

MARKER_PREFIX = "# autocron: "
# a/step runs to these; 6 for the day of week, as croniter reads it (core's cron.py).
_MAX = {"minute": 59, "hour": 23, "day-of-month": 31, "month": 12, "day-of-week": 6}
_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")


def _debian_fields(cron: Cron) -> str:
    """The expression in the grammar Debian's cron accepts, with the same meaning.

    Debian's cron refuses ``?`` and ``a/step``; ``*`` and ``a-max/step`` mean
    the same to AutoCron (neither changes which field counts as ``*``).

    Raises:
        OSAdapterError: the expression uses ``L``, ``#n`` or seconds, which Debian's cron lacks.
    """
    if cron.seconds or cron.spec.seconds != [0]:
        raise OSAdapterError(f"cron has no seconds field: {cron.expr!r} cannot be expressed")
    if cron.spec.unportable:
        raise OSAdapterError(f"{cron.expr!r}: Debian's cron cannot express {', '.join(cron.spec.unportable)}")
    if cron.expr.startswith("@"):
        return cron.expr.lower()
    fields = cron.expr.split()[:5]  # a sixth (seconds 0) and seventh (any year) add nothing here
    out = []
    for field, text in zip(_FIELDS, fields, strict=False):
        if "#" in text:
            raise OSAdapterError(f"{cron.expr!r}: Debian's cron has no #n (n-th weekday) form")
        items = []
        for item in text.split(","):
            if item.upper() == "L":
                raise OSAdapterError(f"{cron.expr!r}: Debian's cron has no L (last day of month) form")
            body, slash, step = item.partition("/")
            if body == "?":
                body = "*"
            elif slash and body != "*" and "-" not in body:
                body = f"{body}-{_MAX[field]}"
            elif field == "day-of-month" and body.upper().endswith("-L"):
                body = body[:-1] + "31"  # croniter's a-L; Debian skips days a month lacks
            elif (
                field == "day-of-week"
                and body.lower().endswith(("-0", "-sun"))
                and body.lower()[:2] not in ("0-", "su")
            ):
                if slash:  # croniter's FRI-SUN/2 steps to Saturday and then adds Sunday
                    raise OSAdapterError(f"{cron.expr!r}: Debian's cron has no stepped range through Sunday")
                body = body.partition("-")[0] + "-7"
            items.append(body + slash + step)
        out.append(",".join(items))
    return " ".join(out)


def cron_line_for(schedule: Schedule, command: Command) -> str:
    """The crontab line (without newline) that runs ``command`` on ``schedule``.

    Raises:
        OSAdapterError: the schedule or command cannot be written exactly.
    """
    if isinstance(schedule, Cron):
        when = _debian_fields(schedule)
    elif isinstance(schedule, Interval):
        found = cron_interval(schedule.seconds)
        if found is None:
            raise OSAdapterError(
                f"cron cannot fire exactly every {schedule.describe()[6:]}: only steps that divide an hour "
                "or a day evenly (1m, 5m, 15m, 2h, 1d, 1w, ...) can be written"
            )
        when = found
    else:
        raise OSAdapterError(f"cron has no one-off entries ({schedule.describe()}); use a cron expression")
    words = [f"{key}={cron_quote(value)}" for key, value in command.env.items()]
    words += [cron_quote(arg) for arg in command.argv]
    return when + " " + " ".join(words).replace("%", "\\%")


def cron_quote(word: str) -> str:
    """``word`` quoted for ``/bin/sh`` so that every cron daemon passes it on unchanged.

    Before the shell sees a command, Debian's cron turns ``\\\\`` into ``\\`` and
    ``\\%`` into ``%`` (Vixie's and cronie's only the latter), and a bare ``%``
    ends the command. So no backslash may stand before another backslash or a
    ``%``: each one closes its single-quoted run (``'a\\'' ...``), leaving it
    before a quote, where every cron keeps it. The caller then writes every
    ``%`` as ``\\%``.
    """
    if "\\" not in word:
        return shlex.quote(word)
    return "'" + word.replace("'", "'\"'\"'").replace("\\", "\\''") + "'"


def debian_cron_unescape(command: str) -> tuple[str, str | None]:
    """What Debian's cron hands ``/bin/sh`` for a crontab command, and the job's stdin.

    A model of ``do_command.c``: ``\\\\`` becomes ``\\``, ``\\%`` becomes ``%``,
    any other backslash stays; the first bare ``%`` ends the command and the
    rest, with each further bare ``%`` turned into a newline, is the standard
    input (``None`` when there is no bare ``%``).
    """
    out: list[str] = []
    stdin: list[str] | None = None
    target = out
    escaped = False
    for char in command:
        if escaped:
            if char in "%\\":
                target.append(char)
            else:
                target.extend(("\\", char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            if stdin is None:
                stdin = []
                target = stdin
            else:
                target.append("\n")
        else:
            target.append(char)
    if escaped:
        target.append("\\")
    return "".join(out), None if stdin is None else "".join(stdin)


def _when(line: str) -> str:
    """The schedule part of a crontab line."""
    fields = line.split()
    return fields[0] if line.startswith("@") else " ".join(fields[:5])


class CronAdapter(OSAdapter):
    """Installs tasks as lines of a crontab, read and written with ``crontab -l`` / ``crontab -``.

    Args:
        user: whose crontab (``crontab -u USER``; needs root); default: the caller's.
        crontab: the program (default ``crontab`` on PATH).
        cron_tz: the cron daemon reads ``CRON_TZ=`` lines (cronie does; Debian's
            cron does not, so the default refuses zones other than the host's).
        system_zone: the host zone cron reads times in (default: detected).
        runner, python, env: see ``OSAdapter``.
    """

    name = "cron"

    def __init__(
        self,
        *,
        user: str | None = None,
        crontab: str = "crontab",
        cron_tz: bool = False,
        system_zone: object | None = None,
        runner: Runner | None = None,
        python: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(runner=runner, python=python, env=env)
        self.user = user
        self.crontab = crontab
        self.cron_tz = cron_tz
        self.system_zone = system_zone

    def _argv(self, *args: str) -> list[str]:
        return [self.crontab, *(["-u", self.user] if self.user else []), *args]

    def is_supported(self) -> bool:
        """Whether a ``crontab`` program is on PATH (or was given by path)."""
        return shutil.which(self.crontab) is not None or Path(self.crontab).is_file()

    def _check_schedule(self, schedule: Schedule) -> None:
        if isinstance(schedule, Cron) and not is_system_zone(schedule.tz, self.system_zone):  # type: ignore[arg-type]
            if not self.cron_tz:
                raise OSAdapterError(
                    f"{schedule.expr!r} is in {zone_name(schedule.tz)}, not the system zone, and Debian's "
                    "cron has no CRON_TZ=; use the system zone, or systemd timers"
                )
            if getattr(schedule.tz, "key", None) is None:
                raise OSAdapterError(f"CRON_TZ= needs an IANA zone name, not {zone_name(schedule.tz)}")
        cron_line_for(schedule, Command(["x"], {}))

    # -- reading and writing the crontab -------------------------------------
    def read(self) -> str:
        """The crontab's text ("" when the user has none)."""
        code, out, err = self.runner(self._argv("-l"), None)
        if code == 0:
            return out
        if "no crontab for" in err.lower():
            return ""
        raise OSAdapterError(f"cron: {' '.join(self._argv('-l'))} failed: {(err or out).strip()}")

    def write(self, text: str) -> None:
        """Replace the crontab with ``text`` (the program installs it atomically)."""
        self.run(self._argv("-"), text)

    @staticmethod
    def _split(text: str) -> list[str]:
        return text.splitlines(keepends=True)

    def _find(self, lines: list[str]) -> dict[str, tuple[int, int, dict[str, object]]]:
        """Task name -> (first line index, line count, marker) of our entries."""
        found: dict[str, tuple[int, int, dict[str, object]]] = {}
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith(MARKER_PREFIX):
                data = self.parse_marker(line[len(MARKER_PREFIX) :].strip())
                if data is not None:
                    count = 1
                    while i + count < len(lines) and lines[i + count].startswith("CRON_TZ=") and count < 2:
                        count += 1
                    count += 1 if i + count < len(lines) else 0
                    found[str(data["task"])] = (i, count, data)
                    i += count
                    continue
            i += 1
        return found

    def _legacy(self, lines: list[str]) -> dict[int, SeedCronLine]:
        """Line index -> the original AutoCron's entry on it (never one of our own lines)."""
        ours = {i for start, count, _ in self._find(lines).values() for i in range(start, start + count)}
        found = {}
        for i, line in enumerate(lines):
            if i not in ours and (seed := parse_seed_cron_line(line)) is not None:
                found[i] = seed
        return found

    def _legacy_for(self, lines: list[str], name: str) -> set[int]:
        """Indexes of the original's lines written for task ``name`` (1.0-1.2 and 1.3 may both be there)."""
        return {i for i, seed in self._legacy(lines).items() if seed.belongs_to(name)}

    def _install(self, task: Task, command: Command) -> InstalledEntry:
        block = [MARKER_PREFIX + self.marker(task.name, task.schedule) + "\n"]
        schedule = task.schedule
        if isinstance(schedule, Cron) and self.cron_tz and not is_system_zone(schedule.tz, self.system_zone):  # type: ignore[arg-type]
            block.append(f"CRON_TZ={zone_name(schedule.tz)}\n")
        line = cron_line_for(schedule, command)
        block.append(line + "\n")
        lines = self._split(self.read())
        existing = self._find(lines).get(task.name)
        # The original's line for this task goes in the same write, so it never runs beside ours.
        drop = self._legacy_for(lines, task.name)
        if existing is not None:
            start, count, _ = existing
            drop.update(range(start + 1, start + count))
            lines[start] = "".join(block)
            drop.discard(start)
        lines = [text for i, text in enumerate(lines) if i not in drop]
        if existing is None:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"  # a crontab's last entry must end with a newline
            lines += block
        self.write("".join(lines))
        return InstalledEntry(
            task.name,
            _when(line),
            f"crontab of {self.user or 'the current user'}",
            mask_secrets({"line": line, "command": command.argv}),
        )

    def remove(self, name: str) -> bool:
        """Delete the task's lines from the crontab; whether there were any.

        Also deletes the line the original AutoCron wrote for ``name``, and nothing else.
        """
        lines = self._split(self.read())
        drop = self._legacy_for(lines, name)
        existing = self._find(lines).get(name)
        if existing is not None:
            start, count, _ = existing
            drop.update(range(start, start + count))
        if not drop:
            return False
        self.write("".join(text for i, text in enumerate(lines) if i not in drop))
        self.forget(name)
        logger.info("removed task %r from the crontab", name)
        return True

    def list(self) -> list[InstalledEntry]:
        """The entries AutoCron installed, with their cron schedule.

        Lines the original AutoCron wrote follow, with ``legacy=True`` and the
        name as its line holds it.
        """
        lines = self._split(self.read())
        entries: list[InstalledEntry] = []
        for name, (start, count, data) in self._find(lines).items():
            line = lines[start + count - 1].rstrip("\n")
            schedule = _when(line)
            tz = lines[start + 1].strip()[8:] if count == 3 else None
            try:
                argv = shlex.split(debian_cron_unescape(line[len(schedule) :])[0])
            except ValueError:  # a hand-edited line: listed all the same, never a failure for all
                argv = []
            details = mask_secrets({"line": line, "source": data.get("schedule"), "command": argv})
            if tz:
                details["timezone"] = tz
            entries.append(
                InstalledEntry(name, schedule, f"crontab of {self.user or 'the current user'}", details)
            )
        for i, seed in self._legacy(lines).items():
            details = mask_secrets(
                {
                    "line": lines[i].rstrip("\n"),
                    "command": list(seed.argv),
                    "origin": LEGACY_ORIGIN,
                    "release": seed.release,
                }
            )
            where = f"crontab of {self.user or 'the current user'}"
            entries.append(InstalledEntry(seed.name, seed.when, where, details, legacy=True))
        return entries


#: The name the original AutoCron used for the cron adapter.
UnixAdapter = CronAdapter
