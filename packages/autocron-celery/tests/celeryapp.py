"""The Celery app the tests' workers run (``python -m celery -A celeryapp worker``).

Broker and result backend come from the environment, so each test's workers
and scheduler share them: ``AUTOCRON_TEST_AMQP_URL`` (RabbitMQ on loopback by
default) and ``AUTOCRON_TEST_REDIS_URL``.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from pathlib import Path
from typing import Any

from celery import Celery

import autocron_celery

app = Celery(
    "autocron_celery_tests",
    broker=os.environ.get("AUTOCRON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("AUTOCRON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    broker_connection_retry_on_startup=True,
    result_expires=3600,
    task_default_queue=os.environ.get("AUTOCRON_TEST_QUEUE", "autocron-tests"),
    worker_hijack_root_logger=False,
)
autocron_celery.setup(app)


def _journal(line: str) -> None:
    """Append one line to the test's journal file (how tests see what workers did)."""
    path = os.environ.get("AUTOCRON_TEST_JOURNAL")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@app.task(name="tests.add", bind=True)
def add(self: Any, a: int, b: int) -> int:
    """Adds; journals its claim header and when it started."""
    _journal(f"add {self.request.get('autocron_claim')} {time.time()}")
    return a + b


@app.task(name="tests.fail", bind=True)
def fail(self: Any, message: str = "boom") -> None:
    """Always raises."""
    _journal(f"fail {self.request.get('autocron_claim')}")
    raise RuntimeError(message)


@app.task(name="tests.sleep", bind=True)
def sleep(self: Any, seconds: float, marker: str | None = None) -> str:
    """Sleeps; with ``marker``, touches that file first (the test knows it started)."""
    _journal(f"sleep-start {self.request.get('autocron_claim')} {os.getpid()}")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    _journal(f"sleep-end {self.request.get('autocron_claim')}")
    return "slept"


@app.task(name="tests.lag", bind=True)
def lag(self: Any, scheduled: str | None = None) -> float:
    """How late it started, from the claim's occurrence (the benchmark's measure)."""
    claim = self.request.get("autocron_claim") or ""
    moment = scheduled or claim.rpartition("@")[2].rpartition("#")[0]
    return time.time() - _dt.datetime.fromisoformat(moment).timestamp()


def local_func(x: int) -> str:
    """A plain function a worker runs through autocron.run."""
    _journal(f"local_func {x}")
    return f"got {x}"
