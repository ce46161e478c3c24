"""CeleryExecutor against the Executor contract suite, with a real worker."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import celeryapp
import pytest

from autocron_celery import CeleryExecutor
from autocron_celery.testing import CeleryWorker
from autocron_core.task import Task, build_task
from autocron_core.testing import ExecutorContract

_TASKS = {"ok": ("tests.add", (1, 2)), "fail": ("tests.fail", ()), "sleep": ("tests.sleep", (30,))}


class TestCeleryExecutorContract(ExecutorContract):
    """Every guarantee of protocols.Executor, through RabbitMQ, a worker and Redis."""

    @pytest.fixture
    def executor(self, workers: Callable[..., CeleryWorker]) -> CeleryExecutor:
        workers()
        return CeleryExecutor(celeryapp.app)

    @pytest.fixture
    def make_task(self, celery_queue: str) -> Callable[[str], Task]:
        def make(kind: str) -> Task:
            name, args = _TASKS[kind]
            return build_task(
                f"contract-{kind}-{uuid.uuid4().hex[:6]}",
                celery=name,
                args=args,
                every="1h",
                queue=celery_queue,
            )

        return make
