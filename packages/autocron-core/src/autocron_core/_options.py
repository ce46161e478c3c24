"""A task's rarely-changed options, in a module of their own."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from ._tuples import NamedTuple


__all__ = ["FAILURE_WANTS_EVENT", "SUCCESS_WANTS_EVENT", "TaskOptions"]

#: Bits of ``TaskOptions.callback_event``: which callbacks receive the run's Event.
SUCCESS_WANTS_EVENT = 1
FAILURE_WANTS_EVENT = 2


class TaskOptions(NamedTuple):
    """A task's rarely-changed options, kept together so that tasks with the
    defaults share one value (a hundred thousand tasks cost one of these)."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] | None = None
    func_ref: str | None = None
    start_at: _dt.datetime | None = None
    end_at: _dt.datetime | None = None
    tags: tuple[str, ...] = ()
    notify: tuple[Any, ...] = ()
    notify_on: frozenset[str] = frozenset({"failure", "recovery"})
    email_config: Mapping[str, Any] | None = None
    on_success: Callable[..., Any] | None = None
    on_failure: Callable[..., Any] | None = None
    #: Which callbacks receive the run's Event instead of the original's arguments
    #: (bits ``SUCCESS_WANTS_EVENT`` / ``FAILURE_WANTS_EVENT``, decided by ``_callbacks``).
    callback_event: int = 0
    # The original AutoCron's isolation and resource options (see _limits and _isolation).
    safe_mode: bool = False
    max_memory_mb: int | None = None
    clean_env: bool = False
    max_output_bytes: int | None = None
    max_cpu_percent: float | None = None
