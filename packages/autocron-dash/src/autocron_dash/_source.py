"""Where the dashboard reads from: a running scheduler, or a store on its own."""

from __future__ import annotations

import logging
import os
from typing import Any

from autocron_core import Task

__all__ = ["Source", "as_source"]

logger = logging.getLogger("autocron.dash.source")


class Source:
    """A store plus, when known, the scheduler that owns it.

    With a scheduler, task definitions and their live state (next run, paused)
    come from ``scheduler.list_tasks()``; with a store alone they come from
    ``store.load_tasks()``, which holds the state the scheduler last saved.

    Attributes:
        store: the ``Store`` to read history and aggregates from.
        scheduler: the ``AutoCron`` scheduler, or ``None``.
    """

    __slots__ = ("scheduler", "store")

    def __init__(self, store: Any, scheduler: Any = None) -> None:
        self.store = store
        self.scheduler = scheduler

    def tasks(self) -> list[Task]:
        """Task definitions in the order their owner lists them; empty when none can be read."""
        if self.scheduler is not None:
            return list(self.scheduler.list_tasks())
        loader = getattr(self.store, "load_tasks", None)
        if loader is None:
            return []
        try:
            return list(loader())
        except Exception:
            # Definitions are a nicety here: history alone still makes a dashboard.
            logger.exception("could not load task definitions from %r; showing history only", self.store)
            return []

    @property
    def max_workers(self) -> int | None:
        """The scheduler's worker count, when the scheduler exposes it."""
        value = getattr(self.scheduler, "max_workers", None)
        return value if isinstance(value, int) else None


def as_source(source: Any) -> Source:
    """Wrap a scheduler, a store, a ``Source``, a store URL or database path, or ``None``.

    ``None`` means the scheduler ``@schedule`` made in this process when there is
    one (the original AutoCron's dashboard showed the runs of the tasks just
    run), else the default database.

    Raises:
        TypeError: ``source`` is neither a scheduler nor a store.
    """
    if isinstance(source, Source):
        return source
    if source is None:
        from autocron_core.decorator import current_global_scheduler

        scheduler = current_global_scheduler()
        if scheduler is not None:
            return Source(scheduler.store, scheduler)
        from autocron_core.env import default_store_url

        source = default_store_url()
    if isinstance(source, (str, os.PathLike)):  # a URL, or a path as the original's database_path=
        from autocron_core.registry import open_store

        return Source(open_store(os.fspath(source)))
    if hasattr(source, "list_tasks") and hasattr(source, "store"):
        return Source(source.store, source)
    if hasattr(source, "history"):
        return Source(source)
    raise TypeError(f"source={source!r}: expected an AutoCron scheduler or a Store")
