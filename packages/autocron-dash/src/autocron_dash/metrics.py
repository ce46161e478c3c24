"""Prometheus metrics and a health endpoint for a running scheduler.

``serve_metrics(scheduler, port)`` starts an HTTP server in a daemon thread:
``/metrics`` in the Prometheus text format and ``/healthz`` as JSON (200 while
the scheduler loop is alive, 503 otherwise). Each server owns a private
``CollectorRegistry``, so several schedulers (or tests) in one process never
share or clash over metric names in the global registry.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from autocron_core import Event, EventKind

__all__ = [
    "DURATION_BUCKETS",
    "LATENESS_BUCKETS",
    "MAX_CONNECTIONS",
    "READ_TIMEOUT",
    "REQUEST_DEADLINE",
    "MetricsServer",
    "SchedulerMetrics",
    "serve_metrics",
]

logger = logging.getLogger("autocron.dash.metrics")

#: Seconds; from sub-second jobs to hour-long batch runs.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, float("inf"))
#: Seconds a run started after its scheduled time.
LATENESS_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, float("inf"))
#: Seconds a connection may stay silent before the server drops it.
READ_TIMEOUT = 5.0
#: Seconds a connection may last in all (a client trickling one byte at a time
#: resets the read timeout; this bound it cannot).
REQUEST_DEADLINE = 15.0
#: Connections served at once (one thread each); more get 503 at once. A
#: Prometheus server scrapes with one connection, so this is generous.
MAX_CONNECTIONS = 16
_BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
)
_FINAL = (
    EventKind.SUCCEEDED, EventKind.FAILED, EventKind.TIMED_OUT, EventKind.SKIPPED, EventKind.MISSED,
    EventKind.CANCELLED,  # stopped by overlap_policy cancel_other / terminate_other
)  # fmt: skip


class _StateCollector(Collector):
    """Values read from the scheduler at scrape time, so they are never stale."""

    def __init__(self, scheduler: Any) -> None:
        self._scheduler = scheduler

    def collect(self) -> Iterator[GaugeMetricFamily]:
        health = self._scheduler.health()
        yield GaugeMetricFamily(
            "autocron_running_instances",
            "Runs in flight now.",
            value=float(health.get("running_instances") or 0),
        )
        yield GaugeMetricFamily(
            "autocron_scheduler_loop_alive",
            "1 while the scheduler loop thread runs.",
            value=1.0 if health.get("loop_alive") else 0.0,
        )
        heartbeat = getattr(self._scheduler, "heartbeat_us", 0) or 0
        yield GaugeMetricFamily(
            "autocron_scheduler_heartbeat_timestamp_seconds",
            "When the scheduler loop last woke up (Unix time).",
            value=heartbeat / 1e6,
        )
        yield GaugeMetricFamily(
            "autocron_tasks", "Tasks known to the scheduler.", value=float(health.get("tasks") or 0)
        )
        next_run = GaugeMetricFamily(
            "autocron_task_next_run_timestamp_seconds",
            "When each task fires next (Unix time); absent when it will not.",
            labels=["task"],
        )
        paused = GaugeMetricFamily("autocron_task_paused", "1 when the task is paused.", labels=["task"])
        for task in self._scheduler.list_tasks():
            paused.add_metric([task.name], 1.0 if task.paused else 0.0)
            if task.next_run is not None and not task.paused:
                next_run.add_metric([task.name], task.next_run.timestamp())
        yield next_run
        yield paused


class SchedulerMetrics:
    """The metrics of one scheduler in a private registry, fed by its events.

    Args:
        scheduler: the ``AutoCron`` scheduler to observe.
        registry: where to register (default: a new ``CollectorRegistry``).
    """

    def __init__(self, scheduler: Any, registry: CollectorRegistry | None = None) -> None:
        self.scheduler = scheduler
        self.registry = registry or CollectorRegistry()
        self.runs = Counter(
            "autocron_runs",
            "Finished runs and not-run occurrences, by task and status.",
            ["task", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "autocron_run_duration_seconds",
            "How long runs took, by task.",
            ["task"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.lateness = Histogram(
            "autocron_run_lateness_seconds",
            "How long after its scheduled time a run started, by task.",
            ["task"],
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(scheduler))
        self._attached = False

    def attach(self) -> None:
        """Start listening to the scheduler's run events."""
        if not self._attached:
            self.scheduler.add_listener(self.observe, [EventKind.STARTED, *_FINAL])
            self._attached = True

    def detach(self) -> None:
        """Stop listening (the registry keeps what it counted)."""
        if self._attached:
            self.scheduler.remove_listener(self.observe)
            self._attached = False

    def observe(self, event: Event) -> None:
        """Count one event (the listener the scheduler calls)."""
        record = event.record
        if event.kind is EventKind.STARTED:
            if record is not None and record.started_at is not None:
                late = (record.started_at - record.scheduled_for).total_seconds()
                self.lateness.labels(event.task_name).observe(max(0.0, late))
            return
        self.runs.labels(event.task_name, event.kind.value).inc()
        if record is not None and record.duration is not None:
            self.duration.labels(event.task_name).observe(record.duration)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Every read and write on the connection is bounded by it (a read of the request line too).
        self.connection.settimeout(self.server.read_timeout)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, self.server.metrics.exposition())
        elif path == "/healthz":
            try:
                health = self.server.metrics.scheduler.health()
            except Exception:
                logger.exception("scheduler.health() raised")
                health = {"loop_alive": False, "error": "health check failed"}
            body = json.dumps(health, default=str).encode()
            self._send(200 if health.get("loop_alive") else 503, "application/json", body)
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # http.server writes each request to stderr; a scrape every 15 s is debug noise.
        logger.debug("%s - " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    """One thread per connection, but never more than ``max_connections``, none kept past its deadline."""

    daemon_threads = True
    # The kernel's queue of connections not yet accepted: socketserver's 5 drops
    # a burst's SYNs (clients then wait a second to retry) before we can refuse them.
    request_queue_size = 128
    metrics: SchedulerMetrics

    def __init__(
        self,
        address: tuple[str, int],
        *,
        read_timeout: float,
        request_deadline: float,
        max_connections: int,
    ) -> None:
        super().__init__(address, _Handler)
        self.read_timeout = read_timeout
        self.request_deadline = request_deadline
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: dict[socket.socket, float] = {}
        self._open_lock = threading.Lock()
        self._warned_busy = False

    def process_request(self, request: Any, client_address: Any) -> None:
        # Runs on the serving thread: refusing here costs no thread at all.
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        with self._open_lock:
            self._open[request] = time.monotonic()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def service_actions(self) -> None:
        # Called by serve_forever every poll interval: end connections past their deadline.
        # shutdown() wakes the handler thread's blocked read, which then closes the socket.
        now = time.monotonic()
        with self._open_lock:
            overdue = [sock for sock, began in self._open.items() if now - began > self.request_deadline]
        for sock in overdue:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _forget(self, request: Any) -> None:
        with self._open_lock:
            if self._open.pop(request, None) is None:
                return
        self._slots.release()

    def _refuse(self, request: Any) -> None:
        if not self._warned_busy:
            self._warned_busy = True
            logger.warning("metrics server: %d connections open; answering 503 to more", len(self._open))
        with contextlib.suppress(OSError):
            request.setblocking(False)  # never wait on a client that does not read
            request.send(_BUSY)
        self.shutdown_request(request)


class MetricsServer:
    """A running metrics endpoint; ``close()`` stops it and detaches from the scheduler.

    Attributes:
        host: the address it listens on.
        port: the port it listens on (the real one when 0 was asked for).
        metrics: the ``SchedulerMetrics`` it serves.
    """

    def __init__(
        self,
        metrics: SchedulerMetrics,
        host: str,
        port: int,
        *,
        read_timeout: float = READ_TIMEOUT,
        request_deadline: float = REQUEST_DEADLINE,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.metrics = metrics
        self._server = _Server(
            (host, port),
            read_timeout=read_timeout,
            request_deadline=request_deadline,
            max_connections=max_connections,
        )
        self._server.metrics = metrics
        self.host = host
        self.port: int = self._server.server_address[1]
        # A short poll keeps close() quick: shutdown() waits for the loop's next turn.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="autocron-metrics",
            daemon=True,
        )
        self._thread.start()
        logger.info("metrics at http://%s:%d/metrics, health at /healthz", host, self.port)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:9100``."""
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """Stop serving, free the port and stop listening to events. Safe to call twice."""
        self.metrics.detach()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_metrics(
    scheduler: Any,
    port: int,
    host: str = "127.0.0.1",
    *,
    read_timeout: float = READ_TIMEOUT,
    request_deadline: float = REQUEST_DEADLINE,
    max_connections: int = MAX_CONNECTIONS,
) -> MetricsServer:
    """Serve ``/metrics`` and ``/healthz`` for ``scheduler`` from a daemon thread.

    The server holds at most ``max_connections`` connections (a thread each);
    more are answered 503 at once. A connection silent for ``read_timeout``
    seconds, or open for ``request_deadline`` seconds in all, is closed.

    Args:
        scheduler: the ``AutoCron`` scheduler to observe.
        port: the TCP port (0 picks a free one; read it back from ``.port``).
        host: the address to bind; loopback by default, since metrics tell
            anyone who can reach them what runs on this machine.
        read_timeout: seconds a connection may stay silent.
        request_deadline: seconds a connection may last.
        max_connections: connections served at once.

    Returns:
        The running server; call ``close()`` to stop it.

    Raises:
        OSError: the address is in use or cannot be bound.
    """
    metrics = SchedulerMetrics(scheduler)
    metrics.attach()
    try:
        return MetricsServer(
            metrics,
            host,
            port,
            read_timeout=read_timeout,
            request_deadline=request_deadline,
            max_connections=max_connections,
        )
    except BaseException:
        metrics.detach()
        raise
