"""Dependencies and backfill across nodes sharing PostgreSQL: every occurrence recorded exactly once.

Two ``AutoCron`` objects on one PostgreSQL database stand for two nodes (each
with its own ``SqlStore``, its own connection pool and node id). Backfill and
manual runs work on a scheduler that is not started; dependants fire only on a
started one, which learns of the other node's runs through ``sync_with_store()``
(its cluster agent calls it every couple of seconds, or on a PostgreSQL notice;
some tests also call it directly).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from autocron_core import AutoCron
from autocron_store import SqlStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def nodes(postgres_url: str) -> Iterator[list[AutoCron]]:
    """Two schedulers on one PostgreSQL database."""
    made = [AutoCron(timezone="UTC", store=SqlStore(postgres_url), node_id=f"node-{i}") for i in (1, 2)]
    yield made
    for node in made:
        node.close()


def test_two_nodes_backfilling_one_range_run_each_occurrence_once(nodes: list[AutoCron]) -> None:
    """Both nodes backfill the same 24 hours at once: 24 runs in all, one record each, trigger backfill."""
    ran: Counter[str] = Counter()
    lock = threading.Lock()

    def job_for(node: str) -> object:
        def job() -> None:
            with lock:
                ran[node] += 1
            threading.Event().wait(0.005)

        return job

    for node in nodes:
        node.add_task(
            "hourly", func=job_for(node.node_id), cron="0 * * * *", overlap_policy="allow", max_instances=3
        )
    results = []
    go = threading.Barrier(len(nodes))

    def backfill(node: AutoCron) -> None:
        go.wait()
        results.append(node.backfill("hourly", "2026-01-01T00:00", "2026-01-02T00:00", timeout=120))

    threads = [threading.Thread(target=backfill, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert len(results) == 2
    history = nodes[0].history("hourly", 1000)
    occurrences = Counter(r.scheduled_for for r in history)
    assert len(occurrences) == 24 and set(occurrences.values()) == {1}
    assert {r.trigger for r in history} == {"backfill"}
    assert {r.status.value for r in history} == {"succeeded"}
    assert sum(ran.values()) == 24
    # A third backfill of the range, on either node, runs nothing.
    again = nodes[1].backfill("hourly", "2026-01-01T00:00", "2026-01-02T00:00")
    assert again.started == () and len(again.already_recorded) == 24


def test_downstream_fires_once_from_the_stored_upstream_success(nodes: list[AutoCron]) -> None:
    """Node 1 runs the upstream; both nodes decide from the stored record and key the downstream
    by the success's finish time, so the downstream runs exactly once."""
    loads: Counter[str] = Counter()
    lock = threading.Lock()

    def load_for(node: str) -> object:
        def load() -> None:
            with lock:
                loads[node] += 1

        return load

    for node in nodes:
        node.add_task("extract", func=lambda: None, cron="0 3 1 1 *")
        node.add_task("load", func=load_for(node.node_id), after="extract")
        node.start(blocking=False)  # only a started scheduler fires dependants
    first, second = nodes
    for _ in range(3):  # three upstream successes: three downstream runs, each once
        assert first.run_task(name="extract", timeout=30)
        second.sync_with_store()  # what node 2's cluster agent does when the store changes
        assert first.wait_idle(30) and second.wait_idle(30)
        first.sync_with_store()
        assert first.wait_idle(30)
    extract = first.history("extract", 10)
    history = first.history("load", 10)
    assert sorted(r.scheduled_for for r in history) == sorted(r.finished_at for r in extract)
    assert Counter(r.scheduled_for for r in history) == Counter({r.scheduled_for: 1 for r in history})
    assert {r.trigger for r in history} == {"dependency"}
    assert sum(loads.values()) == 3


def test_a_node_without_the_downstream_task_leaves_it_to_one_that_has_it(postgres_url: str) -> None:
    """The trigger is the stored run record: node 1 runs the upstream and has no dependant (so it
    sends no notice); node 2, started, finds the success in the store at its next poll and runs
    the downstream task, once."""
    one = AutoCron(timezone="UTC", store=SqlStore(postgres_url), node_id="one")
    two = AutoCron(timezone="UTC", store=SqlStore(postgres_url), node_id="two")
    ran: list[str] = []
    try:
        one.add_task("extract", func=lambda: None, cron="0 3 1 1 *")
        two.add_task("extract", func=lambda: None, cron="0 3 1 1 *")
        two.add_task("load", func=lambda: ran.append("two"), after="extract")
        two.start(blocking=False)
        assert one.run_task(name="extract", timeout=30)
        assert one.wait_idle(30)  # node 1's group commit has written the finished run
        deadline = time.monotonic() + 60
        while not two.history("load") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert two.wait_idle(30)
        (record,) = two.history("load")
        assert record.node_id == "two" and record.status.value == "succeeded" and ran == ["two"]
        two.sync_with_store()
        assert two.wait_idle(30) and ran == ["two"]  # the same success never fires twice
    finally:
        one.close()
        two.close()


def test_a_started_node_hears_of_the_upstream_success_by_notify(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With polling turned off, node 2 learns of node 1's upstream success from PostgreSQL's
    LISTEN/NOTIFY alone and runs the downstream task once."""
    import uuid

    import autocron_core._cluster as cluster

    monkeypatch.setattr(cluster, "SYNC_INTERVAL", 3600.0)  # no polling: only a notice wakes node 2
    # A table prefix of this test's own names the NOTIFY channel too: PostgreSQL's channels are
    # database-wide, and other tests on the same database must not wake these nodes.
    url = f"{postgres_url}&prefix=f{uuid.uuid4().hex[:8]}_"
    one = AutoCron(timezone="UTC", store=SqlStore(url), node_id="one")
    two = AutoCron(timezone="UTC", store=SqlStore(url), node_id="two")
    done = threading.Event()
    try:
        one.add_task("extract", func=lambda: None, cron="0 3 1 1 *")
        one.add_task("other", func=lambda: None, after="extract")  # node 1 has a dependant too
        two.add_task("extract", func=lambda: None, cron="0 3 1 1 *")
        two.add_task("load", func=done.set, after="extract")
        one.start(blocking=False)
        two.start(blocking=False)
        assert one.run_task(name="extract", timeout=30)
        assert done.wait(20), "node 2 never ran the downstream task"
        assert two.wait_idle(30)
        (record,) = two.history("load")
        assert (record.node_id, record.trigger) == ("two", "dependency")
    finally:
        one.close()
        two.close()
