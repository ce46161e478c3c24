"""``@schedule`` and the global scheduler it registers tasks on."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .scheduler import AutoCron, _take_positional

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "current_global_scheduler",
    "get_global_scheduler",
    "reset_global_scheduler",
    "schedule",
    "start_scheduler",
]

_lock = threading.Lock()
_scheduler: AutoCron | None = None


def get_global_scheduler(**options: Any) -> AutoCron:
    """The process-wide scheduler that ``@schedule`` uses; created on first use.

    Args:
        options: ``AutoCron`` arguments, used only when it is created now.
    """
    global _scheduler
    with _lock:
        if _scheduler is None:
            _scheduler = AutoCron(**options)
        return _scheduler


def current_global_scheduler() -> AutoCron | None:
    """The process-wide scheduler if ``@schedule`` or ``get_global_scheduler`` made
    one, else ``None`` (never creates it; the original's ``get_global_scheduler``
    answered this way)."""
    return _scheduler


def reset_global_scheduler() -> None:
    """Stop and forget the global scheduler (tests, or to start over)."""
    global _scheduler
    with _lock:
        current, _scheduler = _scheduler, None
    if current is not None:
        current.stop(wait=False)


#: ``@schedule``'s positional parameters after ``cron``, in the original AutoCron's order.
SEED_SCHEDULE_ORDER = (
    "retries", "retry_delay", "timeout", "notify", "email_config", "on_success", "on_failure",
)  # fmt: skip


def schedule(
    every: Any = None,
    cron: Any = None,
    *positional: Any,
    at: Any = None,
    name: str | None = None,
    **options: Any,
) -> Callable[[F], F]:
    """Register the decorated function on the global scheduler; it stays callable as before.

    Takes every ``add_task`` option::

        @schedule(every="5m", retries=3)
        def sync_inbox(): ...

    By position it takes the original AutoCron's order (``every, cron,
    retries, retry_delay, timeout, notify, email_config, on_success,
    on_failure``); ``at``, ``name`` and the rest are keywords.

    Raises:
        TaskError, ScheduleError: at decoration time, for an invalid option.
    """
    if positional:
        _take_positional(positional, SEED_SCHEDULE_ORDER, options)

    def register(func: F) -> F:
        get_global_scheduler().add_task(name=name, func=func, every=every, cron=cron, at=at, **options)
        return func

    return register


def start_scheduler(blocking: bool = True) -> AutoCron:
    """Start the global scheduler (blocking until stopped, by default) and return it."""
    scheduler = get_global_scheduler()
    scheduler.start(blocking=blocking)
    return scheduler
