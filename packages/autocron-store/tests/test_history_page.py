"""``history_page``: filtered pages of history read by key, alike through the SQL store and the reader."""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import RunRecord, RunStatus
from autocron_store import SqlStore
from autocron_store._pages import PageKey
from autocron_store._reads import open_reader

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)
STATUSES = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.TIMED_OUT]


def _records(seed: int = 3) -> list[RunRecord]:
    """Three tasks, some occurrences shared, retries (attempt 2), several statuses, over three days."""
    rng = random.Random(seed)
    out = []
    for task in ("alpha", "beta", "gamma"):
        for i in range(70):
            scheduled = T0 + _dt.timedelta(hours=i)  # the same occurrences in every task: ties to break
            for attempt in (1, 2) if i % 9 == 0 else (1,):
                status = rng.choice(STATUSES)
                out.append(RunRecord(task, scheduled, attempt, status, scheduled, scheduled, None, "n"))
    return out


def _fill(url: str) -> list[RunRecord]:
    store = SqlStore(url, keep_runs=None, keep_days=None)
    records = _records()
    try:
        for record in records:
            assert store.claim_run(record)
    finally:
        store.close()
    return records


def _expected(records: list[RunRecord], name: str | None, status: RunStatus | None,
              since: _dt.datetime | None, until: _dt.datetime | None) -> list[RunRecord]:  # fmt: skip
    chosen = [
        r for r in records
        if (name is None or r.task == name) and (status is None or r.status is status)
        and (since is None or r.scheduled_for >= since) and (until is None or r.scheduled_for < until)
    ]  # fmt: skip
    return sorted(chosen, key=lambda r: (r.scheduled_for, r.attempt, r.task), reverse=True)


def _walk(reader: Any, name: str | None, limit: int, **filters: Any) -> list[RunRecord]:
    """Every page in turn, each starting after the previous page's last key."""
    seen: list[RunRecord] = []
    after = None
    while True:
        page = reader.history_page(name, after=after, limit=limit, **filters)
        seen += page
        if len(page) < limit:
            return seen
        last = page[-1]
        after = PageKey(last.scheduled_for, last.attempt, last.task)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind (servers skip when not configured)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pages.db'}"
    value: str = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")
    return value


@pytest.fixture
def filled(url: str) -> Iterator[tuple[str, list[RunRecord]]]:
    yield url, _fill(url)


@pytest.mark.parametrize("name", [None, "beta"])
@pytest.mark.parametrize("status", [None, RunStatus.FAILED])
def test_pages_cover_every_match_once_in_order(filled: tuple[str, list[RunRecord]], name: str | None,
                                               status: RunStatus | None) -> None:  # fmt: skip
    """Walking the pages gives exactly the matching runs, newest first, on every database."""
    url, records = filled
    since, until = T0 + _dt.timedelta(hours=5), T0 + _dt.timedelta(hours=60)
    store = SqlStore(url)
    try:
        got = _walk(store, name, 7, status=status, since=since, until=until)
    finally:
        store.close()
    assert got == _expected(records, name, status, since, until)


def test_the_reader_pages_as_the_store_does(tmp_path: Path) -> None:
    """The read-only SQLite reader returns the same pages as SqlStore."""
    url = f"sqlite:///{tmp_path / 'same.db'}"
    records = _fill(url)
    reader = open_reader(url)
    assert reader is not None
    store = SqlStore(url)
    try:
        for name in (None, "alpha"):
            for status in (None, RunStatus.SKIPPED):
                via_store = _walk(store, name, 11, status=status)
                assert _walk(reader, name, 11, status=status) == via_store
                assert via_store == _expected(records, name, status, None, None)
    finally:
        reader.close()
        store.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 40), start=st.integers(0, 80), hours=st.integers(0, 80))
def test_any_page_size_and_window(tmp_path_factory: Any, limit: int, start: int, hours: int) -> None:
    """Whatever the page size and day window, pages neither skip nor repeat a run."""
    folder = tmp_path_factory.mktemp("pages")
    url = f"sqlite:///{folder / 'p.db'}"
    records = _fill(url)
    since, until = T0 + _dt.timedelta(hours=start), T0 + _dt.timedelta(hours=start + hours)
    reader = open_reader(url)
    assert reader is not None
    try:
        assert _walk(reader, None, limit, since=since, until=until) == _expected(
            records, None, None, since, until
        )
    finally:
        reader.close()
