"""Group commit through a real scheduler on SQLite: few transactions per burst, every run recorded."""

from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event

from autocron_core import AutoCron
from autocron_core.testing import FakeClock
from autocron_store import SqlStore

UTC = _dt.timezone.utc
# Near the real now: the store prunes records older than its keep_days by the real clock.
T0 = _dt.datetime.now(UTC).replace(microsecond=0)


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
