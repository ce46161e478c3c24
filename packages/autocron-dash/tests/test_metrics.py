"""/metrics and /healthz scraped over real HTTP from a scheduler running real tasks."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from autocron_core import AutoCron, Event, EventKind
from autocron_dash import serve_metrics

DEADLINE = 15.0


def get(url: str) -> tuple[int, str]:
    """Status and body of a GET (an HTTP error status is returned, not raised)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback http only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) → value of a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.realtime
def test_scrape_metrics_and_health_of_a_running_scheduler() -> None:
    """Counters, histograms and gauges reflect real runs; /healthz turns 503 after stop."""
    scheduler = AutoCron(timezone="UTC", max_workers=2)
    scheduler.add_task("ok", func=lambda: None, every=0.2)
    scheduler.add_task("boom", func=lambda: 1 / 0, every=0.2)
    finished: Counter[tuple[str, str]] = Counter()
    enough = threading.Event()

    def count(event: Event) -> None:
        finished[(event.task_name, event.kind.value)] += 1
        if finished[("ok", "succeeded")] >= 2 and finished[("boom", "failed")] >= 2:
            enough.set()

    server = serve_metrics(scheduler, 0)
    # Registered after the metrics listener, so the metrics have counted what this one saw.
    scheduler.add_listener(count, [EventKind.SUCCEEDED, EventKind.FAILED])
    try:
        scheduler.start(blocking=False)
        assert enough.wait(DEADLINE), f"runs seen before the deadline: {dict(finished)}"
        status, body = get(f"{server.url}/metrics")
        assert status == 200
        values = samples(body)
        assert values[("autocron_runs_total", (("status", "succeeded"), ("task", "ok")))] >= 2
        assert values[("autocron_runs_total", (("status", "failed"), ("task", "boom")))] >= 2
        assert values[("autocron_run_duration_seconds_count", (("task", "ok"),))] >= 2
        assert values[("autocron_run_lateness_seconds_count", (("task", "ok"),))] >= 2
        assert ("autocron_task_next_run_timestamp_seconds", (("task", "ok"),)) in values
        assert values[("autocron_scheduler_loop_alive", ())] == 1.0
        assert values[("autocron_scheduler_heartbeat_timestamp_seconds", ())] > 1.7e9
        assert values[("autocron_tasks", ())] == 2.0
        assert ("autocron_running_instances", ()) in values

        status, body = get(f"{server.url}/healthz")
        health = json.loads(body)
        assert status == 200 and health["loop_alive"] is True and health["tasks"] == 2

        scheduler.stop()
        status, body = get(f"{server.url}/healthz")
        assert status == 503 and json.loads(body)["loop_alive"] is False
        assert samples(get(f"{server.url}/metrics")[1])[("autocron_scheduler_loop_alive", ())] == 0.0
    finally:
        scheduler.stop()
        server.close()


def test_unknown_path_is_404_and_close_frees_the_port() -> None:
    """Other paths are 404; after close() nothing listens and the listener is removed."""
    scheduler = AutoCron(timezone="UTC")
    server = serve_metrics(scheduler, 0)
    url = server.url
    assert get(f"{url}/nope")[0] == 404
    assert get(f"{url}/healthz")[0] == 503  # never started
    server.close()
    server.close()  # twice is fine
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/healthz", timeout=2)  # noqa: S310 - loopback http only
    assert not scheduler.remove_listener(server.metrics.observe)


def test_each_server_has_its_own_registry() -> None:
    """Two servers in one process never touch the global registry or each other."""
    first, second = AutoCron(timezone="UTC"), AutoCron(timezone="UTC")
    with serve_metrics(first, 0) as a, serve_metrics(second, 0) as b:
        assert a.metrics.registry is not b.metrics.registry
        assert REGISTRY.get_sample_value("autocron_tasks") is None


def test_binding_a_busy_port_raises_and_detaches() -> None:
    """A port in use raises OSError and leaves no listener behind."""
    scheduler = AutoCron(timezone="UTC")
    with serve_metrics(scheduler, 0) as server:
        listeners: list[Any] = []
        original = scheduler.add_listener

        def spy(callback: Any, kinds: Any = None) -> None:
            listeners.append(callback)
            original(callback, kinds)

        scheduler.add_listener = spy  # type: ignore[method-assign]
        with pytest.raises(OSError):
            serve_metrics(scheduler, server.port)
        assert listeners and not scheduler.remove_listener(listeners[0])


def test_cancelled_runs_are_counted() -> None:
    """A run stopped by cancel_other is counted under status="cancelled", with its duration."""
    import asyncio
    import datetime as dt

    from autocron_core.testing import FakeClock

    clock = FakeClock(dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone.utc))
    scheduler = AutoCron(timezone="UTC", clock=clock, max_workers=2)
    from autocron_dash.metrics import SchedulerMetrics

    metrics = SchedulerMetrics(scheduler)
    metrics.attach()
    started = threading.Semaphore(0)
    cancelled = threading.Event()

    async def sleeper() -> None:
        started.release()
        await asyncio.sleep(600)

    scheduler.add_listener(lambda e: cancelled.set(), [EventKind.CANCELLED])
    scheduler.add_task("sleeper", func=sleeper, every="1s", overlap_policy="cancel_other")
    scheduler.start(blocking=False)
    try:
        clock.advance(1)
        assert started.acquire(timeout=DEADLINE)
        clock.advance(1)
        assert cancelled.wait(DEADLINE)
        values = samples(metrics.exposition().decode())
        assert values[("autocron_runs_total", (("status", "cancelled"), ("task", "sleeper")))] == 1
    finally:
        scheduler.stop(wait=True, timeout=0.5)
