"""Each recommendation rule, from a crafted history in a store."""

from __future__ import annotations

from typing import Any

from autocron_core import RunStatus
from autocron_dash import TaskAnalytics, recommend

from .conftest import NOW, define, record, write

S, F, T, K = RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.SKIPPED


def advice(store: Any, **options: Any) -> dict[str, list[str]]:
    """Rule → messages for the store's tasks."""
    summaries = TaskAnalytics(store, now=NOW).summaries()
    found: dict[str, list[str]] = {}
    for rec in recommend(summaries, **options):
        found.setdefault(rec.rule, []).append(rec.message)
    return found


def test_a_healthy_task_gets_no_advice(store: Any) -> None:
    """Steady successes on time trigger no rule."""
    define(store, "steady", timeout=60)
    write(store, [record("steady", i, S, duration=2.0) for i in range(20)])
    assert advice(store) == {}


def test_failing_often_suggests_retries_and_quotes_the_last_error(store: Any) -> None:
    """3 failures in 10 runs: suggest retries, quote the newest error's first line."""
    define(store, "sync")
    outcomes = [S, F, S, S, F, S, S, F, S, S]
    write(
        store,
        [
            record("sync", i, o, error=None if o is S else f"ConnectionError: reset {i}\n  File x")
            for i, o in enumerate(outcomes)
        ],
    )
    (message,) = advice(store)["fails_often"]
    assert "sync failed 3 of 10 runs (30%)" in message
    assert "retries=2" in message and '"ConnectionError: reset 7"' in message and "File x" not in message


def test_failing_often_with_retries_says_the_cause_is_not_transient(store: Any) -> None:
    """A task that already retries is told retries will not help."""
    define(store, "sync", retries=3)
    write(store, [record("sync", i, o, error="boom") for i, o in enumerate([S, F, F, S, F, S])])
    (message,) = advice(store)["fails_often"]
    assert "already retries 3 time(s)" in message


def test_rare_failures_are_not_advice(store: Any) -> None:
    """One failure in twenty runs stays below the threshold."""
    define(store, "mostly")
    write(store, [record("mostly", i, F if i == 3 else S, error="x") for i in range(20)])
    assert "fails_often" not in advice(store)


def test_timeout_close_to_p95_says_raise_it(store: Any) -> None:
    """p95 duration at 90% of the timeout: raise the timeout, with both numbers."""
    define(store, "export", timeout=10)
    write(store, [record("export", i, S, duration=9.0) for i in range(10)])
    (message,) = advice(store)["timeout_close"]
    assert "timeout=10s" in message and "p95 duration is 9s" in message and "Raise the timeout" in message


def test_timed_out_runs_trigger_the_timeout_rule(store: Any) -> None:
    """Runs that timed out count even when the successful ones are quick."""
    define(store, "export", timeout=5)
    write(
        store,
        [
            record(
                "export",
                i,
                T if i in (4, 8) else S,
                duration=5.0 if i in (4, 8) else 1.0,
                error="timed out after 5s",
            )
            for i in range(10)
        ],
    )
    (message,) = advice(store)["timeout_close"]
    assert "2 run(s) timed out" in message


def test_many_skipped_occurrences_mean_overlap(store: Any) -> None:
    """Half the occurrences skipped: the interval is shorter than the run time."""
    define(store, "crawl", every="1m")
    write(store, [record("crawl", i, S if i % 2 == 0 else K, duration=95.0) for i in range(12)])
    (message,) = advice(store)["overlap"]
    assert "crawl skipped 6 of 12 occurrences (50%)" in message
    assert "p95 duration is 1m35s" in message and "interval is 1m00s" in message
    assert "shorter than the run time" in message


def test_high_lateness_suggests_more_workers(store: Any) -> None:
    """Runs starting 20 s late: raise max_workers, with the current value when known."""
    define(store, "report")
    write(store, [record("report", i, S, late=20.0 + i) for i in range(6)])
    (message,) = advice(store, max_workers=4)["late"]
    assert "p95 25s" in message and "raise max_workers (now 4)" in message


def test_small_lateness_is_fine(store: Any) -> None:
    """Lateness under the threshold is not advice."""
    define(store, "report")
    write(store, [record("report", i, S, late=0.2) for i in range(6)])
    assert "late" not in advice(store)


def test_never_succeeded_since_added(store: Any) -> None:
    """A task whose every run failed is called out, with its last error."""
    define(store, "broken")
    write(store, [record("broken", i, F, error=f"ImportError: no module x{i}") for i in range(3)])
    found = advice(store)
    (message,) = found["never_succeeded"]
    assert "broken has finished 3 run(s) and never succeeded" in message
    assert '"ImportError: no module x2"' in message
    assert "fails_often" not in found  # one sentence about it is enough


def test_getting_slower_is_reported_with_the_ratio(store: Any) -> None:
    """Recent runs three times as long as earlier ones: an info with the ratio."""
    define(store, "etl")
    write(store, [record("etl", i, S, duration=1.0 if i < 6 else 3.0) for i in range(12)])
    (message,) = advice(store)["slower"]
    assert "3.0x as long" in message


def test_paused_tasks_get_no_advice(store: Any) -> None:
    """A paused task is left alone, whatever its history."""
    define(store, "old", paused=True)
    write(store, [record("old", i, F, error="x") for i in range(5)])
    assert advice(store) == {}


def test_warnings_come_before_infos(store: Any) -> None:
    """The list starts with warnings."""
    define(store, "etl")
    write(store, [record("etl", i, S, duration=1.0 if i < 6 else 3.0) for i in range(12)])
    define(store, "broken")
    write(store, [record("broken", i, F, error="x") for i in range(3)])
    rules = [r.severity for r in recommend(TaskAnalytics(store, now=NOW).summaries())]
    assert rules == ["warning", "info"]
