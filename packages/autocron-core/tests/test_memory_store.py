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
