"""autocron-core: schedules, tasks, the scheduler, events, retries and the plugin registry.

Everything an embedded application needs, with no dependency beyond the
standard library (and tzdata on Windows).
"""

from __future__ import annotations

from .config import validate_config
from .cron import Cron, parse_cron
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
)
from .events import Event, EventKind
from .logs import configure_logging, get_logger
from .memory_store import MemoryStore
from .platform import get_platform_info, is_linux, is_macos, is_windows
from .policy import Policy
from .protocols import InstalledEntry, Notifier, OSScheduler, Store, Support, TaskStats
from .records import RunRecord, RunStatus
from .scheduler import AutoCron
from .schedules import At, Interval, Schedule, parse_interval
from .task import Task, build_task, sanitize_task_name


def __getattr__(name: str) -> str:
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
    "CommandFailedError",
    "ConfigError",
    "Cron",
    "Event",
    "EventKind",
    "InstalledEntry",
    "Interval",
    "MemoryStore",
    "NotificationError",
    "Notifier",
    "OSAdapterError",
    "OSScheduler",
    "PluginNotFoundError",
    "Policy",
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
