"""Batched writes from several nodes at once lock rows in one order: no deadlock to retry, nothing lost.

Two nodes finishing runs at once each save the states of tasks they share (a
script task's state row is one row for the whole cluster). When their groups
list those tasks in different orders, each transaction can hold a row the
other waits for: PostgreSQL and MariaDB then kill one ("deadlock detected"),
which the store retries, logging a warning. Batches ordered by key never
wait in a circle.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from autocron_core import build_task
from autocron_core.records import RunRecord, RunStatus
from autocron_store import SqlStore

UTC = _dt.timezone.utc
# Near the real now: the store prunes records older than its keep_days by the real clock.
T0 = _dt.datetime.now(UTC).replace(microsecond=0) - _dt.timedelta(days=1)
TASKS = 40
NODES = 4
ROUNDS = 12


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("mysql", marks=pytest.mark.mysql)])  # fmt: skip
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'order.db'}"
    else:
        yield request.getfixturevalue(f"{request.param}_url")


def _claim(node: int, task: int, rnd: int) -> RunRecord:
    scheduled = T0 + _dt.timedelta(minutes=rnd)
    return RunRecord(
        f"job-{task:02d}", scheduled, 1 + node, RunStatus.RUNNING, scheduled, None, None, f"n{node}"
    )


def test_nodes_finishing_groups_over_shared_tasks_never_deadlock(
    url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Four nodes finish groups naming the same 40 tasks in four different orders, twelve times each."""
    script = tmp_path / "job.py"
    script.write_text("print('hi')\n", encoding="utf-8")
    stores = [SqlStore(url) for _ in range(NODES)]
    try:
        for i in range(TASKS):
            stores[0].save_task(build_task(f"job-{i:02d}", script=str(script), every="5m"))
        tasks = [store.load_tasks() for store in stores]
        claims = {
            (node, rnd): [_claim(node, i, rnd) for i in range(TASKS)]
            for node in range(NODES)
            for rnd in range(ROUNDS)
        }
        for node, store in enumerate(stores):
            store.claim_runs([c for rnd in range(ROUNDS) for c in claims[(node, rnd)]])
        barrier = threading.Barrier(NODES)
        errors: list[BaseException] = []

        def node_work(node: int) -> None:
            mine = tasks[node]
            try:
                for rnd in range(ROUNDS):
                    # Each node lists the shared tasks in its own order: rotated, and reversed for odd nodes.
                    shift = (node * TASKS // NODES + rnd) % TASKS
                    order = mine[shift:] + mine[:shift]
                    if node % 2:
                        order.reverse()
                    for task in order:
                        task.run_count = rnd + 1
                    done = [c.finished(RunStatus.SUCCEEDED, c.scheduled_for + _dt.timedelta(seconds=1))
                            for c in claims[(node, rnd)]]  # fmt: skip
                    by_task = {t.name: t for t in order}
                    barrier.wait(30)
                    stores[node].finish_runs([d for d in reversed(done)] if node % 2 else done,
                                             [by_task[t.name] for t in order])  # fmt: skip
            except BaseException as exc:  # reported below
                errors.append(exc)
                barrier.abort()

        with caplog.at_level(logging.WARNING, logger="autocron.store"):
            threads = [threading.Thread(target=node_work, args=(n,)) for n in range(NODES)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
        assert not errors, errors
        assert not [r.getMessage() for r in caplog.records if "deadlock" in r.getMessage().lower()]
        runs = stores[0].history(limit=NODES * TASKS * ROUNDS + 10)
        assert len(runs) == NODES * TASKS * ROUNDS
        assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
        assert {t.run_count for t in stores[0].load_tasks()} == {ROUNDS}
    finally:
        for store in stores:
            store.close()


def test_batch_claims_keep_each_record_trigger(url: str) -> None:
    """The batched claim statements of every database store each record's trigger with its claim."""
    from autocron_core.records import TRIGGERS

    store = SqlStore(url)
    try:
        claims = [
            RunRecord(f"job-{i}", T0, 1, RunStatus.RUNNING, T0, None, None, "n0", None, trigger)
            for i, trigger in enumerate(TRIGGERS)
        ]
        assert store.claim_runs(claims) == [True] * len(TRIGGERS)
        assert {r.task: r.trigger for r in store.history(limit=10)} == {c.task: c.trigger for c in claims}
    finally:
        store.close()


@pytest.mark.postgres
def test_heartbeats_during_finishes_never_deadlock(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A node's heartbeat (all its running claims) and its finish groups (key order) never wait in a circle.

    The claims are inserted newest key first, so the table holds them in the
    opposite order to the keys: a heartbeat locking rows as it finds them and a
    finish locking them by key would cross.
    """
    store = SqlStore(postgres_url)
    try:
        claims = [_claim(0, i % TASKS, i // TASKS) for i in range(TASKS * ROUNDS)]
        for claim in reversed(claims):
            assert store.claim_runs([claim]) == [True]
        # Finished history of other tasks: a table big enough that PostgreSQL looks rows up by key.
        others = [_claim(1, 100 + i % 50, i // 50) for i in range(5000)]
        store.claim_runs(others)
        store.finish_runs([c.finished(RunStatus.SUCCEEDED, c.scheduled_for) for c in others])
        with store._engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE runs")
        stop = threading.Event()
        errors: list[BaseException] = []

        def beat() -> None:
            try:
                while not stop.is_set():
                    store.heartbeat("n0")
            except BaseException as exc:  # reported below
                errors.append(exc)

        with caplog.at_level(logging.WARNING, logger="autocron.store"):
            beater = threading.Thread(target=beat)
            beater.start()
            try:
                for start in range(0, len(claims), 40):
                    group = claims[start : start + 40]
                    store.finish_runs([c.finished(RunStatus.SUCCEEDED, c.scheduled_for) for c in group])
            finally:
                stop.set()
                beater.join(60)
        assert not errors, errors
        assert not [r.getMessage() for r in caplog.records if "deadlock" in r.getMessage().lower()]
        assert {r.status for r in store.history(limit=len(claims) + len(others) + 1)} == {RunStatus.SUCCEEDED}
    finally:
        store.close()
