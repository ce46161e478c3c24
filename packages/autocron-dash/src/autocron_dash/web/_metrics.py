"""``/metrics`` and ``/healthz`` of the web dashboard.

Beside a scheduler they are ``autocron_dash.metrics``'s (counters fed by its
events, state read at scrape time). On a store alone there are no events to
count, so the runs counter is read from the store's aggregates (``stats()``,
computed in the database): the totals it keeps, by task and status.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from autocron_dash._source import Source
from autocron_dash.metrics import SchedulerMetrics

__all__ = ["exposition", "health"]

_STATUSES = ("succeeded", "failed", "timed_out", "skipped", "missed", "abandoned")


class _StoreCollector(Collector):
    """Run totals and pause state read from a store at scrape time."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        runs = CounterMetricFamily(
            "autocron_runs", "Finished runs and not-run occurrences on record, by task and status.",
            labels=["task", "status"],
        )  # fmt: skip
        for row in self._source.store.stats():
            for status in _STATUSES:
                runs.add_metric([row.task, status], float(getattr(row, status)))
        yield runs
        tasks = self._source.tasks()
        paused = GaugeMetricFamily("autocron_task_paused", "1 when the task is paused.", labels=["task"])
        for task in tasks:
            paused.add_metric([task.name], 1.0 if task.paused else 0.0)
        yield paused
        yield GaugeMetricFamily("autocron_tasks", "Tasks defined in the store.", value=float(len(tasks)))


def exposition(source: Source, cached: Any) -> tuple[bytes, str, Any]:
    """The metrics text, its content type, and what to pass back next time (the registry in use)."""
    if cached is None:
        if source.scheduler is not None:
            cached = SchedulerMetrics(source.scheduler)
            cached.attach()
        else:
            cached = CollectorRegistry()
            cached.register(_StoreCollector(source))
    if isinstance(cached, SchedulerMetrics):
        return cached.exposition(), CONTENT_TYPE_LATEST, cached
    return generate_latest(cached), CONTENT_TYPE_LATEST, cached


def health(source: Source) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of ``/healthz``.

    Beside a scheduler: ``scheduler.health()``, 200 while its loop is alive.
    On a store alone: 200 when the store answers a one-row read, else 503.
    """
    if source.scheduler is not None:
        try:
            state = dict(source.scheduler.health())
        except Exception:
            return 503, {"loop_alive": False, "error": "health check failed"}
        return (200 if state.get("loop_alive") else 503), {k: _plain(v) for k, v in state.items()}
    try:
        source.store.history(None, 1)
    except Exception as exc:
        return 503, {"store": "unreachable", "error": type(exc).__name__}
    return 200, {"store": "ok"}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
