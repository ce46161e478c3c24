"""How a task's ``on_success`` / ``on_failure`` callbacks want to be called.

The original AutoCron called ``on_success()`` with no argument and
``on_failure(exc)`` with the final exception, and its users' callbacks are
written that way. A callback that wants the run's ``Event`` instead says so in
its signature: its first parameter is named ``event`` or annotated ``Event``.
This is decided once, when the task is built, and a callback that could not be
called the way it will be is refused then (rather than called with the wrong
arguments at run time and the ``TypeError`` logged and lost).

``inspect`` costs about 30 ms to import, so this module is only imported when a
task has a callback.
"""

from __future__ import annotations

import inspect

from ._options import FAILURE_WANTS_EVENT, SUCCESS_WANTS_EVENT
from .errors import TaskError
from .events import Event

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["event_mask"]

_EXPECTED = {
    "on_success": "a callable taking no argument (or one parameter named event, or annotated Event, "
    "to receive the run's Event)",
    "on_failure": "a callable taking the final exception (or one parameter named event, or annotated "
    "Event, to receive the run's Event)",
}


def _declares_event(parameter: inspect.Parameter) -> bool:
    annotation = parameter.annotation
    if annotation is Event:
        return True
    if isinstance(annotation, str):  # postponed annotations: "Event", "autocron.Event", "Event | None"
        head = annotation.split("|")[0].strip()
        if head == "Event" or head.endswith(".Event"):
            return True
    return parameter.name == "event"


def _wants_event(field: str, callback: Callable[..., Any]) -> bool:
    """Whether ``callback`` declares that it wants the Event; refuse one that fits no convention."""
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):  # a builtin without a signature: call it the original way
        return False
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    wants = bool(positional) and _declares_event(positional[0])
    try:
        if wants or field == "on_failure":
            signature.bind(None)
        else:
            signature.bind()
    except TypeError as exc:
        raise TaskError(field, callback, _EXPECTED[field], detail=str(exc)) from None
    return wants


def event_mask(on_success: Callable[..., Any] | None, on_failure: Callable[..., Any] | None) -> int:
    """The ``callback_event`` bits for a task's callbacks.

    Raises:
        TaskError: a callback cannot be called with the arguments it would get.
    """
    mask = 0
    if on_success is not None and _wants_event("on_success", on_success):
        mask |= SUCCESS_WANTS_EVENT
    if on_failure is not None and _wants_event("on_failure", on_failure):
        mask |= FAILURE_WANTS_EVENT
    return mask
