"""``AutoCron.save_tasks`` and ``load_tasks``: a scheduler's tasks to and from a
YAML or JSON task file, as the original AutoCron kept them in
``~/.autocron/tasks.yaml``.

Saving writes what can be written and names what cannot; loading keeps the
tasks a scheduler already has unless told to replace them. The file itself is
read and written by autocron-store's file store.
"""

from __future__ import annotations

import os

from ._lazylog import LazyLogger
from .errors import TaskError
from .registry import open_store

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from .scheduler import AutoCron
    from .task import Task

__all__ = ["load_tasks", "save_tasks"]

logger = LazyLogger("autocron.scheduler")


def save_tasks(scheduler: AutoCron, path: str | os.PathLike[str] | None) -> str:
    """See ``AutoCron.save_tasks``."""
    target = _file_url(path)
    tasks, skipped = [], []
    for task in scheduler.list_tasks():
        reason = _unwritable(task)
        if reason is None:
            tasks.append(task)
        else:
            skipped.append(f"{task.name!r} ({reason})")
    if skipped:
        _warn_user(
            f"save_tasks: {len(skipped)} task(s) cannot be written to a file and were left "
            f"out of {target}: {', '.join(skipped)}; register them in code at start-up"
        )
    store = open_store(target)
    try:
        store.write_tasks(tasks)
    finally:
        store.close()
    return target


def load_tasks(scheduler: AutoCron, path: str | os.PathLike[str] | None, replace: bool) -> int:
    """See ``AutoCron.load_tasks``."""
    target = _file_url(path)
    if not os.path.exists(target):  # a missing file would read as an empty store
        raise TaskError("path", os.fspath(path) if path is not None else target, "an existing task file")
    store = open_store(target)
    try:
        tasks = store.load_tasks()
    finally:
        store.close()
    if replace:
        for current in scheduler.list_tasks():
            scheduler.remove_task(name=current.name)
    present = {task.name for task in scheduler.list_tasks()}
    kept = [task.name for task in tasks if task.name in present]
    if kept:
        _warn_user(
            f"load_tasks: {len(kept)} task(s) in {target} not loaded, since a task of the same "
            f"name exists (pass replace=True to replace every task): {', '.join(map(repr, kept))}"
        )
    added = 0
    from ._dependencies import upstream_first

    for task in upstream_first(list(tasks)):  # a task may be listed before the one it waits for
        if task.name not in present:
            scheduler.add(task)
            present.add(task.name)
            added += 1
    return added


def _file_url(path: str | os.PathLike[str] | None) -> str:
    """The task file ``path`` names, ``~`` expanded; ``$AUTOCRON_HOME/tasks.yaml`` when ``None``."""
    if path is None:
        from .env import home_dir

        return str(home_dir(create=True) / "tasks.yaml")
    text = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not text.lower().endswith((".yaml", ".yml", ".json")):
        raise TaskError("path", os.fspath(path), "a file name ending in .yaml, .yml or .json")
    return text


def _unwritable(task: Task) -> str | None:
    """Why ``task`` cannot be written to a task file, or ``None`` when it can."""
    import json

    try:
        json.dumps(task.to_dict(), allow_nan=False)
    except TaskError as exc:  # a function that cannot be imported back by name
        qualname = getattr(task.target, "__qualname__", "") or ""
        if "<lambda>" in qualname:
            return "a lambda"
        if "<locals>" in qualname:
            return "a function defined inside another function"
        if getattr(task.target, "__module__", None) == "__main__":
            return "a function in __main__"
        return exc.expected
    except (TypeError, ValueError):
        return "arguments that are not plain data"
    return None


def _warn_user(message: str) -> None:
    """One warning for the caller of save_tasks/load_tasks (stacklevel 4: their line,
    through the AutoCron method) and the same line in the log, for a daemon."""
    import warnings

    logger.warning("%s", message)
    warnings.warn(message, UserWarning, stacklevel=4)
