"""TaskAnalytics: windows, streaks, trends, and stores with and without windowed stats()."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest

from autocron_core import AutoCron, MemoryStore, RunRecord, RunStatus
from autocron_core.testing import FakeClock
from autocron_dash import TaskAnalytics
from autocron_dash._format import BARS, duration, sparkline

from .conftest import NOW, T0, define, fill_known_history, record, write

S, F = RunStatus.SUCCEEDED, RunStatus.FAILED


class HistoryOnlyStore:
    """A store with history but no stats() and no task definitions."""

    def __init__(self, records: list[RunRecord]) -> None:
        self.inner = MemoryStore()
        write(self.inner, records)

    def history(self, name: str | None = None, limit: int = 100) -> list[RunRecord]:
        return self.inner.history(name, limit)


def test_figures_per_task(known: Any) -> None:
    """Counts, percentiles, last success and streak of the crafted history."""
    by_name = {s.name: s for s in TaskAnalytics(known, now=NOW).summaries()}
    backup = by_name["backup"]
    assert (backup.runs, backup.succeeded, backup.failed) == (21, 21, 0)
    assert backup.duration_p50 == pytest.approx(11.0) and backup.duration_p95 == pytest.approx(20.0)
    assert backup.duration_max == pytest.approx(21.0) and backup.success_rate == 1.0
    assert backup.last_success == T0 + _dt.timedelta(minutes=20, seconds=21)
    assert backup.trend is not None and backup.trend > 1.5
    flaky = by_name["flaky"]
    assert (flaky.failed, flaky.failure_streak, flaky.status) == (4, 3, "failing")
    assert flaky.success_rate == pytest.approx(2 / 6)
    assert by_name["overlapper"].skipped == 5 and by_name["sluggish"].lateness_p95 == pytest.approx(30.0)
    assert by_name["fresh"].status == "new" and by_name["fresh"].runs == 0


def test_overall_totals(known: Any) -> None:
    """Overall sums the tasks and names the slowest p95."""
    analytics = TaskAnalytics(known, now=NOW)
    overall = analytics.overall(analytics.summaries())
    assert (overall.tasks, overall.runs, overall.failed, overall.skipped, overall.failing) == (6, 40, 4, 5, 1)
    assert overall.success_rate == pytest.approx(36 / 40)
    assert overall.worst_duration_task == "overlapper" and overall.duration_max == pytest.approx(90.0)


def test_window_of_last_n_runs(known: Any) -> None:
    """last_n=5 keeps each task's five newest records (the store's SQL, or Python for others)."""
    by_name = {s.name: s for s in TaskAnalytics(known, last_n=5, now=NOW).summaries()}
    backup = by_name["backup"]
    assert backup.runs == 5 and backup.duration_p50 == pytest.approx(19.0)
    assert len(backup.recent_durations) == 5
    assert by_name["flaky"].succeeded == 1


def test_window_of_days(store: Any) -> None:
    """days=1 ignores records scheduled before yesterday."""
    define(store, "daily", every="1d")
    write(store, [record("daily", i, S if i >= 8 else F, every=86400.0, error="x") for i in range(10)])
    now = T0 + _dt.timedelta(days=9, hours=12)
    summary = TaskAnalytics(store, days=2, now=now).summary("daily")
    assert summary is not None and (summary.runs, summary.failed, summary.succeeded) == (2, 0, 2)
    assert summary.failure_streak == 0 and summary.recent_statuses == ("succeeded", "succeeded")


def test_retried_occurrence_counts_once_in_the_streak(store: Any) -> None:
    """A streak counts occurrences by their final attempt: a retry that succeeded ends it."""
    define(store, "job")
    write(
        store,
        [
            record("job", 0, F, error="x"),
            record("job", 1, F, error="x"),
            record("job", 1, S, attempt=2),
            record("job", 2, F, error="x"),
            record("job", 2, F, error="x again", attempt=2),
        ],
    )
    summary = TaskAnalytics(store, now=NOW).summary("job")
    assert summary is not None and summary.failure_streak == 1 and summary.last_error == "x again"


def test_store_without_stats_is_computed_from_history() -> None:
    """A store offering only history() still gives figures (computed in Python)."""
    store = HistoryOnlyStore([record("a", i, S, duration=2.0) for i in range(4)])
    analytics = TaskAnalytics(store, last_n=3, now=NOW)
    summary = analytics.summary("a")
    assert summary is not None and summary.runs == 3 and summary.duration_p95 == pytest.approx(2.0)
    assert analytics.summaries() == []  # no stats() and no definitions: nothing names the task


def test_scheduler_source_gives_live_next_runs() -> None:
    """With a scheduler, next runs and pause state come from its tasks."""
    clock = FakeClock(T0)
    scheduler = AutoCron(clock=clock, timezone="UTC")
    scheduler.add_task("tick", func=lambda: None, every="30s")
    scheduler.add_task("boom", func=lambda: 1 / 0, every="1m")
    scheduler.start(blocking=False)
    try:
        for _ in range(2):
            clock.advance(30)
            assert scheduler.settle()
        by_name = {s.name: s for s in TaskAnalytics(scheduler, now=clock.now()).summaries()}
    finally:
        scheduler.stop()
    assert [*by_name] == ["tick", "boom"]
    assert by_name["tick"].next_run == T0 + _dt.timedelta(seconds=90) and by_name["tick"].succeeded == 2
    assert (
        by_name["boom"].status == "failing"
        and by_name["boom"].last_error == "ZeroDivisionError: division by zero"
    )


def test_bad_windows_are_refused() -> None:
    """last_n, days and recent must be positive."""
    for options in ({"last_n": 0}, {"days": 0}, {"recent": 0}):
        with pytest.raises(ValueError, match=next(iter(options))):
            TaskAnalytics(MemoryStore(), **options)


def test_source_must_be_a_scheduler_or_store() -> None:
    """Anything else is a TypeError naming what was expected."""
    with pytest.raises(TypeError, match="scheduler or a Store"):
        TaskAnalytics(42)


def test_default_source_is_the_default_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """No source opens $AUTOCRON_HOME's database (empty here)."""
    pytest.importorskip("autocron_store", reason="the default database needs autocron-store")
    analytics = TaskAnalytics()
    try:
        assert analytics.summaries() == []
    finally:
        analytics.store.close()


def test_sparkline_scales_between_min_and_max() -> None:
    """Lowest value → lowest bar, highest → full bar; equal values → a middle bar."""
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == BARS
    assert sparkline([5, 5, 5]) == BARS[3] * 3
    assert sparkline([]) == ""


def test_durations_read_naturally() -> None:
    """Milliseconds, seconds, minutes, hours and days."""
    assert [duration(v) for v in (None, 0.0, 0.0042, 0.5, 12.34, 125, 3 * 3600 + 420, 3 * 86400)] == [
        "-",
        "0s",
        "4.2ms",
        "0.50s",
        "12.3s",
        "2m05s",
        "3h07m",
        "3d00h",
    ]


def test_known_history_fixture_is_stable(store: Any) -> None:
    """The fixture's records land in the store as written (a guard for the other tests)."""
    fill_known_history(store)
    assert len(store.history("backup", 100)) == 21 and store.history("flaky", 1)[0].status is F
