"""Group commit through a real scheduler on SQLite: few transactions per burst, every run recorded."""

from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from autocron_core import AutoCron
from autocron_core.testing import FakeClock
from autocron_store import SqlStore

UTC = _dt.timezone.utc
# Near the real now: the store prunes records older than its keep_days by the real clock.
T0 = _dt.datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True, params=["update-from", "executemany"])
def finish_statement(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test with both finish statements: SQLite before 3.33 has no UPDATE ... FROM."""
    import autocron_store._batch_sql as batch_sql

    monkeypatch.setattr(batch_sql, "_SQLITE_UPDATE_FROM", request.param == "update-from")
    return str(request.param)


def _count_commits(store: SqlStore) -> list[int]:
    commits = [0]

    def on_commit(*_: Any) -> None:
        commits[0] += 1

    event.listen(store._engine, "commit", on_commit)
    return commits


def test_a_burst_is_claimed_and_recorded_in_a_few_transactions(tmp_path: Path) -> None:
    """600 runs due at once cost a few dozen transactions, not three per run, and all are recorded."""
    clock = FakeClock(T0)
    store = SqlStore(f"sqlite:///{tmp_path / 'burst.db'}")
    ran: list[str] = []
    lock = threading.Lock()

    def body(name: str) -> None:
        with lock:
            ran.append(name)

    scheduler = AutoCron(timezone="UTC", store=store, clock=clock, max_workers=4, log_level=None)
    for i in range(600):
        scheduler.add_task(f"t{i}", func=body, args=(f"t{i}",), at=T0 + _dt.timedelta(seconds=5))
    scheduler.start(blocking=False)
    try:
        commits = _count_commits(store)
        clock.advance(5)
        assert scheduler.settle(30)
        assert sorted(ran) == sorted(f"t{i}" for i in range(600))
        records = store.history(limit=1000)
        assert len(records) == 600
        assert {r.status.value for r in records} == {"succeeded"}
        assert commits[0] <= 60, commits[0]
        # settle() returned after the writer's last group: another reader sees every run too.
        other = SqlStore(store.url.render_as_string(hide_password=False))
        try:
            assert len(other.history(limit=1000)) == 600
        finally:
            other.close()
    finally:
        scheduler.close()


def test_a_finish_whose_start_differs_from_its_claim_is_stored_as_sent(tmp_path: Path) -> None:
    """The batch UPDATE matches a claim's start and node; a record with others is still written whole."""
    from autocron_core.records import RunRecord, RunStatus

    store = SqlStore(f"sqlite:///{tmp_path / 'finish.db'}")
    try:
        claim = RunRecord(
            "job", T0, 1, RunStatus.RUNNING, T0 + _dt.timedelta(seconds=1), None, None, "node-a"
        )
        same = claim._replace(task="other")
        assert store.claim_runs([claim, same]) == [True, True]
        moved = claim.finished(RunStatus.SUCCEEDED, T0 + _dt.timedelta(seconds=9))._replace(
            started_at=T0 + _dt.timedelta(seconds=2), node_id="node-b"
        )
        kept = same.finished(RunStatus.FAILED, T0 + _dt.timedelta(seconds=3), error="boom")
        store.finish_runs([moved, kept])
        assert sorted(store.history(limit=10), key=lambda r: r.task) == [moved, kept]
    finally:
        store.close()


def test_a_large_group_with_abandoned_and_missing_claims_is_stored_as_one_by_one(tmp_path: Path) -> None:
    """1,100 finishes in one group (three statements' worth): abandoned claims stay abandoned,
    a finish without a claim is inserted, every other record is stored as sent."""
    from autocron_core.records import RunRecord, RunStatus

    store = SqlStore(f"sqlite:///{tmp_path / 'large.db'}")
    try:
        started = T0 + _dt.timedelta(seconds=1)
        claims = [
            RunRecord(f"t{i:04d}", T0, 1, RunStatus.RUNNING, started, None, None, "node-a")
            for i in range(1100)
        ]
        assert store.claim_runs(claims[:-1]) == [True] * 1099  # the last one never claimed
        taken = {f"t{i:04d}" for i in range(0, 1099, 157)}  # another node marked these abandoned
        runs = store.tables.runs
        with store._engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.task.in_(taken)).values(status="abandoned"))
        finished = [
            claim.finished(
                RunStatus.SUCCEEDED if i % 3 else RunStatus.FAILED, started + _dt.timedelta(seconds=i)
            )
            for i, claim in enumerate(claims)
        ]
        store.finish_runs(finished)
        stored = {r.task: r for r in store.history(limit=2000)}
        assert len(stored) == 1100
        for record in finished:
            if record.task in taken:
                assert stored[record.task].status is RunStatus.ABANDONED
            else:
                assert stored[record.task] == record
    finally:
        store.close()
