"""autocron-core: schedules, tasks, the scheduler, events, retries and the plugin registry.

Everything an embedded application needs, with no dependency beyond the
standard library (and tzdata on Windows).
"""

from __future__ import annotations

from ._reschedule import Reschedule
from .decorator import get_global_scheduler, reset_global_scheduler, schedule, start_scheduler
from .errors import (
    AutoCronError,
    CommandFailedError,
    ConfigError,
    NotificationError,
    OSAdapterError,
    PluginNotFoundError,
    ScheduleError,
    SchedulingError,
    StoreError,
    TaskError,
    TaskExecutionError,
    TaskTimeoutError,
    TimeParseError,
)
from .events import Event, EventKind
from .policy import Policy
from .records import RunRecord, RunStatus
from .scheduler import AutoCron
from .schedules import At, Interval, Schedule, parse_interval
from .task import Task, build_task, sanitize_task_name

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)

if TYPE_CHECKING:  # what type checkers see of the lazily loaded names below
    from typing import Any

    from ._backfill import BackfillResult
    from ._flow import ConditionContext
    from .cron import Cron, parse_cron
    from .exclusions import Excluding

# Names whose modules load on first use: import time is a budget (40 ms above a
# bare interpreter), and an embedded app rarely needs these at start-up.
_LAZY = {
    "BackfillResult": "_backfill",  # issue 17: what backfill() returns
    "ConditionContext": "_flow",  # issue 17: what a when= condition is called with
    "Cron": "cron",  # loaded anyway by the first cron schedule parsed
    "Excluding": "exclusions",
    "parse_cron": "cron",
    "validate_config": "config",
    "configure_logging": "logs",
    "get_logger": "logs",
    "MemoryStore": "memory_store",
    "get_platform_info": "platform",
    "is_linux": "platform",
    "is_macos": "platform",
    "is_windows": "platform",
    "InstalledEntry": "protocols",
    "Notifier": "protocols",
    "OSScheduler": "protocols",
    "Store": "protocols",
    "Support": "protocols",
    "TaskStats": "protocols",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        from importlib import import_module

        value = getattr(import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
    # importlib.metadata costs ~15 ms to import: read the version only when asked.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("autocron-core")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            return "0+unknown"
    raise AttributeError(name)


__all__ = [
    "At",
    "AutoCron",
    "AutoCronError",
    "BackfillResult",
    "CommandFailedError",
    "ConditionContext",
    "ConfigError",
    "Cron",
    "Event",
    "EventKind",
    "Excluding",
    "InstalledEntry",
    "Interval",
    "MemoryStore",
    "NotificationError",
    "Notifier",
    "OSAdapterError",
    "OSScheduler",
    "PluginNotFoundError",
    "Policy",
    "Reschedule",
    "RunRecord",
    "RunStatus",
    "Schedule",
    "ScheduleError",
    "SchedulingError",
    "Store",
    "StoreError",
    "Support",
    "Task",
    "TaskError",
    "TaskExecutionError",
    "TaskStats",
    "TaskTimeoutError",
    "TimeParseError",
    "__version__",
    "build_task",
    "configure_logging",
    "get_global_scheduler",
    "get_logger",
    "get_platform_info",
    "is_linux",
    "is_macos",
    "is_windows",
    "parse_cron",
    "parse_interval",
    "reset_global_scheduler",
    "sanitize_task_name",
    "schedule",
    "start_scheduler",
    "validate_config",
]
