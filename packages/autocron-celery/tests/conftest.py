"""Fixtures for autocron-celery's tests: real RabbitMQ, real Redis, real ``celery worker`` processes.

Each test gets a queue of its own (``celery_queue``), a journal file its
workers append to (``journal``), and a ``workers`` factory whose workers are
always stopped (and the queue deleted) afterwards. Without RabbitMQ or Redis
the tests skip, or fail under ``AUTOCRON_TEST_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from autocron_celery.testing import CeleryWorker

HERE = Path(__file__).parent
AMQP_ENV = "AUTOCRON_TEST_AMQP_URL"
REDIS_ENV = "AUTOCRON_TEST_REDIS_URL"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

if str(HERE) not in sys.path:  # the workers import the same module by name
    sys.path.insert(0, str(HERE))


def _reachable(url: str, port: int) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or port), timeout=3):
            return None
    except OSError as exc:
        return str(exc)


def _require(what: str, env: str, url: str, port: int) -> None:
    problem = _reachable(url, port)
    if problem is None:
        return
    message = f"{what} not reachable at {url} ({problem}); set {env} to run these tests"
    if os.environ.get("AUTOCRON_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} [AUTOCRON_TEST_REQUIRE_SERVICES=1 makes this a failure]")
    pytest.skip(message)


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The broker and result backend URLs, both reachable."""
    amqp = os.environ.get(AMQP_ENV, DEFAULT_AMQP)
    redis = os.environ.get(REDIS_ENV, DEFAULT_REDIS)
    _require("RabbitMQ", AMQP_ENV, amqp, 5672)
    _require("Redis", REDIS_ENV, redis, 6379)
    return amqp, redis


@pytest.fixture
def celery_queue(services: tuple[str, str]) -> Iterator[str]:
    """A queue name of this test's own, deleted afterwards."""
    name = f"autocron-test-{uuid.uuid4().hex[:10]}"
    yield name
    import celeryapp

    try:
        with celeryapp.app.connection_for_write() as conn:
            conn.default_channel.queue_delete(name)
    except Exception:  # noqa: S110 - best effort: a queue left behind holds nothing of value
        pass


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file this test's workers append what they did to (one line per event)."""
    path = tmp_path / "journal.txt"
    path.touch()
    monkeypatch.setenv("AUTOCRON_TEST_JOURNAL", str(path))
    return path


@pytest.fixture
def workers(tmp_path: Path, celery_queue: str, journal: Path) -> Iterator[Callable[..., CeleryWorker]]:
    """Start real workers on this test's queue: ``workers()`` → a ready ``CeleryWorker``."""
    started: list[CeleryWorker] = []

    def start(queue: str | None = None, ready: bool = True, **options: object) -> CeleryWorker:
        index = len(started)
        worker = CeleryWorker(
            "celeryapp",
            queue or celery_queue,
            tmp_path / f"worker-{index}.log",
            pythonpath=[str(HERE)],
            name=f"w{index}-{uuid.uuid4().hex[:6]}@%h",
            **options,  # type: ignore[arg-type]
        )
        started.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
