"""A task's rarely-changed options, in a module of their own.

No ``from __future__ import annotations`` here (nor in records, events and
policy): ``typing.NamedTuple`` turns annotations given as text into
``ForwardRef`` objects, compiling each one, which cost about 3 ms per class at
``import autocron_core`` (measured with ``-X importtime``).
"""

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["TaskOptions"]


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
