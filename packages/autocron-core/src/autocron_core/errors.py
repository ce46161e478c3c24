"""The one error hierarchy of AutoCron.

Every error mixes in the builtin with the same meaning, so callers that already
catch ``ValueError`` or ``LookupError`` keep working. Constructors take the
structured values (field, value, expected) and keep them as attributes, so a
program can react to an error without parsing its message.

Below the root, two branches keep the original AutoCron's two names (and their
meaning): ``SchedulingError`` is everything that stops a task from being
added, run, removed, saved or loaded (bad input, a missing plugin, a store or
OS scheduler that refuses), and ``TaskExecutionError`` is a run that failed
(a timeout, a command's non-zero exit). ``TimeParseError``, the original's
error for bad intervals, cron expressions and time zones, is the base of
``ScheduleError``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any


__all__ = [
    "AutoCronError",
    "CommandFailedError",
    "ConfigError",
    "ConfigFileNotFoundError",
    "NotificationError",
    "OSAdapterError",
    "PluginNotFoundError",
    "ScheduleError",
    "SchedulingError",
    "StoreError",
    "TaskError",
    "TaskExecutionError",
    "TaskTimeoutError",
    "TimeParseError",
]


class AutoCronError(Exception):
    """Root of every error AutoCron raises on purpose."""


class SchedulingError(AutoCronError):
    """A task could not be added, run, removed, saved or loaded.

    The original AutoCron's name for every failure of ``add_task``,
    ``run_task`` and ``remove_task``: catching it still catches them all.
    """


class TimeParseError(SchedulingError, ValueError):
    """An interval, cron expression, time or time zone could not be read (the original's name)."""


class TaskExecutionError(AutoCronError):
    """A run failed in a way AutoCron itself detected (a timeout, a command's exit code).

    The original AutoCron's name; an exception raised by a task's own function
    reaches ``on_failure`` as it was raised, not wrapped in this.
    """


class _FieldError(SchedulingError):
    """An error about one input field: names the field, the value and what was expected."""

    def __init__(self, field: str, value: Any, expected: str, *, detail: str | None = None) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.detail = detail
        message = f"{field}={value!r}: expected {expected}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class ScheduleError(_FieldError, TimeParseError):
    """A schedule (interval, cron expression, time, time zone) is not valid."""


class TaskError(_FieldError, ValueError):
    """A task definition is not valid, or names a task that does not exist."""


class TaskTimeoutError(TaskExecutionError, TimeoutError):
    """A run took longer than its task's ``timeout``."""

    def __init__(self, task: str, timeout: float) -> None:
        self.task = task
        self.timeout = timeout
        super().__init__(f"task {task!r} timed out after {timeout:g}s")


class CommandFailedError(TaskExecutionError, RuntimeError):
    """A script or command exited with a non-zero code; carries its output tail."""

    def __init__(self, program: str, returncode: int, output: str) -> None:
        self.program = program
        self.returncode = returncode
        self.output = output
        super().__init__(f"{program} exited with code {returncode}")


class ConfigError(SchedulingError, ValueError):
    """A configuration file or mapping is not valid; says where when it knows."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        elif line:
            where = f"line {line}: "
        super().__init__(f"{where}{message}")


class ConfigFileNotFoundError(ConfigError, FileNotFoundError):
    """The configuration file does not exist: also a ``FileNotFoundError``, which
    code written for the original AutoCron catches around ``from_config``."""


class StoreError(SchedulingError, OSError):
    """A store could not read or write; says which store and why."""


class PluginNotFoundError(SchedulingError, LookupError):
    """No installed package provides the plugin name that was asked for."""

    def __init__(self, group: str, name: str, installed: list[str], package: str | None) -> None:
        self.group = group
        self.name = name
        self.installed = installed
        self.package = package
        have = ", ".join(installed) if installed else "none"
        hint = f"; install it with: pip install {package}" if package else ""
        super().__init__(f"no {group} plugin named {name!r} is installed (installed: {have}){hint}")


class OSAdapterError(SchedulingError, RuntimeError):
    """The operating system's scheduler refused or cannot express a task."""


class NotificationError(SchedulingError, RuntimeError):
    """A notification could not be delivered or is misconfigured."""
