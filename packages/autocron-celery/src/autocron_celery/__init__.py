"""AutoCron schedules, Celery executes.

``CeleryExecutor`` registers itself as the ``celery`` entry of the
``autocron.executors`` group, so ``add_task(..., celery="proj.tasks.report")``
and ``AutoCron(celery_app="proj.celery:app")`` find it without importing this
package. ``setup(app)`` gives a Celery app the settings AutoCron relies on and
the ``autocron.run`` task that runs function, script and command tasks on a
worker (docs/celery.md).
"""

from __future__ import annotations

from typing import Any

from .executor import CeleryExecutor
from .worker import RUN_TASK, WORKER_SETTINGS, setup

__all__ = ["RUN_TASK", "WORKER_SETTINGS", "CeleryExecutor", "setup"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("autocron-celery")
    raise AttributeError(name)
