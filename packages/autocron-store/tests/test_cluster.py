"""SqlStore as a ClusterStore: leases on the database clock, heartbeats, reaping, shared anchors, retries.

Each test runs on SQLite, and on PostgreSQL and MariaDB when their servers are
configured. Several ``SqlStore`` objects on one database stand for several nodes.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from autocron_core.errors import ConfigError
from autocron_core.protocols import ClusterStore
from autocron_core.records import RunRecord, RunStatus
from autocron_core.testing.cluster_contract import ClusterContract
from autocron_store import SqlStore
from autocron_store._cluster_sql import ANCHOR_KIND

_US = 1_000_000
T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind (servers skip when not configured)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cluster.db'}"
    fixture = "postgres_url" if request.param == "postgresql" else "mysql_url"
    value: str = request.getfixturevalue(fixture)
    return value


@pytest.fixture
def stores(url: str) -> Iterator[list[SqlStore]]:
    """Three stores on one database: three nodes."""
    opened = [SqlStore(url, lease=30) for _ in range(3)]
    yield opened
    for store in opened:
        store.close()


def _claim(store: SqlStore, node: str, minute: int = 0, task: str = "job") -> RunRecord:
    when = T0 + _dt.timedelta(minutes=minute)
    record = RunRecord(task, when, 1, RunStatus.RUNNING, when, None, None, node)
    assert store.claim_run(record)
    return record


def _expire(store: SqlStore, node: str) -> None:
    """Age the node's leases as if it had stopped heartbeating long ago."""
    r = store.tables.runs
    with store._engine.begin() as conn:
        conn.execute(update(r).where(r.c.node_id == node).values(lease_expires_at_us=1))


def _row(store: SqlStore, record: RunRecord) -> Any:
    r = store.tables.runs
    with store._engine.connect() as conn:
        return conn.execute(select(r).where(*store._key(record))).mappings().one()


def _db_now_us(store: SqlStore) -> int:
    with store._engine.connect() as conn:
        return int(conn.execute(select(store._now_sql())).scalar_one())


def test_sql_store_is_a_cluster_store(url: str) -> None:
    """Every SqlStore satisfies ClusterStore, with the lease from the URL, the argument or 30 s."""
    with_url = SqlStore(f"{url}{'&' if '?' in url else '?'}lease=7")
    try:
        assert isinstance(with_url, ClusterStore)
        assert with_url.lease_seconds == 7.0
        assert SqlStore(url, lease=2.5).lease_seconds == 2.5
        assert SqlStore(url).lease_seconds == 30.0
    finally:
        with_url.close()


@pytest.mark.parametrize("bad", ["0", "-1", "soon"])
def test_a_lease_that_is_not_a_positive_number_is_refused(tmp_path: Path, bad: str) -> None:
    """lease=0, negative or not a number is a ConfigError naming the field."""
    with pytest.raises(ConfigError, match="lease"):
        SqlStore(f"sqlite:///{tmp_path / 'x.db'}?lease={bad}")


def test_a_running_claim_gets_a_lease_on_the_database_clock(stores: list[SqlStore]) -> None:
    """claim_run of a running record sets lease_expires_at_us to the database's now + lease."""
    store = stores[0]
    before = _db_now_us(store)
    record = _claim(store, "a")
    after = _db_now_us(store)
    lease = _row(store, record)["lease_expires_at_us"]
    assert before + 30 * _US <= lease <= after + 30 * _US
    done = record.finished(RunStatus.SUCCEEDED, T0)
    store.finish_run(done)
    assert _row(store, record)["lease_expires_at_us"] is None


def test_heartbeat_renews_only_this_nodes_running_leases(stores: list[SqlStore]) -> None:
    """heartbeat(node) records the node and pushes its own running leases forward, nobody else's."""
    store = stores[0]
    mine, theirs = _claim(store, "a", 0), _claim(store, "b", 1)
    _expire(store, "a")
    _expire(store, "b")
    store.heartbeat("a")
    assert _row(store, mine)["lease_expires_at_us"] > _db_now_us(store)
    assert _row(store, theirs)["lease_expires_at_us"] == 1
    with store._engine.connect() as conn:
        nodes = conn.execute(select(store.tables.nodes)).mappings().all()
    assert [n["node_id"] for n in nodes] == ["a"]


def test_register_and_unregister_node(stores: list[SqlStore]) -> None:
    """register_node adds the node's row (again after a restart); unregister_node removes it."""
    store = stores[0]
    store.register_node("a")
    store.register_node("a")
    store.register_node("b")
    store.unregister_node("a")
    store.unregister_node("never-started")
    with store._engine.connect() as conn:
        rows = conn.execute(select(store.tables.nodes)).mappings().all()
    assert [r["node_id"] for r in rows] == ["b"]
    assert rows[0]["heartbeat_at_us"] >= rows[0]["started_at_us"]


def test_reap_marks_only_other_nodes_expired_claims(stores: list[SqlStore]) -> None:
    """Expired claims of other nodes become abandoned; live leases and the reaper's own claims stay."""
    store = stores[0]
    dead = _claim(store, "dead", 0)
    store.finish_run(_claim(store, "dead", 1, task="finished").finished(RunStatus.SUCCEEDED, T0))
    alive = _claim(store, "alive", 2)
    own = _claim(store, "me", 3)
    _expire(store, "dead")
    _expire(store, "me")
    reaped = store.reap_abandoned("me")
    assert [(r.task, r.scheduled_for, r.node_id, r.status) for r in reaped] == [
        ("job", dead.scheduled_for, "dead", RunStatus.ABANDONED),
    ]
    assert all(r.status is RunStatus.ABANDONED and "taken over by me" in (r.error or "") for r in reaped)
    assert _row(store, alive)["status"] == "running"
    assert _row(store, own)["status"] == "running"
    assert store.reap_abandoned("me") == []


def test_concurrent_reapers_each_row_goes_to_exactly_one(stores: list[SqlStore]) -> None:
    """Three nodes reaping forty dead claims at once: every claim is returned by exactly one."""
    for minute in range(40):
        _claim(stores[0], "dead", minute)
    _expire(stores[0], "dead")
    results: dict[int, list[RunRecord]] = {}
    barrier = threading.Barrier(len(stores))

    def reap(i: int) -> None:
        barrier.wait()
        results[i] = stores[i].reap_abandoned(f"node-{i}")

    threads = [threading.Thread(target=reap, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    keys = [(r.task, r.scheduled_for) for got in results.values() for r in got]
    assert len(keys) == 40 and len(set(keys)) == 40


def test_finishing_a_run_taken_over_keeps_it_abandoned(stores: list[SqlStore]) -> None:
    """A cut-off node that finishes after being reaped cannot hide the takeover; its outcome is noted."""
    store = stores[0]
    record = _claim(store, "slow-node")
    _expire(store, "slow-node")
    assert len(store.reap_abandoned("other")) == 1
    store.finish_run(record.finished(RunStatus.SUCCEEDED, T0 + _dt.timedelta(seconds=5)))
    row = _row(store, record)
    assert row["status"] == "abandoned"
    assert "finished it later: succeeded" in row["error"]


def test_shared_anchor_first_stored_wins(stores: list[SqlStore]) -> None:
    """Two nodes asking with different anchors both get the first one; the anchor row is no task."""
    first, second = stores[0], stores[1]
    assert first.shared_anchor("f", T0) == T0
    assert second.shared_anchor("f", T0 + _dt.timedelta(hours=1)) == T0
    assert first.load_tasks() == []
    assert first.delete_task("f") is False, "an anchor row is not a task"
    assert second.shared_anchor("f", T0 + _dt.timedelta(hours=2)) == T0
    t = first.tables.tasks
    with first._engine.connect() as conn:
        assert conn.execute(select(t.c.kind).where(t.c.name == "f")).scalar_one() == ANCHOR_KIND


def test_shared_anchor_of_a_stored_task_is_its_definitions(stores: list[SqlStore], tmp_path: Path) -> None:
    """A command task stored by one node gives its own anchor to every other node."""
    from autocron_core import AutoCron

    node = AutoCron(timezone="UTC", store=stores[0], log_level=None)
    node.add_task("cmd", command="true", every="10s")
    task = node.get_task(name="cmd")
    assert task is not None
    anchor = task.schedule.anchor  # type: ignore[attr-defined]
    assert stores[1].shared_anchor("cmd", T0) == anchor
    assert [t.name for t in stores[1].load_tasks()] == ["cmd"]


def test_concurrent_shared_anchor_calls_agree(stores: list[SqlStore]) -> None:
    """Three nodes registering one task at once all get the same anchor."""
    got: dict[int, _dt.datetime] = {}
    barrier = threading.Barrier(len(stores))

    def ask(i: int) -> None:
        barrier.wait()
        got[i] = stores[i].shared_anchor("race", T0 + _dt.timedelta(seconds=i))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(got.values())) == 1


class _LosesFirstReply:
    """An engine whose first transaction commits and then reports a dropped connection."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.lost = 0

    def begin(self) -> Any:
        import contextlib

        engine = self._engine
        outer = self

        @contextlib.contextmanager
        def tx() -> Iterator[Any]:
            with engine.begin() as conn:
                yield conn
            if not outer.lost:
                outer.lost += 1
                raise OperationalError(
                    "COMMIT", {}, Exception("server closed the connection"), connection_invalidated=True
                )

        return tx()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def test_a_claim_whose_reply_was_lost_is_recognised_on_retry(stores: list[SqlStore]) -> None:
    """The claim committed but its reply was lost: the retry reports it claimed; the other node loses."""
    store = stores[0]
    flaky = _LosesFirstReply(store._engine)
    store._engine = flaky  # type: ignore[assignment]
    record = RunRecord("job", T0, 1, RunStatus.RUNNING, T0, None, None, "a")
    assert store.claim_run(record) is True
    assert flaky.lost == 1
    assert stores[1].claim_run(record._replace(node_id="b")) is False


def test_a_reap_whose_reply_was_lost_still_returns_its_records(stores: list[SqlStore]) -> None:
    """The reap committed but its reply was lost: the retry finds what it marked and returns it."""
    store = stores[0]
    _claim(store, "dead")
    _expire(store, "dead")
    flaky = _LosesFirstReply(store._engine)
    store._engine = flaky  # type: ignore[assignment]
    reaped = store.reap_abandoned("me")
    assert flaky.lost == 1 and len(reaped) == 1 and reaped[0].status is RunStatus.ABANDONED


def test_a_terminated_connection_is_replaced(postgres_url: str) -> None:
    """pg_terminate_backend of the pooled connection: the next claim and heartbeat just work."""
    store = SqlStore(postgres_url, lease=30)
    try:
        store.heartbeat("a")
        with store._engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = SqlStore(postgres_url)
        with killer._engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.close()
        _claim(store, "a")
        store.heartbeat("a")
        assert store.reap_abandoned("a") == []
    finally:
        store.close()


def test_reap_takes_only_the_tasks_asked_for(stores: list[SqlStore]) -> None:
    """reap_abandoned(node, tasks) leaves other tasks' expired claims for the nodes that have them."""
    store = stores[0]
    mine = _claim(store, "dead", task="mine")
    theirs = _claim(store, "dead", task="theirs")
    _expire(store, "dead")
    reaped = store.reap_abandoned("alive", ["mine"])
    assert [r.task for r in reaped] == ["mine"]
    assert _row(store, mine)["status"] == RunStatus.ABANDONED.value
    assert _row(store, theirs)["status"] == RunStatus.RUNNING.value


def test_watch_hears_definition_changes_made_elsewhere(postgres_url: str, tmp_path: Path) -> None:
    """On PostgreSQL, saving a task through one store reaches another store's watcher (LISTEN/NOTIFY)."""
    from autocron_core.task import build_task

    listening, writing = SqlStore(postgres_url), SqlStore(postgres_url)
    heard = threading.Event()
    stop = listening.watch(heard.set)
    assert stop is not None
    try:
        task = build_task("shared", command="true", every="1h")
        deadline = time.monotonic() + 10
        while not heard.is_set() and time.monotonic() < deadline:  # until the listener is up
            writing.save_task(task)
            heard.wait(0.2)
        assert heard.is_set()
        heard.clear()
        writing.delete_task("shared")
        assert heard.wait(5)
    finally:
        stop()
        listening.close()
        writing.close()


def test_watch_is_postgresql_only(tmp_path: Path) -> None:
    """SQLite has no notices: watch() returns None and the agent keeps polling."""
    store = SqlStore(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        assert store.watch(lambda: None) is None
    finally:
        store.close()


class TestSqlCluster(ClusterContract):
    """The ClusterStore contract on SQLite, PostgreSQL and MariaDB (three stores on one database)."""

    @pytest.fixture
    def stores(self, url: str) -> Iterator[list[SqlStore]]:
        """Three stores on one database: three nodes."""
        opened = [SqlStore(url, lease=30) for _ in range(3)]
        yield opened
        for store in opened:
            store.close()

    def expire(self, store: Any, *records: RunRecord) -> None:
        r = store.tables.runs
        with store._engine.begin() as conn:
            for record in records:
                conn.execute(update(r).where(*store._key(record)).values(lease_expires_at_us=1))
