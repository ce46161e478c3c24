"""Several scheduler processes on one store: exactly-once runs and failover, on PostgreSQL and Redis.

Every test runs once per backend: a private PostgreSQL schema, and a private
key prefix on Redis (a private ``redis-server`` for the tests that kill its
clients or restart it). Every node is a real process (``cluster_node.py``).
The tests read the store through its public methods (``history``,
``load_tasks``, ``live_nodes``), so the same assertions hold for both.
Real time is the point here: the tests wait for the store to show what they
expect (polling with a deadline), and only the outages of the restart tests
are plain sleeps, because an outage is time passing.
Function tasks write a journal line per execution, so "nothing ran twice"
is checked against what really ran, not only against the claims.
"""

from __future__ import annotations

import collections
import datetime as _dt
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from autocron_core import AutoCron
from autocron_core.records import RunRecord
from autocron_core.schedules import to_utc_us
from autocron_store import RedisStore, SqlStore

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

BACKENDS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]

NODE = Path(__file__).with_name("cluster_node.py")
LEASE = 2.0
HEARTBEAT = LEASE / 3  # the core agent's period
_US = 1_000_000
_REPO = Path(__file__).resolve().parent.parent


class Cluster:
    """Node processes on one database, and what the test reads back from it."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.redis = url.startswith("redis")
        self.store: SqlStore | RedisStore = (
            RedisStore(url, lease=LEASE) if self.redis else SqlStore(url, lease=LEASE)
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env = dict(os.environ)
        self.app = f"autocron-test-{uuid.uuid4().hex[:8]}"
        # libpq reads PGAPPNAME: it tags the nodes' connections without touching their URL.
        self.env["PGAPPNAME"] = self.app

    # -- processes ---------------------------------------------------------------------
    def start(self, node: str, *args: str) -> None:
        """Start node ``node`` with cluster_node.py's options ``args``."""
        err = open(self.folder / f"{node}.err", "ab")  # noqa: SIM115 - the process owns it
        self.procs[node] = subprocess.Popen(
            [
                sys.executable,
                str(NODE),
                self.url,
                node,
                str(self.folder / f"{node}.log"),
                "--lease",
                str(LEASE),
                *args,
            ],
            stdout=err,
            stderr=err,
            env=self.env,
            cwd=_REPO,
        )
        err.close()

    def stop(self, *nodes: str) -> None:
        """SIGTERM the nodes (all by default) and wait for each to exit."""
        for node in nodes or tuple(self.procs):
            proc = self.procs[node]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
            assert proc.returncode == 0, self.stderr(node)

    def kill(self, node: str) -> None:
        """SIGKILL one node: no clean stop, its claims stay 'running'."""
        self.procs[node].kill()
        self.procs[node].wait(10)

    def close(self) -> None:
        """Kill whatever still runs and release the test's store."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        self.store.close()

    def stderr(self, node: str) -> str:
        """What node ``node`` logged (warnings and errors)."""
        path = self.folder / f"{node}.err"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- reading the store -------------------------------------------------------------
    def runs(self, task_prefix: str = "") -> list[dict[str, Any]]:
        """Every run record (of tasks whose name starts with ``task_prefix``), times in µs."""
        return [_row(r) for r in self.store.history(None, 10**9) if r.task.startswith(task_prefix)]

    def registered(self) -> set[str]:
        """Node ids that registered (and heartbeat within a lease)."""
        return set(self.store.live_nodes())

    def next_runs(self) -> dict[str, int | None]:
        """Stored tasks' next run in µs."""
        return {task.name: task.next_run_us for task in self.store.load_tasks()}

    def heartbeats(self) -> dict[str, int]:
        """Each registered node's last heartbeat in µs."""
        if isinstance(self.store, RedisStore):
            beats = self.store.client.zrange(f"{self.store.keys}nodes", 0, -1, withscores=True)
            return {str(node): int(ms * 1000) for node, ms in beats}
        with self.store._engine.connect() as conn:
            rows = conn.execute(select(self.store.tables.nodes)).mappings().all()
        return {row["node_id"]: row["heartbeat_at_us"] for row in rows}

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float) -> Any:
        """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for node, proc in self.procs.items():
                assert proc.poll() is None or proc.returncode in (0, -signal.SIGKILL), self.stderr(node)
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {n}\n{self.stderr(n)[-2000:]}" for n in self.procs)
                pytest.fail(f"timed out after {timeout:g}s waiting for {what}\n{logs}")
            time.sleep(0.1)

    def wait_registered(self, *nodes: str) -> float:
        """Wait until every node is in the nodes table; the wall time then."""
        self.wait_for(f"nodes {nodes} to register", lambda: set(nodes) <= self.registered(), 30)
        return time.time()

    def journal(self) -> list[tuple[str, str, str, int, int]]:
        """Every journal line of every node: (what, node, task, scheduled_for_us, attempt)."""
        lines = []
        for path in self.folder.glob("*.log"):
            for line in path.read_text().splitlines():
                what, node, task, when, attempt = line.split()
                lines.append((what, node, task, to_utc_us(_dt.datetime.fromisoformat(when)), int(attempt)))
        return lines

    def anchor_us(self, task: str) -> int:
        """The shared anchor of ``task`` in microseconds."""
        return to_utc_us(self.store.shared_anchor(task, _dt.datetime.now(_dt.timezone.utc)))


def _row(record: RunRecord) -> dict[str, Any]:
    """A run record as the tests read it: the fields, with times in µs."""
    row: dict[str, Any] = record._asdict()
    row["status"] = record.status.value
    for field in ("scheduled_for", "started_at", "finished_at"):
        moment = row.pop(field)
        row[f"{field}_us"] = None if moment is None else to_utc_us(moment)
    return row


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    """The test's private store: a PostgreSQL schema, or a key prefix on the shared Redis."""
    value: str = request.getfixturevalue("postgres_url" if request.param == "postgres" else "redis_url")
    return value


@pytest.fixture
def cluster(url: str, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster harness on the test's private store."""
    harness = Cluster(url, tmp_path)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture(params=BACKENDS)
def fault_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster whose connections the test may cut: a private schema, or a private redis-server."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("redis_server").url
    harness = Cluster(url, tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def _executions(cluster: Cluster) -> collections.Counter[tuple[str, int, int]]:
    return collections.Counter(
        (task, when, attempt) for what, _, task, when, attempt in cluster.journal() if what == "start"
    )


def _assert_ran_once_as_claimed(cluster: Cluster, prefix: str) -> None:
    """Every execution is unique and belongs to the node holding the claim."""
    twice = {key: n for key, n in _executions(cluster).items() if n > 1}
    assert not twice, f"ran more than once: {twice}"
    owner = {(r["task"], r["scheduled_for_us"], r["attempt"]): r["node_id"] for r in cluster.runs(prefix)}
    for what, node, task, when, attempt in cluster.journal():
        if what == "start" and task.startswith(prefix):
            assert owner.get((task, when, attempt)) == node, (task, when, attempt, node)


def _occurrences(anchor_us: int, step_us: int, first_us: int, last_us: int) -> set[int]:
    k = max(1, -(-(first_us - anchor_us) // step_us))
    out = set()
    while anchor_us + k * step_us <= last_us:
        out.add(anchor_us + k * step_us)
        k += 1
    return out


def test_three_nodes_run_every_occurrence_exactly_once(cluster: Cluster) -> None:
    """Three nodes, ten tasks every second for 20 s: each occurrence claimed and run once, load shared."""
    nodes = ("n1", "n2", "n3")
    for node in nodes:
        cluster.start(node, "--ticks", "10")
    ready = cluster.wait_registered(*nodes)
    time.sleep(20)  # the run itself: twenty seconds of occurrences
    stopped = time.time()
    cluster.stop()

    rows = [r for r in cluster.runs("tick-") if r["attempt"] == 1]
    assert all(r["attempt"] == 1 for r in cluster.runs("tick-")), "no occurrence needed a second attempt"
    assert all(r["status"] == "succeeded" for r in rows), collections.Counter(r["status"] for r in rows)
    for i in range(10):
        task = f"tick-{i}"
        claimed = {r["scheduled_for_us"] for r in rows if r["task"] == task}
        expected = _occurrences(
            cluster.anchor_us(task), _US, int((ready + 1) * _US), int((stopped - 1) * _US)
        )
        assert len(expected) >= 17
        assert expected <= claimed, f"{task}: missing {sorted(expected - claimed)}"
    _assert_ran_once_as_claimed(cluster, "tick-")
    per_node = collections.Counter(r["node_id"] for r in rows)
    assert set(per_node) == set(nodes), per_node
    assert min(per_node.values()) >= 0.1 * len(rows), f"unbalanced: {per_node}"


def test_a_killed_node_is_reaped_and_its_run_retried(cluster: Cluster) -> None:
    """SIGKILL the node running a 5 s task: another marks it abandoned in lease + heartbeat, retries it."""
    # The slow task fires every 30 s; anchoring it 24 s ago puts its first occurrence 6 s from now.
    cluster.store.shared_anchor("slow", _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=24))
    nodes = ("n1", "n2", "n3")
    for node in nodes:
        cluster.start(node, "--ticks", "3", "--slow", "5")
    cluster.wait_registered(*nodes)

    def running_slow() -> Any:
        return next((r for r in cluster.runs("slow") if r["status"] == "running" and r["attempt"] == 1), None)

    # 6 s when the nodes start at once; on a loaded machine they may miss that one, and the next
    # occurrence comes 30 s later.
    victim_row = cluster.wait_for("the slow task to start", running_slow, 45)
    victim = victim_row["node_id"]
    cluster.kill(victim)
    killed, killed_wall = time.monotonic(), time.time()

    def abandoned() -> Any:
        return next(
            (r for r in cluster.runs("slow") if r["attempt"] == 1 and r["status"] == "abandoned"), None
        )

    cluster.wait_for("the claim to be marked abandoned", abandoned, LEASE + HEARTBEAT + 10)
    took = time.monotonic() - killed
    # A lease renewed just before the kill runs out LEASE later; a reaper looks every HEARTBEAT.
    assert took <= LEASE + HEARTBEAT + 1.5, f"abandoned after {took:.1f}s"

    def retried() -> Any:
        return next(
            (r for r in cluster.runs("slow") if r["attempt"] == 2 and r["status"] == "succeeded"), None
        )

    retry = cluster.wait_for("the retry to succeed", retried, 15)
    assert retry["node_id"] != victim and retry["scheduled_for_us"] == victim_row["scheduled_for_us"]
    # Firing went on across the kill, the reaping and the retry: every tick occurrence
    # from just before the kill until now gets claimed. Waited for, not assumed: on a
    # busy machine the newest ones may be claimed a little late, which is no fault.
    window = (int((killed_wall - 2) * _US), int(time.time() * _US))
    for i in range(3):
        task = f"tick-{i}"
        expected = _occurrences(cluster.anchor_us(task), _US, *window)
        assert expected, "the window spans the kill, the reaping and the retry"

        def all_claimed(task: str = task, expected: set[int] = expected) -> bool:
            have = {
                r["scheduled_for_us"] for r in cluster.runs(task) if r["task"] == task and r["attempt"] == 1
            }
            return expected <= have

        cluster.wait_for(f"{task} to keep firing across the failover", all_claimed, 15)
    cluster.stop(*(n for n in nodes if n != victim))

    # The killed node's occurrence ended abandoned and was retried exactly once, by a live node.
    occurrence = [r for r in cluster.runs("slow") if r["scheduled_for_us"] == victim_row["scheduled_for_us"]]
    assert sorted((r["attempt"], r["status"]) for r in occurrence) == [(1, "abandoned"), (2, "succeeded")]
    starts = [
        (node, attempt)
        for what, node, task, when, attempt in cluster.journal()
        if task == "slow" and what == "start" and when == victim_row["scheduled_for_us"]
    ]
    assert sorted(starts) == sorted([(victim, 1), (retry["node_id"], 2)])
    _assert_ran_once_as_claimed(cluster, "tick-")


def test_after_a_total_outage_one_node_applies_misfire_and_coalesce(cluster: Cluster, url: str) -> None:
    """All nodes down for 10 s: the first one back coalesces one task and misfires the other exactly."""
    defining = AutoCron(
        timezone="UTC", store=url + ("&" if "?" in url else "?") + f"lease={LEASE}", log_level=None
    )
    # overlap "allow": a run still going on a slow machine must not leave the next
    # occurrence unclaimed (a node at its instance limit leaves it to others).
    defining.add_task(
        "coalesced",
        command="true",
        every="1s",
        coalesce=True,
        misfire_grace_time=60,
        overlap_policy="allow",
        max_instances=20,
    )
    defining.add_task(
        "each",
        command="true",
        every="1s",
        coalesce=False,
        misfire_grace_time=3,
        overlap_policy="allow",
        max_instances=20,
    )
    defining.close()
    nodes = ("n1", "n2", "n3")
    for node in nodes:
        cluster.start(node)
    cluster.wait_registered(*nodes)
    cluster.wait_for(
        "a few runs", lambda: len([r for r in cluster.runs() if r["status"] == "succeeded"]) >= 6, 20
    )
    for node in nodes:  # one after the other: the last to stop saves the state the restart reads
        cluster.stop(node)
    next_run = cluster.next_runs()
    assert not [r for n, us in next_run.items() for r in cluster.runs(n) if r["scheduled_for_us"] >= us]
    time.sleep(10)  # the outage

    cluster.start("n4")
    restarted = cluster.wait_registered("n4")
    cluster.wait_for(
        "runs after the restart",
        lambda: all(
            any(
                r["status"] == "succeeded" and r["scheduled_for_us"] > (restarted + 2) * _US
                for r in cluster.runs(n)
            )
            for n in ("coalesced", "each")
        ),
        20,
    )
    cluster.stop("n4")

    after = sorted(
        (r for r in cluster.runs("coalesced") if r["scheduled_for_us"] >= next_run["coalesced"]),
        key=lambda r: r["scheduled_for_us"],
    )
    first, run = after[0], after[1]
    assert first["scheduled_for_us"] == next_run["coalesced"] and first["status"] == "missed"
    count = (run["scheduled_for_us"] - first["scheduled_for_us"]) // _US
    assert count >= 10 and f"{count} occurrence(s) from this one on coalesced" in first["error"]
    assert (
        run["status"] == "succeeded"
        and run["scheduled_for_us"] <= first["finished_at_us"] < run["scheduled_for_us"] + _US
    )
    # From then on: the 1 s grid, each occurrence at most once. A node slowed down by a
    # loaded machine may fall behind and coalesce again; such a gap is only ever a
    # backlog the node coalesced, and its record says so, like the first one.
    later = after[1:]
    times = [r["scheduled_for_us"] for r in later]
    assert times == sorted(set(times))
    assert all((us - run["scheduled_for_us"]) % _US == 0 for us in times)
    for previous, following in itertools.pairwise(later):
        gap = (following["scheduled_for_us"] - previous["scheduled_for_us"]) // _US
        if gap > 1:
            assert previous["status"] == "missed"
            assert f"{gap} occurrence(s) from this one on coalesced" in previous["error"]

    each = sorted(
        (r for r in cluster.runs("each") if r["scheduled_for_us"] >= next_run["each"]),
        key=lambda r: r["scheduled_for_us"],
    )
    assert [r["scheduled_for_us"] for r in each] == [next_run["each"] + k * _US for k in range(len(each))]
    missed = [r for r in each if r["status"] == "missed"]
    assert len(missed) >= 6 and each[: len(missed)] == missed, "the oldest ones are missed, then all run"
    assert all(r["finished_at_us"] - r["scheduled_for_us"] > 3 * _US for r in missed)
    ran = each[len(missed) :]
    assert all(r["status"] == "succeeded" for r in ran)
    assert all(r["started_at_us"] - r["scheduled_for_us"] <= 3.5 * _US for r in ran)
    assert {r["node_id"] for r in missed + ran[:3]} == {"n4"}


def test_a_task_scheduled_with_the_cli_fires_on_the_running_nodes(cluster: Cluster, url: str) -> None:
    """`autocron schedule` on the database: the running nodes pick the task up; `remove` stops it."""
    nodes = ("n1", "n2", "n3")
    for node in nodes:
        cluster.start(node)
    cluster.wait_registered(*nodes)
    cli = [sys.executable, "-m", "autocron_cli", "--store", url]
    subprocess.run(
        [*cli, "schedule", "--command", "true", "--every", "1s", "--name", "from-cli"],
        check=True,
        capture_output=True,
        env=cluster.env,
        timeout=60,
    )
    added = time.time()

    def fired_on_two_nodes() -> bool:
        rows = [r for r in cluster.runs("from-cli") if r["status"] == "succeeded"]
        return len({r["node_id"] for r in rows}) >= 2

    cluster.wait_for("the CLI's task to run on the nodes", fired_on_two_nodes, 30)
    first = min(r["scheduled_for_us"] for r in cluster.runs("from-cli"))
    assert first / _US - added <= 4, "picked up within a sync period or two"
    subprocess.run([*cli, "remove", "from-cli"], check=True, capture_output=True, env=cluster.env, timeout=60)
    removed = time.time()
    time.sleep(5)  # long enough for every node to sync twice
    cluster.stop()
    late = [r for r in cluster.runs("from-cli") if r["scheduled_for_us"] / _US > removed + 4]
    assert not late, "removed tasks stop firing on every node"
    assert {r["node_id"] for r in cluster.runs("from-cli")} <= set(nodes)


def _drop_node_connections(cluster: Cluster) -> int:
    """Cut every connection of the nodes once; how many were cut.

    PostgreSQL: ``pg_terminate_backend`` of the connections tagged with the
    test's application name. Redis (the test's own server): ``CLIENT KILL``
    of every client but this one, the nodes' pub/sub listeners included.
    """
    if isinstance(cluster.store, RedisStore):
        client = cluster.store.client
        return int(client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")) + int(
            client.execute_command("CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "yes")
        )
    with cluster.store._engine.connect() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :app AND pid <> pg_backend_pid()"
                ),
                {"app": cluster.app},
            ).all()
        )


def test_dropped_connections_neither_lose_nor_double_runs(fault_cluster: Cluster) -> None:
    """Every node connection cut, over and over: nodes reconnect, nothing is lost or runs twice."""
    cluster = fault_cluster
    nodes = ("n1", "n2", "n3")
    for node in nodes:
        cluster.start(node, "--ticks", "5")
    ready = cluster.wait_registered(*nodes)
    terminated = 0
    until = time.monotonic() + 8
    while time.monotonic() < until:
        terminated += _drop_node_connections(cluster)
        time.sleep(0.3)
    faults_over = time.time()

    def all_beating() -> bool:
        beats = cluster.heartbeats()
        return len([b for b in beats.values() if b > faults_over * _US]) == len(nodes)

    cluster.wait_for("every node to heartbeat again", all_beating, 10)
    time.sleep(2)  # a few more occurrences on the healed connections
    stopped = time.time()
    cluster.stop()

    assert terminated >= 10
    rows = cluster.runs("tick-")
    assert all(r["attempt"] == 1 and r["status"] == "succeeded" for r in rows), collections.Counter(
        (r["attempt"], r["status"]) for r in rows
    )
    for i in range(5):
        task = f"tick-{i}"
        claimed = {r["scheduled_for_us"] for r in rows if r["task"] == task}
        expected = _occurrences(
            cluster.anchor_us(task), _US, int((ready + 1) * _US), int((stopped - 1) * _US)
        )
        assert expected <= claimed, f"{task}: missing {sorted(expected - claimed)}"
    _assert_ran_once_as_claimed(cluster, "tick-")


@pytest.mark.redis
@pytest.mark.parametrize("durable", [True, False], ids=["aof-always", "no-persistence"])
def test_nodes_ride_out_a_redis_restart(
    durable: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The private redis-server is killed and started again under three nodes: they reconnect and go on.

    With an append-only file fsynced on every write (``appendfsync always``)
    every claim acknowledged before the crash is still there afterwards and
    nothing ran twice. Without persistence the server forgets every claim, as
    docs/distributed.md warns: an occurrence due just before the crash, which
    its owner ran, can then be claimed again by a node that was waiting to
    cover for the owner. Only those run twice; everything after the restart
    runs once.
    """
    server = request.getfixturevalue("durable_redis_server" if durable else "redis_server")
    cluster = Cluster(server.url, tmp_path)
    try:
        nodes = ("n1", "n2", "n3")
        for node in nodes:
            cluster.start(node, "--ticks", "5")
        cluster.wait_registered(*nodes)
        cluster.wait_for(
            "some runs",
            lambda: len([r for r in cluster.runs("tick-") if r["status"] == "succeeded"]) >= 10,
            20,
        )
        before = {(r["task"], r["scheduled_for_us"], r["attempt"]) for r in cluster.runs("tick-")}
        crashed = time.time()
        server.crash()
        time.sleep(2)  # the outage
        server.start()
        back = time.time()

        def all_beating() -> bool:
            return len([b for b in cluster.heartbeats().values() if b > back * _US]) == len(nodes)

        cluster.wait_for("every node to heartbeat again", all_beating, 20)

        def firing_again() -> bool:
            done = [r for r in cluster.runs("tick-") if r["status"] == "succeeded"]
            return all(
                any(r["task"] == f"tick-{i}" and r["scheduled_for_us"] > (back + 1) * _US for r in done)
                for i in range(5)
            )

        cluster.wait_for("every task to fire again", firing_again, 20)
        cluster.stop()
        twice = {key: n for key, n in _executions(cluster).items() if n > 1}
        if not durable:  # only occurrences due around the crash, whose claims the server forgot
            twice = {key: n for key, n in twice.items() if not crashed - 5 <= key[1] / _US <= back + 1}
        assert not twice, f"ran more than once: {twice}"
        if durable:
            after = {(r["task"], r["scheduled_for_us"], r["attempt"]) for r in cluster.runs("tick-")}
            assert before <= after, f"lost across the restart: {sorted(before - after)[:5]}"
            _assert_ran_once_as_claimed(cluster, "tick-")
    finally:
        cluster.close()
