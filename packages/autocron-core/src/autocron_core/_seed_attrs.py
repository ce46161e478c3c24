"""The attribute names the original AutoCron's ``Task`` had, read from this one's.

Code written for the original reads ``task.schedule_type``, ``task.script``,
``task.retries`` and the like (its own examples print them). Here a task keeps
its target in ``kind``/``target`` and its policies in one shared ``Policy``, so
these are read-only views of them: setting one is an ``AttributeError``, since
a task's options change through ``add_task`` (or ``reschedule``), never by
assignment behind the scheduler's back.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from .policy import Policy
    from .schedules import Schedule

__all__ = ["SeedAttributes"]


class SeedAttributes:
    """Read-only views under the original AutoCron's ``Task`` attribute names."""

    __slots__ = ()

    if TYPE_CHECKING:
        kind: str
        target: Any
        schedule: Schedule
        policy: Policy
        paused: bool
        timezone: _dt.tzinfo

    @property
    def func(self) -> Callable[..., Any] | None:
        """The function a function task calls, else ``None``."""
        return self.target if self.kind == "func" else None

    @property
    def script(self) -> str | None:
        """The absolute path of a script task's file, else ``None``."""
        return self.target if self.kind == "script" else None

    @property
    def schedule_type(self) -> str:
        """``"interval"``, ``"cron"`` or ``"at"``: the key the schedule was given as."""
        return _schedule_item(self.schedule)[0]

    @property
    def schedule_value(self) -> str:
        """The schedule as given: ``"5m"``, ``"0 9 * * 1"`` or an ISO time."""
        return _schedule_item(self.schedule)[1]

    @property
    def interval_seconds(self) -> float | None:
        """An interval task's period in seconds, else ``None``."""
        return self.schedule.seconds if self.schedule_type == "interval" else None  # type: ignore[attr-defined]

    @property
    def tzinfo(self) -> _dt.tzinfo:
        """The task's zone (the original kept its name in ``timezone``; here that is the zone)."""
        return self.timezone

    @property
    def enabled(self) -> bool:
        """Whether the task fires: not paused."""
        return not self.paused

    @property
    def retries(self) -> int:
        """Extra attempts after a failed one."""
        return self.policy.retries

    @property
    def retry_delay(self) -> float:
        """Seconds before the first retry."""
        return self.policy.retry_delay

    @property
    def timeout(self) -> float | None:
        """Seconds a run may take, or ``None``."""
        return self.policy.timeout

    @property
    def overlap_policy(self) -> str:
        """``skip``, ``allow`` or ``queue``."""
        return self.policy.overlap_policy

    @property
    def max_instances(self) -> int:
        """Concurrent runs allowed by ``allow`` and ``queue``."""
        return self.policy.max_instances

    @property
    def misfire_grace_time(self) -> float | None:
        """Seconds late an occurrence may still start, or ``None`` for however late."""
        return self.policy.misfire_grace_time

    @property
    def coalesce(self) -> bool:
        """Whether a backlog of missed occurrences runs once."""
        return self.policy.coalesce


_KEYS = {"every": "interval", "cron": "cron", "at": "at"}


def _schedule_item(schedule: Schedule) -> tuple[str, str]:
    for key, value in schedule.to_config().items():
        if key in _KEYS:
            return _KEYS[key], str(value)
    return type(schedule).__name__.lower(), schedule.describe()
