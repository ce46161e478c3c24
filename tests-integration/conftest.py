"""Fixtures of the cross-package tests: a private ``redis-server`` for the tests that disturb it.

Killing clients or restarting the server would disturb every other test (and
every other developer) on the shared Redis, so those tests start their own
``redis-server`` on a free loopback port in a temporary folder, and stop it
in teardown whatever happened. Without the program they skip, or fail under
``AUTOCRON_TEST_REQUIRE_SERVICES=1`` (``.ci/run`` installs it from Debian).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process of a test's own, which the test may restart or stop.

    Args:
        folder: where its files (the append-only file, its log) go.
        durable: keep an append-only file fsynced after every write
            (``appendfsync always``), so a restart loses nothing acknowledged;
            otherwise nothing is kept (``--save '' --appendonly no``).
    """

    def __init__(self, folder: Path, durable: bool) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"] if durable else ["--appendonly", "no"]
        )
        self.argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--dir", str(folder), "--logfile", str(folder / "redis.log"), *persistence,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the server on its port and wait until it answers PING."""
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}")
            time.sleep(0.05)

    def crash(self) -> None:
        """SIGKILL the server: no clean shutdown, only what it had written survives."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _redis_server(tmp_path: Path, durable: bool) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        message = "needs the redis-server program (Debian package redis-server)"
        if os.environ.get("AUTOCRON_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} [AUTOCRON_TEST_REQUIRE_SERVICES=1 makes this a failure]")
        pytest.skip(message)
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder, durable)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server that keeps nothing on disk."""
    yield from _redis_server(tmp_path, durable=False)


@pytest.fixture
def durable_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server with an append-only file fsynced on every write."""
    yield from _redis_server(tmp_path, durable=True)
