"""The in-memory store passes the shared store contract."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autocron_core.memory_store import MemoryStore
from autocron_core.testing.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    """MemoryStore against every guarantee of the Store protocol."""

    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        """A fresh memory store."""
        store = MemoryStore()
        yield store
        store.close()


def test_keep_days_drops_old_occurrences_and_none_keeps_every_record() -> None:
    """keep_days prunes by occurrence age; history_limit=None keeps any number of records."""
    import datetime as dt

    from autocron_core.records import RunRecord, RunStatus

    store = MemoryStore(history_limit=None, keep_days=1)
    now = dt.datetime.now(dt.timezone.utc)
    for hours in range(0, 72, 6):
        when = now - dt.timedelta(hours=hours)
        store.finish_run(RunRecord("job", when, 1, RunStatus.SUCCEEDED, when, when))
    assert len(store.history("job", 1000)) == 12
    assert store.prune() == 8  # those from 24 h ago and older
    assert all(now - r.scheduled_for < dt.timedelta(days=1) for r in store.history("job", 1000))
    with pytest.raises(ValueError, match="keep_days"):
        MemoryStore(keep_days=0)


def test_a_task_history_from_its_first_record_to_its_limit() -> None:
    """The first record, its claim conflict and its finish, then more records up to history_limit:
    history is right at every step (a lone record is kept without a container)."""
    import datetime as dt

    from autocron_core.records import RunRecord, RunStatus

    store = MemoryStore(history_limit=2, keep_days=1)
    t0 = dt.datetime.now(dt.timezone.utc)
    first = RunRecord("job", t0, 1, RunStatus.RUNNING, t0)
    assert store.claim_run(first) is True
    assert store.claim_run(first._replace(node_id="other")) is False  # the same occurrence and attempt
    assert store.history("job") == [first]
    done = first._replace(status=RunStatus.SUCCEEDED, finished_at=t0)
    store.finish_run(done)
    assert store.history("job") == [done]
    retry = RunRecord("job", t0, 2, RunStatus.RUNNING, t0)
    assert store.claim_run(retry) is True  # a retry of the same occurrence is another record
    assert store.history("job") == [retry, done]
    t1 = t0 + dt.timedelta(minutes=1)
    later = RunRecord("job", t1, 1, RunStatus.FAILED, t1, t1, "boom")
    store.finish_run(later)  # never claimed (a failed claim): recorded all the same
    assert store.history("job") == [later, retry]  # the oldest went: the limit is 2
    assert store.history() == [later, retry]
    old = t0 - dt.timedelta(days=2)
    store.finish_run(RunRecord("old", old, 1, RunStatus.SUCCEEDED, old, old))
    assert store.prune() == 1  # a lone record past keep_days goes too
    assert store.history("old") == []
    assert store.claim_run(RunRecord("old", t0, 1, RunStatus.RUNNING, t0)) is True
