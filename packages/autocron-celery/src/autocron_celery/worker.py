"""The worker side: the settings AutoCron relies on and the ``autocron.run`` task."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from celery import Celery

__all__ = ["RUN_TASK", "WORKER_SETTINGS", "run_definition", "setup"]

#: The Celery task that runs an AutoCron function, script or command task on a
#: worker, from its definition (``Task.to_dict()``): what ``AutoCron(executor=
#: CeleryExecutor(app))`` sends for tasks that are not ``celery=`` tasks.
RUN_TASK = "autocron.run"

#: Settings ``setup`` applies. ``task_acks_late`` with
#: ``task_reject_on_worker_lost``: a worker killed mid-task leaves its message
#: to be redelivered, not lost. ``task_track_started``: the result backend says
#: when a worker took an attempt, which is how AutoCron tells a running attempt
#: from one that expired in the queue. Prefetching one message keeps a busy
#: worker from holding occurrences that another could start.
WORKER_SETTINGS: dict[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "task_track_started": True,
    "worker_prefetch_multiplier": 1,
}


def run_definition(definition: dict[str, Any]) -> str | None:
    """Rebuild an AutoCron task from its definition and run it once, here.

    Returns a script's or command's output tail (the run record's ``output``).

    Raises:
        Whatever the task raises; ``CommandFailedError`` for a non-zero exit.
    """
    from autocron_core.task import Task

    task = Task.from_dict(definition)
    result = task.execute()
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return result if isinstance(result, str) else None


def setup(app: Celery) -> Celery:
    """Give ``app`` ``WORKER_SETTINGS`` and the ``autocron.run`` task; returns ``app``.

    Call it where the app is made (``proj/celery.py``), so that the workers and
    the scheduler see the same settings.
    """
    app.conf.update(WORKER_SETTINGS)
    # Lazy until the app is finalized: reading app.tasks here would finalize it too early.
    app.task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True, track_started=True)(run_definition)
    return app
