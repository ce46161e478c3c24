"""PostgreSQL's stats rank at most PG_PERCENTILE_RUNS records per task; counts cover every record."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator

import pytest

from autocron_core.records import RunRecord, RunStatus
from autocron_store import SqlStore, _sqlstats

pytestmark = pytest.mark.postgres

UTC = _dt.timezone.utc
T0 = _dt.datetime.now(UTC).replace(microsecond=0) - _dt.timedelta(days=1)


@pytest.fixture
def store(postgres_url: str) -> Iterator[SqlStore]:
    """A PostgreSQL store keeping every record, with 12 runs of ``job``: durations 1..12 s, oldest first."""
    store = SqlStore(postgres_url, keep_runs=0, keep_days=0)
    for i in range(12):
        scheduled = T0 + _dt.timedelta(minutes=i)
        started = scheduled + _dt.timedelta(seconds=i)  # lateness i s
        store.finish_run(
            RunRecord(
                "job", scheduled, 1, RunStatus.SUCCEEDED, started, started + _dt.timedelta(seconds=i + 1)
            )
        )
    yield store
    store.close()


def test_percentiles_rank_only_the_newest_runs(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a window of 4, percentiles are those of the newest 4 runs; counts and maximum cover all 12."""
    monkeypatch.setattr(_sqlstats, "PG_PERCENTILE_RUNS", 4)
    (stats,) = store.stats("job")
    assert stats.runs == 12 and stats.succeeded == 12
    assert stats.duration_p50 == pytest.approx(10.5)  # durations 9, 10, 11, 12 s
    assert stats.lateness_p50 == pytest.approx(9.5)  # lateness 8, 9, 10, 11 s
    assert stats.duration_max == pytest.approx(12)
    assert stats.last_run == T0 + _dt.timedelta(minutes=11, seconds=11)


def test_last_n_below_the_window_is_exact(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """``last_n`` bounds everything, counts included, whatever the window."""
    monkeypatch.setattr(_sqlstats, "PG_PERCENTILE_RUNS", 4)
    (stats,) = store.stats("job", last_n=6)
    assert stats.runs == 6
    assert stats.duration_p50 == pytest.approx(9.5)  # durations 7..12 s
    (everything,) = store.stats("job", last_n=100)
    assert everything.runs == 12
    assert everything.duration_p50 == pytest.approx(6.5)


def test_without_a_big_task_nothing_changes(store: SqlStore) -> None:
    """Twelve records are far below the default window: the median of all twelve durations."""
    (stats,) = store.stats("job")
    assert stats.duration_p50 == pytest.approx(6.5)
    assert stats.lateness_p50 == pytest.approx(5.5)
