"""The metrics server bounds its connections: a read timeout, a deadline and a cap (issue 15, fault 21)."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron
from autocron_dash import MetricsServer, serve_metrics
from autocron_dash.metrics import MAX_CONNECTIONS

pytestmark = pytest.mark.realtime


@pytest.fixture
def scheduler() -> Iterator[AutoCron]:
    """A started scheduler with no tasks."""
    instance = AutoCron(timezone="UTC")
    instance.start(blocking=False)
    yield instance
    instance.stop()


def _connect(server: MetricsServer, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    """Open ``count`` loopback connections that send ``first_bytes`` and then nothing."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection((server.host, server.port), timeout=5)
        if first_bytes:
            sock.sendall(first_bytes)
        socks.append(sock)
    return socks


def _handler_threads() -> int:
    # ThreadingMixIn names its threads after process_request_thread.
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server has answered or closed the connection (EOF or a 503)."""
    sock.settimeout(0.01)
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.0 503")


def _scrape(server: MetricsServer) -> int:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as response:  # noqa: S310 - loopback
        return int(response.status)


def test_a_thousand_idle_connections_hold_a_bounded_number_of_threads(scheduler: AutoCron) -> None:
    """1,000 idle loopback connections never make the server hold more than its cap of threads."""
    with serve_metrics(scheduler, 0) as server:
        socks = _connect(server, 1000)
        try:
            time.sleep(0.5)  # let the server accept what it will
            assert _handler_threads() <= MAX_CONNECTIONS
            refused = sum(_closed_by_server(s) for s in socks)
            assert refused >= 1000 - MAX_CONNECTIONS
        finally:
            for sock in socks:
                sock.close()


def test_idle_connections_are_dropped_after_the_read_timeout(scheduler: AutoCron) -> None:
    """A client that connects and says nothing is disconnected, and scrapes work again right after."""
    with serve_metrics(scheduler, 0, read_timeout=0.5, max_connections=4) as server:
        socks = _connect(server, 4)
        try:
            assert _wait_for(lambda: all(_closed_by_server(s) for s in socks), 5)
            assert _wait_for(lambda: _handler_threads() == 0, 2)
            assert _scrape(server) == 200
        finally:
            for sock in socks:
                sock.close()


def test_a_client_trickling_bytes_is_cut_off_at_the_deadline(scheduler: AutoCron) -> None:
    """A slow client sending one byte at a time, each within the read timeout, is closed at the deadline."""
    with serve_metrics(scheduler, 0, read_timeout=1.0, request_deadline=1.0) as server:
        (sock,) = _connect(server, 1, b"G")
        began = time.monotonic()
        try:
            while time.monotonic() - began < 5:
                try:
                    sock.sendall(b"E")
                except OSError:
                    break
                if _closed_by_server(sock):
                    break
                time.sleep(0.2)
            took = time.monotonic() - began
            assert took < 3, f"the trickling client was served for {took:.1f}s"
        finally:
            sock.close()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    idle=st.integers(min_value=0, max_value=60),
    partial=st.sampled_from([b"", b"GET", b"GET /metrics HTTP/1.1\r\n", b"\x00\xff" * 8]),
    cap=st.integers(min_value=1, max_value=8),
)
def test_the_server_recovers_from_any_flood_of_stalled_clients(
    scheduler: AutoCron, idle: int, partial: bytes, cap: int
) -> None:
    """Whatever stalled clients send, threads stay under the cap and a scrape succeeds once they time out."""
    with serve_metrics(scheduler, 0, read_timeout=0.3, request_deadline=1.0, max_connections=cap) as server:
        socks = _connect(server, idle, partial)
        try:
            time.sleep(0.1)
            assert _handler_threads() <= cap
            assert _wait_for(lambda: _handler_threads() == 0, 3)
            assert _scrape(server) == 200
        finally:
            for sock in socks:
                sock.close()
