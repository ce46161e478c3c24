"""``SystemdAdapter``: a ``.service`` and ``.timer`` pair per task, as user units.

Files go to ``$XDG_CONFIG_HOME/systemd/user`` (``~/.config/systemd/user``) as
``autocron-<id>.service`` / ``.timer`` and are enabled with
``systemctl --user enable --now``. Cron expressions become ``OnCalendar=``
lines (one per alternative of the day rule, since systemd ANDs weekday and day
of month where Vixie cron ORs them), intervals become ``OnUnitActiveSec=``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil
from pathlib import Path

from autocron_core.cron import Cron
from autocron_core.errors import OSAdapterError
from autocron_core.protocols import InstalledEntry
from autocron_core.schedules import At, Interval, Schedule
from autocron_core.task import Task
from autocron_core.timezones import UTC, zone_name

from ._calendar import day_terms, dst_conflict, spec_of
from .base import Command, OSAdapter, Runner, atomic_write

__all__ = ["SystemdAdapter", "on_calendar", "systemd_quote"]

logger = logging.getLogger("autocron.os.systemd")

PREFIX = "autocron-"
_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MARK = "# autocron: "


def _values(values: object, low: int, high: int, names: tuple[str, ...] | None = None) -> str:
    """A systemd calendar component: ``*``, or a list with ``a..b`` for runs."""
    items = sorted(values)  # type: ignore[call-overload]
    if items == list(range(low, high + 1)):
        return "*"

    def show(v: int) -> str:
        return names[v] if names else f"{v:02d}"

    out = []
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1] == items[j] + 1:
            j += 1
        if j - i >= 2:
            out.append(f"{show(items[i])}..{show(items[j])}")
        else:
            out.extend(show(v) for v in items[i : j + 1])
        i = j + 1
    return ",".join(out)


def _zone(tz: _dt.tzinfo) -> str:
    key = getattr(tz, "key", None)
    if tz is UTC or key in ("UTC", "Etc/UTC"):
        return "UTC"
    if not isinstance(key, str):
        raise OSAdapterError(f"systemd needs an IANA time zone name, not the fixed offset {zone_name(tz)}")
    return key


def on_calendar(cron: Cron, *, check_dst: bool = True) -> list[str]:
    """The ``OnCalendar=`` values whose union fires exactly when ``cron`` does.

    Raises:
        OSAdapterError: the expression cannot be expressed (see ``day_terms``),
            or it fires at a DST change that systemd handles differently.
    """
    spec = spec_of(cron)
    zone = _zone(cron.tz)
    conflict = dst_conflict(cron, "systemd", skips_rest_of_hour=True) if check_dst else None
    if conflict:
        raise OSAdapterError(conflict)
    months = _values(spec.months, 1, 12)
    clock = f"{_values(spec.hours, 0, 23)}:{_values(spec.minutes, 0, 59)}:{_values(spec.seconds, 0, 59)}"
    lines = []
    for term in day_terms(cron):
        weekdays = "" if term.weekdays is None else _values(term.weekdays, 0, 6, _WEEKDAYS) + " "
        if term.last:
            date = f"*-{months}~01"
        else:
            date = f"*-{months}-{'*' if term.days is None else _values(term.days, 1, 31)}"
        lines.append(f"{weekdays}{date} {clock} {zone}")
    return lines


def systemd_quote(arg: str, *, exec_line: bool = True) -> str:
    """One argument as systemd reads it back exactly (systemd.syntax(7), systemd.service(5)).

    Double quotes with C escapes; ``%`` doubled (specifiers) and, on ``Exec``
    lines, ``$`` doubled (variable expansion).
    """
    text = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if exec_line:
        text = text.replace("$", "$$")
    return f'"{text}"'


def _seconds(value: float) -> str:
    return f"{int(value)}s"


class SystemdAdapter(OSAdapter):
    """Installs tasks as systemd user timers.

    Args:
        unit_dir: where unit files go (default ``$XDG_CONFIG_HOME/systemd/user``).
        systemctl: the ``systemctl`` program.
        runner, python, env, dst_tolerant: see ``OSAdapter``.
    """

    name = "systemd"

    def __init__(
        self,
        *,
        unit_dir: str | os.PathLike[str] | None = None,
        systemctl: str = "systemctl",
        runner: Runner | None = None,
        python: str | None = None,
        env: dict[str, str] | None = None,
        dst_tolerant: bool = False,
    ) -> None:
        super().__init__(runner=runner, python=python, env=env, dst_tolerant=dst_tolerant)
        if unit_dir is None:
            base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
            unit_dir = Path(base) / "systemd" / "user"
        self.unit_dir = Path(unit_dir)
        self.systemctl = systemctl

    def is_supported(self) -> bool:
        """Whether ``systemctl`` exists and a user systemd instance is running."""
        if shutil.which(self.systemctl) is None:
            return False
        return user_instance_running(self.runner, self.systemctl)

    def _check_schedule(self, schedule: Schedule) -> None:
        if isinstance(schedule, Cron):
            on_calendar(schedule, check_dst=not self.dst_tolerant)
        elif isinstance(schedule, Interval) and schedule.seconds < 1:
            raise OSAdapterError("systemd timers fire at most once a second")

    def _unit(self, name: str) -> str:
        return PREFIX + self.entry_id(name)

    def render(self, task: Task, command: Command) -> tuple[str, str]:
        """The ``.service`` and ``.timer`` texts for a task."""
        unit = self._unit(task.name)
        mark = _MARK + self.marker(task.name, task.schedule) + "\n"
        service = [
            mark,
            "[Unit]\n",
            f"Description=AutoCron task {unit[len(PREFIX) :]}\n",
            "\n",
            "[Service]\n",
            "Type=oneshot\n",
        ]
        for key, value in command.env.items():
            service.append(f"Environment={systemd_quote(f'{key}={value}', exec_line=False)}\n")
        service.append("ExecStart=" + " ".join(systemd_quote(a) for a in command.argv) + "\n")
        timer = [
            mark,
            "[Unit]\n",
            f"Description=Timer for AutoCron task {unit[len(PREFIX) :]}\n",
            "\n",
            "[Timer]\n",
        ]
        schedule = task.schedule
        if isinstance(schedule, Cron):
            timer += [
                f"OnCalendar={line}\n" for line in on_calendar(schedule, check_dst=not self.dst_tolerant)
            ]
            timer.append("Persistent=true\n")
        elif isinstance(schedule, Interval):
            every = _seconds(schedule.seconds)
            timer += [f"OnActiveSec={every}\n", f"OnUnitActiveSec={every}\n", f"OnBootSec={every}\n"]
        elif isinstance(schedule, At):
            when = schedule.when.astimezone(UTC)
            timer += [f"OnCalendar={when:%Y-%m-%d %H:%M:%S} UTC\n", "Persistent=true\n"]
        timer += [
            "AccuracySec=1s\n",
            f"Unit={unit}.service\n",
            "\n",
            "[Install]\n",
            "WantedBy=timers.target\n",
        ]
        return "".join(service), "".join(timer)

    def _owner(self, path: Path) -> str | None:
        """The task named in a unit file's marker, or ``None`` (not ours, or unreadable)."""
        try:
            with path.open(encoding="utf-8") as handle:
                first = handle.readline()
        except (OSError, ValueError):
            return None
        if not first.startswith(_MARK):
            return None
        data = self.parse_marker(first[len(_MARK) :].strip())
        return None if data is None else str(data["task"])

    def _find_unit(self, name: str) -> str | None:
        """The unit installed for task ``name`` (by its marker), or ``None``.

        Looked up by marker, not by id alone, so removing one task never
        deletes another's units, and units written under an older id rule
        are still found.
        """
        unit = self._unit(name)
        if self._owner(self.unit_dir / f"{unit}.timer") == name:
            return unit
        if self.unit_dir.is_dir():
            for path in sorted(self.unit_dir.glob(f"{PREFIX}*.timer")):
                if self._owner(path) == name:
                    return path.stem
        return None

    def _install(self, task: Task, command: Command) -> InstalledEntry:
        if not os.path.isabs(command.argv[0]):
            raise OSAdapterError(f"systemd needs an absolute interpreter path, not {command.argv[0]!r}")
        service, timer = self.render(task, command)
        unit = self._unit(task.name)
        for suffix in (".timer", ".service"):
            path = self.unit_dir / f"{unit}{suffix}"
            owner = self._owner(path)
            if path.exists() and owner != task.name:
                raise OSAdapterError(
                    f"systemd: {path} exists and does not belong to task {task.name!r}; it is left alone"
                )
        older = self._find_unit(task.name)
        if older is not None and older != unit:
            self._drop_unit(older)  # an entry under an older id rule must not fire beside the new one
        atomic_write(self.unit_dir / f"{unit}.service", service.encode("utf-8"))
        atomic_write(self.unit_dir / f"{unit}.timer", timer.encode("utf-8"))
        self.run([self.systemctl, "--user", "daemon-reload"])
        self.run([self.systemctl, "--user", "enable", "--now", f"{unit}.timer"])
        return InstalledEntry(
            task.name,
            _timer_schedule(timer),
            str(self.unit_dir / f"{unit}.timer"),
            {"command": command.argv, "unit": unit},
        )

    def remove(self, name: str) -> bool:
        """Stop and disable the timer, delete both units, reload; whether they existed."""
        unit = self._find_unit(name)
        if unit is None:
            return False
        self._drop_unit(unit)
        self.forget(name)
        return True

    def _drop_unit(self, unit: str) -> None:
        # "disable" of a unit systemd never loaded exits non-zero; the files still go.
        self.run([self.systemctl, "--user", "disable", "--now", f"{unit}.timer"], ok=(0, 1, 5))
        for suffix in (".timer", ".service"):
            (self.unit_dir / f"{unit}{suffix}").unlink(missing_ok=True)
        self.run([self.systemctl, "--user", "daemon-reload"])
        logger.info("removed systemd units %s", unit)

    def list(self) -> list[InstalledEntry]:
        """The timers AutoCron installed, with their ``OnCalendar=``/interval lines."""
        entries: list[InstalledEntry] = []
        if not self.unit_dir.is_dir():
            return entries
        for path in sorted(self.unit_dir.glob(f"{PREFIX}*.timer")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, ValueError):  # one unreadable file must not hide every other entry
                logger.warning("skipping unreadable timer %s", path)
                continue
            first = text.split("\n", 1)[0]
            if not first.startswith(_MARK):
                continue
            data = self.parse_marker(first[len(_MARK) :])
            if data is None:
                continue
            entries.append(
                InstalledEntry(
                    str(data["task"]),
                    _timer_schedule(text),
                    str(path),
                    {"source": data.get("schedule"), "unit": path.stem},
                )
            )
        return entries


def _timer_schedule(timer: str) -> str:
    keys = ("OnCalendar=", "OnUnitActiveSec=")
    return "; ".join(line for line in timer.splitlines() if line.startswith(keys))


def user_instance_running(runner: Runner, systemctl: str = "systemctl") -> bool:
    """Whether a systemd user instance serves this user (its socket, or ``is-system-running``)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime, "systemd", "private").exists():
        return True
    _code, out, _ = runner([systemctl, "--user", "is-system-running"], None)
    return out.strip() in ("running", "degraded", "starting")
