"""A task's flow options: ``after=`` upstream tasks, a ``when=`` condition, ``pause_after_failures=``.

They are validated here, once, where they enter (``build_task``), into a
``Flow`` value the engine trusts. A task without any of them has
``task.flow is None`` and pays nothing on its runs.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable

from .errors import TaskError
from .schedules import Schedule

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from .task import Task
else:
    from ._tuples import NamedTuple

__all__ = [
    "AFTER_POLICIES",
    "AfterUpstream",
    "ConditionContext",
    "Flow",
    "condition_label",
    "make_flow",
    "run_condition",
]

AFTER_POLICIES = ("all", "any")
#: The largest ``pause_after_failures``: more would never be reached in practice.
MAX_PAUSE_AFTER = 1_000_000


class Flow(NamedTuple):
    """A task's flow options (see the user guide: Dependencies, Conditions, Pause on failure).

    Attributes:
        after: names of the upstream tasks (empty: none).
        after_policy: ``all`` (every upstream succeeded since this task's last
            run) or ``any`` (one of them did).
        when: the condition, called at fire time, or ``None``.
        when_ref: ``"module:function"`` of the condition when it can be imported by name.
        when_takes_context: whether ``when`` is called with a ``ConditionContext``.
        pause_after_failures: consecutive failed runs that pause the task, or ``None``.
    """

    after: tuple[str, ...] = ()
    after_policy: str = "all"
    when: Callable[..., Any] | None = None
    when_ref: str | None = None
    when_takes_context: bool = False
    pause_after_failures: int | None = None

    def to_config(self, task_name: str) -> dict[str, Any]:
        """The ``add_task`` keys that recreate these options.

        Raises:
            TaskError: a condition that cannot be imported back by name (a lambda,
                a closure, a function in ``__main__``) cannot be persisted.
        """
        data: dict[str, Any] = {}
        if self.after:
            data["after"] = list(self.after)
            if self.after_policy != "all":
                data["after_policy"] = self.after_policy
        if self.when is not None:
            if self.when_ref is None:
                raise TaskError(
                    "when",
                    self.when,
                    f'a module-level function importable as "module:function" to save task {task_name!r} '
                    "(not a lambda, a closure or a function in __main__)",
                )
            data["when"] = self.when_ref
        if self.pause_after_failures is not None:
            data["pause_after_failures"] = self.pause_after_failures
        return data


class ConditionContext(NamedTuple):
    """What a ``when=`` condition is called with (when it takes one argument).

    Attributes:
        task_name: the task's name.
        scheduled_for: the occurrence about to run, in the task's time zone.
        attempt: 1 for the first try, k+1 for the k-th retry.
        trigger: ``schedule``, ``manual``, ``backfill`` or ``dependency``.
        now: the scheduler clock's time, in the task's time zone.
        task: the ``Task`` itself.
    """

    task_name: str
    scheduled_for: _dt.datetime
    attempt: int
    trigger: str
    now: _dt.datetime
    task: Task


class AfterUpstream(Schedule):
    """The schedule of a task that fires only after its upstream tasks: no time of its own."""

    __slots__ = ()
    kind = "after"

    def next_after(self, moment: _dt.datetime) -> _dt.datetime | None:
        """Never: the task is fired by its upstream tasks' outcomes."""
        return None

    def to_config(self) -> dict[str, Any]:
        """Nothing: the ``after`` key recreates it."""
        return {}

    def describe(self) -> str:
        """``after upstream tasks``."""
        return "after upstream tasks"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AfterUpstream)

    def __hash__(self) -> int:
        return hash("AfterUpstream")

    def __repr__(self) -> str:
        return "AfterUpstream()"


AFTER_UPSTREAM = AfterUpstream()


def _upstream_names(after: Any) -> tuple[str, ...]:
    from .task import name_problem

    names = (after,) if isinstance(after, str) else after
    if not isinstance(names, Iterable) or isinstance(names, (bytes, bytearray)):
        raise TaskError("after", after, "a task name or a list of task names")
    result: list[str] = []
    for name in names:
        if not isinstance(name, str) or not 1 <= len(name) <= 200 or name_problem(name) is not None:
            raise TaskError("after", after, "task names (1 to 200 characters, no control characters)")
        if name not in result:
            result.append(name)
    if not result:
        raise TaskError("after", after, "at least one task name")
    return tuple(result)


def _takes_context(func: Callable[..., Any]) -> bool:
    """Whether ``func`` wants an argument: it has a positional parameter without a default."""
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: call it with the context
        return True
    for parameter in signature.parameters.values():
        if parameter.kind in (
            parameter.POSITIONAL_ONLY,
            parameter.POSITIONAL_OR_KEYWORD,
            parameter.VAR_POSITIONAL,
        ):
            return parameter.kind is parameter.VAR_POSITIONAL or parameter.default is parameter.empty
    return False


def make_flow(
    after: Any = None,
    after_policy: Any = "all",
    when: Any = None,
    pause_after_failures: Any = None,
) -> Flow | None:
    """Validate the flow options; ``None`` when none is set.

    Raises:
        TaskError: naming the option, the value and what was expected.
    """
    upstream = () if after is None else _upstream_names(after)
    if after_policy not in AFTER_POLICIES:
        raise TaskError("after_policy", after_policy, "one of " + ", ".join(AFTER_POLICIES))
    if after_policy != "all" and not upstream:
        raise TaskError("after_policy", after_policy, "after= upstream tasks to apply to")
    condition: Callable[..., Any] | None = None
    ref: str | None = None
    if when is not None:
        from .task import func_reference, resolve_func

        if isinstance(when, str):
            ref, condition = when, resolve_func(when, field="when")
        elif callable(when):
            condition, ref = when, func_reference(when)
        else:
            raise TaskError(
                "when", when, 'a callable returning True or False, or a "module:function" reference'
            )
    limit = pause_after_failures
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAUSE_AFTER
    ):
        raise TaskError("pause_after_failures", limit, f"a whole number from 1 to {MAX_PAUSE_AFTER}, or None")
    if not upstream and condition is None and limit is None:
        return None
    return Flow(
        upstream,
        str(after_policy),
        condition,
        ref,
        condition is not None and _takes_context(condition),
        limit,
    )


def condition_label(flow: Flow) -> str:
    """The condition's name for messages: ``is_business_hours``."""
    when = flow.when
    return str(getattr(when, "__name__", None) or repr(when))


def run_condition(
    task: Task, scheduled_for: _dt.datetime, attempt: int, trigger: str, now: _dt.datetime
) -> str | None:
    """Evaluate the task's condition: ``None`` to run, or why the occurrence is skipped.

    Raises:
        Exception: whatever the condition raises (the run then fails with it).
    """
    flow = task.flow
    if flow is None or flow.when is None:
        return None
    if flow.when_takes_context:
        tz = task.timezone
        context = ConditionContext(
            task.name, scheduled_for.astimezone(tz), attempt, trigger, now.astimezone(tz), task
        )
        verdict = flow.when(context)
    else:
        verdict = flow.when()
    if verdict:
        return None
    return f"condition {condition_label(flow)!r} was false"
