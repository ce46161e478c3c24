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
