"""Handing a task to an OS scheduler together with the store its entry must open.

An OS entry runs ``autocron run -- NAME`` in a new process, which finds the
task only in the store this scheduler saved it to. So the adapter is told
that store; an in-memory store, which no other process can open, is refused.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from .errors import OSAdapterError

if TYPE_CHECKING:
    from .protocols import InstalledEntry
    from .task import Task

__all__ = ["install_in_os", "store_reference"]


def store_reference(given: Any, store: Any) -> str | None:
    """The URL or path another process opens ``store`` with, or ``None`` when unknown.

    Args:
        given: what ``AutoCron(store=...)`` was given (a URL, a path or an object).
        store: the opened store.
    """
    if isinstance(given, str):
        return given
    path = getattr(store, "path", None)  # the YAML/JSON file store
    if isinstance(path, str):
        return path
    url = getattr(store, "url", None)  # the SQL store keeps SQLAlchemy's URL
    render = getattr(url, "render_as_string", None)
    if callable(render):
        text = str(render(hide_password=False))
        prefix = getattr(store, "prefix", "")
        if prefix:
            text += ("&" if "?" in text else "?") + f"prefix={prefix}"
        return text
    return None


def _takes_store(adapter: Any) -> bool:
    try:
        return "store" in inspect.signature(adapter.install).parameters
    except (TypeError, ValueError):
        return False


def install_in_os(adapter: Any, task: Task, given: Any, store: Any) -> InstalledEntry:
    """Install ``task`` with ``adapter``, telling it the store the entry must open.

    Adapters written before ``install(task, *, store=None)`` existed are called
    with the task alone (their entries then use the default database).

    Raises:
        OSAdapterError: the store is in memory (no other process can reach
            it), or the adapter refused the task.
    """
    if not getattr(store, "persistent", False):
        raise OSAdapterError(
            f"use_os_scheduler: task {task.name!r} would be run by a new process, which cannot see this "
            "scheduler's in-memory store; give AutoCron a database it can open, e.g. "
            "AutoCron(use_os_scheduler=True, store='sqlite:////home/me/autocron.db')"
        )
    url = store_reference(given, store)
    if url is not None and _takes_store(adapter):
        entry: InstalledEntry = adapter.install(task, store=url)
    else:
        entry = adapter.install(task)
    return entry
