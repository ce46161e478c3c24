"""Dynamic schedules: a task's schedule changed while the scheduler runs.

``AutoCron.reschedule(name, every=/cron=/at=/timezone=/exclude=/business_days=)``
and a function returning ``Reschedule(...)`` both come here. What a change keeps:
the task's history, counts and state, and any run in flight (it finishes and is
recorded as usual). What it changes: the schedule, and the next fire, which is
the new schedule's first occurrence after now.

Rules for the arguments:

- ``every``/``cron``/``at``: at most one; the new schedule. Without one, the
  current schedule stays (a cron expression is read again in a new ``timezone``).
- ``timezone``: the task's new zone (cron fields, exclusions, naive times).
- ``exclude``/``business_days``: when either is given, they *replace* the
  exclusion calendar (``exclude=[]`` removes it); when both are left out
  (``None``), the calendar stays.
"""

from __future__ import annotations

import datetime as _dt

from .errors import ScheduleError
from .exclusions import Excluding, ExclusionCalendar, parse_exclusions
from .schedules import At, Interval, Schedule, from_utc_us, parse_schedule
from .timezones import resolve_timezone

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from .task import Task

__all__ = ["SCHEDULE_KEYS", "Reschedule", "apply_returned", "new_schedule", "only_schedule_differs"]
#: The keys of a task definition that a reschedule may change.
SCHEDULE_KEYS = frozenset({"every", "cron", "at", "timezone", "exclude", "anchor", "cron_seconds"})


class Reschedule:
    """Return this from a task's function to change its schedule from its next run on.

    ``return Reschedule(every="10m")``: the run is recorded succeeded and the
    task fires every ten minutes from now. Values are checked when the run
    ends; a bad one records the run ``failed`` with the error, and the old
    schedule stays. Arguments as ``AutoCron.reschedule``.
    """

    __slots__ = ("at", "business_days", "cron", "every", "exclude", "timezone")

    def __init__(
        self,
        *,
        every: Any = None,
        cron: Any = None,
        at: Any = None,
        timezone: Any = None,
        exclude: Any = None,
        business_days: Any = None,
    ) -> None:
        self.every = every
        self.cron = cron
        self.at = at
        self.timezone = timezone
        self.exclude = exclude
        self.business_days = business_days

    def changes(self) -> dict[str, Any]:
        """The arguments given, as ``reschedule`` keywords."""
        names = ("every", "cron", "at", "timezone", "exclude", "business_days")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reschedule) and other.changes() == self.changes()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        inside = ", ".join(f"{name}={value!r}" for name, value in self.changes().items())
        return f"Reschedule({inside})"


def new_schedule(
    task: Task,
    now_us: int,
    *,
    every: Any = None,
    cron: Any = None,
    at: Any = None,
    timezone: Any = None,
    exclude: Any = None,
    business_days: Any = None,
) -> tuple[Schedule, _dt.tzinfo]:
    """The schedule and zone ``task`` gets; the task itself is left untouched.

    A new interval counts from ``now_us``.

    Raises:
        ScheduleError: nothing to change, two schedules, an invalid value, or a
            schedule that would never fire again after now.
    """
    changing_calendar = exclude is not None or business_days is not None
    if every is None and cron is None and at is None and timezone is None and not changing_calendar:
        raise ScheduleError(
            "reschedule", "nothing", "at least one of every=, cron=, at=, timezone=, exclude=, business_days="
        )
    tz = task.timezone if timezone is None else resolve_timezone(timezone)
    current = task.schedule
    calendar: ExclusionCalendar | None = current.calendar if isinstance(current, Excluding) else None
    inner = current.inner if isinstance(current, Excluding) else current
    if every is not None or cron is not None or at is not None:
        inner = parse_schedule(every=every, cron=cron, at=at, timezone=tz)
        if isinstance(inner, Interval) and inner.anchor is None:
            inner = inner.anchored_us(now_us)
    elif timezone is not None and inner.kind == "cron":
        from .cron import Cron

        if isinstance(inner, Cron):
            inner = Cron(inner.expr, tz, seconds=inner.seconds)
    if changing_calendar:
        calendar = parse_exclusions(exclude, business_days=False if business_days is None else business_days)
    schedule: Schedule = inner if calendar is None else Excluding(inner, calendar, tz)
    if schedule.next_after(from_utc_us(max(now_us, _start_us(task)))) is None:
        field = "at" if isinstance(inner, At) else "exclude" if calendar is not None else "schedule"
        raise ScheduleError(field, schedule.describe(), "a schedule that fires again after now")
    return schedule, tz


def _start_us(task: Task) -> int:
    from .schedules import to_utc_us

    return 0 if task.start_at is None else to_utc_us(task.start_at) - 1


def only_schedule_differs(fresh: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether two task definitions differ in their schedule keys alone (a reschedule elsewhere)."""
    return {k: v for k, v in fresh.items() if k not in SCHEDULE_KEYS} == {
        k: v for k, v in current.items() if k not in SCHEDULE_KEYS
    }


def apply_returned(scheduler: Any, task: Task, wanted: Reschedule) -> str | None:
    """Apply a ``Reschedule`` a run of ``task`` returned; the error text when it is refused.

    The old schedule stays when it is refused (the run is then recorded failed).
    """
    if scheduler.get_task(name=task.name) is not task:  # removed or replaced meanwhile
        return None
    try:
        scheduler.reschedule(task.name, **wanted.changes())
    except (TypeError, ValueError, ArithmeticError) as exc:  # ScheduleError and TaskError are ValueErrors
        return f"{type(exc).__name__}: returned {wanted!r}: {exc}"
    return None
