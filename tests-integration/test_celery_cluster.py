"""AutoCron nodes on PostgreSQL scheduling, Celery workers executing: faults with real processes."""

from __future__ import annotations

import datetime as _dt
import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("autocron_celery")
pytest.importorskip("celery")

from autocron_celery.testing import CeleryWorker, wait_for
from autocron_core import AutoCron
from autocron_store import SqlStore

_REPO = Path(__file__).resolve().parents[1]
NODE = Path(__file__).with_name("celery_node.py")
APP_DIR = _REPO / "packages" / "autocron-celery" / "tests"  # celeryapp.py: the tests' Celery app
LEASE = 2.0
pytestmark = pytest.mark.timeout(300)


class Rig:
    """Node and worker processes on one database and one queue; all stopped afterwards."""

    def __init__(self, url: str, folder: Path, queue: str, journal: Path) -> None:
        self.url, self.folder, self.queue = url, folder, queue
        self.store = SqlStore(url, lease=LEASE)
        self.env = dict(
            os.environ,
            AUTOCRON_CELERY_APP="celeryapp:app",
            AUTOCRON_TEST_JOURNAL=str(journal),
            PYTHONPATH=os.pathsep.join([str(APP_DIR), os.environ.get("PYTHONPATH", "")]),
        )
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: list[CeleryWorker] = []

    def node(self, name: str) -> None:
        err = open(self.folder / f"{name}.err", "ab")  # noqa: SIM115 - the process owns it
        self.nodes[name] = subprocess.Popen(
            [sys.executable, str(NODE), self.url, name, "--lease", str(LEASE)],
            stdout=err,
            stderr=err,
            env=self.env,
            cwd=_REPO,
        )
        err.close()

    def worker(self) -> CeleryWorker:
        worker = CeleryWorker(
            "celeryapp",
            self.queue,
            self.folder / f"worker-{len(self.workers)}.log",
            pythonpath=[str(APP_DIR)],
            name=f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@%h",
            env={"AUTOCRON_TEST_JOURNAL": self.env["AUTOCRON_TEST_JOURNAL"]},
        )
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def stop_node(self, name: str) -> None:
        proc = self.nodes[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        assert proc.returncode == 0, (self.folder / f"{name}.err").read_text(errors="replace")[-3000:]

    def close(self) -> None:
        for proc in self.nodes.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for worker in self.workers:
            worker.stop()
        self.store.close()
        try:
            import celeryapp

            with celeryapp.app.connection_for_write() as conn:
                conn.default_channel.queue_delete(self.queue)
        except Exception:  # noqa: S110 - best effort: an empty queue left behind costs nothing
            pass


@pytest.fixture
def rig(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    import socket
    from urllib.parse import urlsplit

    for url, port in (
        (os.environ.get("AUTOCRON_TEST_AMQP_URL", "amqp://127.0.0.1:5672//"), 5672),
        (os.environ.get("AUTOCRON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), 6379),
    ):
        parts = urlsplit(url)
        try:
            socket.create_connection((parts.hostname or "127.0.0.1", parts.port or port), timeout=3).close()
        except OSError as exc:
            if os.environ.get("AUTOCRON_TEST_REQUIRE_SERVICES") == "1":
                pytest.fail(f"{url} not reachable: {exc}")
            pytest.skip(f"{url} not reachable: {exc}")
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    journal = tmp_path / "journal.txt"
    journal.touch()
    monkeypatch.setenv("AUTOCRON_TEST_JOURNAL", str(journal))
    instance = Rig(postgres_url, tmp_path, f"autocron-cluster-{uuid.uuid4().hex[:8]}", journal)
    yield instance
    instance.close()


def _define(url: str, **tasks: dict[str, object]) -> None:
    """Save celery= tasks in the shared store (as `autocron schedule --celery` does)."""
    s = AutoCron(store=SqlStore(url, lease=LEASE), timezone="UTC", log_level=None)
    try:
        for name, options in tasks.items():
            s.add_task(name, **options)
    finally:
        s.store.close()


def test_two_nodes_two_workers_one_of_each_killed_every_occurrence_recorded_once(rig: Rig) -> None:
    """SIGKILL one node and one worker mid-way: every occurrence between the first and last
    recorded has exactly one record, none is left running, and the survivors keep going."""
    names = [f"tick{i}" for i in range(3)]
    _define(
        rig.url,
        **{n: {"celery": "tests.add", "args": (1, 1), "every": "1s", "queue": rig.queue} for n in names},
    )
    first = rig.worker()
    rig.worker()
    rig.node("a")
    rig.node("b")

    def succeeded() -> int:
        return sum(r.status.value == "succeeded" for n in names for r in rig.store.history(n, limit=10_000))

    def both_nodes_ran_each_task() -> bool:
        histories = [rig.store.history(n, limit=10_000) for n in names]
        ran = [{r.node_id for r in runs if r.status.value == "succeeded"} for runs in histories]
        return all(nodes == {"a", "b"} for nodes in ran)

    # Kill only once each node has run each task: a node that starts a little late may
    # otherwise be killed before it won any occurrence of one of them.
    wait_for(lambda: succeeded() >= 12 and both_nodes_ran_each_task(), timeout=90, what="runs on both nodes")
    rig.nodes["a"].kill()
    rig.nodes["a"].wait(10)
    first.kill()
    before = succeeded()
    wait_for(lambda: succeeded() >= before + 12, timeout=120, what="runs after the kills")
    rig.stop_node("b")
    wait_for(
        lambda: all(r.status.value != "running" for n in names for r in rig.store.history(n, limit=10_000)),
        timeout=60,
        what="the dead node's claims to be reaped",
    )
    for name in names:
        records = rig.store.history(name, limit=10_000)
        keys = Counter((r.scheduled_for, r.attempt) for r in records)
        assert max(keys.values()) == 1
        firsts = sorted(r.scheduled_for for r in records if r.attempt == 1)
        gaps = [b - a for a, b in itertools.pairwise(firsts)]
        # every second from the first to the last occurrence has its one record (nothing lost)
        assert all(gap == _dt.timedelta(seconds=1) for gap in gaps), gaps
        statuses = Counter(r.status.value for r in records)
        assert set(statuses) <= {"succeeded", "abandoned", "missed", "skipped"}, statuses
        assert {r.node_id for r in records} == {"a", "b"}


def test_overlap_skip_holds_across_nodes_and_workers(rig: Rig) -> None:
    """A 2.5 s task every second on two nodes and two workers: never two runs at once; the
    occurrences that would overlap are recorded skipped, counted from the shared run records."""
    _define(rig.url, slow={"celery": "tests.sleep", "args": (2.5,), "every": "1s", "queue": rig.queue})
    rig.worker()
    rig.worker()
    rig.node("a")
    rig.node("b")

    def done() -> int:
        return sum(r.status.value == "succeeded" for r in rig.store.history("slow", limit=1000))

    wait_for(lambda: done() >= 3, timeout=120, what="three finished runs")
    rig.stop_node("a")
    rig.stop_node("b")
    lines = [
        line.split()[0]
        for line in Path(rig.env["AUTOCRON_TEST_JOURNAL"]).read_text().splitlines()
        if line.startswith("sleep")
    ]
    for i in range(0, len(lines) - 1, 2):
        assert lines[i : i + 2] == ["sleep-start", "sleep-end"], lines
    records = rig.store.history("slow", limit=1000)
    skipped = [r for r in records if r.status.value == "skipped"]
    assert skipped and {r.node_id for r in records} == {"a", "b"}
    assert any("in the cluster" in (r.error or "") for r in skipped)


def test_cli_schedules_runs_and_shows_a_celery_task(rig: Rig, tmp_path: Path) -> None:
    """`autocron schedule --celery`, then `autocron run` with $AUTOCRON_CELERY_APP: the worker runs
    it, the command waits for the outcome and exits 0, `autocron history` shows the record."""
    rig.worker()
    env = dict(rig.env, AUTOCRON_DATABASE=str(tmp_path / "cli.db"))

    def autocron(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "autocron_cli", *args],
            env=env,
            cwd=_REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = autocron(
        "schedule",
        "--celery",
        "tests.add",
        "--celery-args",
        "[4, 5]",
        "--queue",
        rig.queue,
        "--every",
        "1h",
        "--name",
        "adder",
    )
    assert made.returncode == 0, made.stderr
    ran = autocron("run", "adder")
    assert ran.returncode == 0, ran.stderr
    shown = autocron("history", "adder", "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"status": "succeeded"' in shown.stdout
    assert "add adder@" in Path(rig.env["AUTOCRON_TEST_JOURNAL"]).read_text()
