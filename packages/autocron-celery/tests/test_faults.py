"""Faults with real processes: a worker SIGKILLed mid-task, a broker that restarts."""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import celeryapp
import pytest

from autocron_celery.testing import CeleryWorker, wait_for
from autocron_core import AutoCron, RunStatus

pytestmark = pytest.mark.timeout(240)


def _soon(seconds: float = 0.5) -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=seconds)


def test_a_worker_killed_mid_task_is_redelivered_and_recorded_once(
    workers: Callable[..., CeleryWorker], celery_queue: str, journal: Path, tmp_path: Path
) -> None:
    """acks_late + reject_on_worker_lost: SIGKILL the worker running it, another worker runs it
    again from the same message, and the history holds one record, succeeded."""
    pair = [workers(), workers()]  # both ready: the survivor takes the message back at once
    s = AutoCron(celery_app=celeryapp.app)
    try:
        name = f"redeliver-{uuid.uuid4().hex[:8]}"
        marker = tmp_path / "started"
        s.add_task(
            name,
            celery="tests.sleep",
            args=(8,),
            kwargs={"marker": str(marker)},
            at=_soon(1.0),
            queue=celery_queue,
            misfire_grace_time=120,
        )
        s.start(blocking=False)
        wait_for(lambda: marker.exists() and marker.read_text(), what="the task to start on a worker")
        child = int(marker.read_text())  # the pool process running it
        (running,) = [w for w in pair if os.getpgid(child) == w.pid]
        running.kill()
        wait_for(
            lambda: s.store.history(name)[0].status is not RunStatus.RUNNING,
            timeout=120,
            what="the redelivered run's outcome",
        )
        records = s.store.history(name)
        assert [(r.attempt, r.status) for r in records] == [(1, RunStatus.SUCCEEDED)]
        text = journal.read_text()
        claim = f"{name}@{records[0].scheduled_for.isoformat()}#1"
        assert text.count(f"sleep-start {claim} ") == 2  # ran twice: at least once, as Celery promises
        assert text.count(f"sleep-end {claim}") == 1
    finally:
        s.stop(timeout=30)


def _rabbit_program(name: str) -> str | None:
    """The RabbitMQ program itself: Debian's /usr/sbin wrappers switch to the rabbitmq user,
    who cannot read the test's private temp folder."""
    direct = Path("/usr/lib/rabbitmq/bin") / name
    return str(direct) if direct.exists() else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RabbitNode:
    """A RabbitMQ node of the test's own (ports, data and logs in a temp folder)."""

    def __init__(self, base: Path) -> None:
        self.port = _free_port()
        dist = _free_port()
        self.name = f"autocron{uuid.uuid4().hex[:8]}@localhost"
        base.mkdir(parents=True, exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")
        (base / "mnesia").mkdir(exist_ok=True)
        (base / "log").mkdir(exist_ok=True)
        self.env = dict(
            os.environ,
            RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_DIST_PORT=str(dist),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq"),  # none: defaults (guest may use loopback)
            RABBITMQ_FEATURE_FLAGS_FILE=str(base / "feature_flags"),
            RABBITMQ_PID_FILE=str(base / "rabbit.pid"),
            RABBITMQ_PLUGINS_EXPAND_DIR=str(base / "plugins-expand"),
            RABBITMQ_CTL_ERL_ARGS="",
            ERL_CRASH_DUMP=str(base / "erl_crash.dump"),
            HOME=str(base),  # the Erlang cookie goes here, not into the real home
        )
        self.log = base / "server.out"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [_rabbit_program("rabbitmq-server") or "rabbitmq-server"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ok = subprocess.run(
                [
                    _rabbit_program("rabbitmqctl") or "rabbitmqctl",
                    "-n",
                    self.name,
                    "await_startup",
                    "--timeout",
                    "5",
                ],
                env=self.env,
                capture_output=True,
                check=False,
            )
            if ok.returncode == 0:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError(f"rabbitmq node did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        subprocess.run(
            [_rabbit_program("rabbitmqctl") or "rabbitmqctl", "-n", self.name, "shutdown"],
            env=self.env,
            capture_output=True,
            check=False,
            timeout=60,
        )
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


@pytest.fixture
def own_broker(tmp_path: Path, services: tuple[str, str]) -> Iterator[RabbitNode]:
    """A second RabbitMQ node on free ports; the shared one is never touched."""
    if _rabbit_program("rabbitmq-server") is None:
        pytest.skip("rabbitmq-server is not installed (.ci/run installs it)")
    node = RabbitNode(tmp_path / "rabbit")
    node.start()
    yield node
    node.stop()


def test_a_broker_restart_is_survived(
    own_broker: RabbitNode,
    tmp_path: Path,
    journal: Path,
    services: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The broker stops and comes back: the worker reconnects, the scheduler's sends retry or are
    recorded failed (and retried by AutoCron's policy), every occurrence has one record, and runs
    succeed again after the restart."""
    monkeypatch.setenv("AUTOCRON_TEST_AMQP_URL", own_broker.url)
    from celery import Celery

    import autocron_celery

    app = Celery("restart", broker=own_broker.url, backend=services[1])
    app.conf.update(broker_connection_retry_on_startup=True)
    autocron_celery.setup(app)
    queue = f"autocron-restart-{uuid.uuid4().hex[:8]}"
    worker = CeleryWorker(
        "celeryapp", queue, tmp_path / "worker.log", pythonpath=[str(Path(__file__).parent)]
    )
    s = AutoCron(celery_app=app)
    try:
        worker.wait_ready()
        name = f"ticker-{uuid.uuid4().hex[:8]}"
        s.add_task(name, celery="tests.add", args=(1, 2), every="1s", queue=queue, retries=3, retry_delay=2)
        s.start(blocking=False)

        def succeeded() -> int:
            return sum(r.status is RunStatus.SUCCEEDED for r in s.store.history(name, limit=1000))

        wait_for(lambda: succeeded() >= 2, what="runs before the restart")
        own_broker.stop()
        time.sleep(2)  # occurrences fall due while the broker is down: that is the point
        own_broker.start()
        before = succeeded()
        wait_for(lambda: succeeded() >= before + 3, timeout=120, what="runs after the restart")
    finally:
        s.stop(timeout=30)
        worker.stop()
    records = s.store.history(name, limit=1000)
    keys = [r.key for r in records]
    assert len(keys) == len(set(keys))  # one record per attempt
    assert all(r.status is not RunStatus.RUNNING for r in records)
