"""``serve_dashboard``: the web dashboard served by uvicorn from a daemon thread."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

import uvicorn

from autocron_dash.env import AUTOCRON_DASH_TOKEN

from ._security import check_bind
from .app import WebDashboard

__all__ = ["DEFAULT_PORT", "MAX_CONCURRENCY", "STARTUP_TIMEOUT", "DashboardServer", "serve_dashboard"]

logger = logging.getLogger("autocron.dash.web")

#: The port ``autocron dashboard --web`` and ``serve_dashboard`` use by default.
DEFAULT_PORT = 8765
#: Seconds to wait for the server to accept connections before giving up.
STARTUP_TIMEOUT = 30.0
#: Connections and requests served at once (each open page holds one live request); more get 503.
MAX_CONCURRENCY = 100


class DashboardServer:
    """A running web dashboard; ``close()`` stops it and frees the port.

    Attributes:
        host: the address it listens on.
        port: the port it listens on (the real one when 0 was asked for).
        dashboard: the ``WebDashboard`` application it serves.
    """

    def __init__(self, dashboard: WebDashboard, sock: socket.socket, host: str) -> None:
        self.dashboard = dashboard
        self.host = host
        self.port: int = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            dashboard.app,
            log_config=None,  # library code never configures logging handlers
            access_log=False,
            server_header=False,
            proxy_headers=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            limit_concurrency=MAX_CONCURRENCY,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="autocron-web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise OSError(f"the web dashboard did not start on {self.url}")
            time.sleep(0.01)
        logger.info("web dashboard at %s", self.url)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8765`` (never with the token in it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """Stop serving (live requests are answered or dropped) and free the port. Safe to call twice."""
        self.dashboard.changes.close()  # held live requests answer now instead of holding the shutdown
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(10)
        if self.dashboard.actions is not None:
            self.dashboard.actions.join(5)
        self._sock.close()

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve_dashboard(
    scheduler_or_store: Any = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    *,
    by: str = "web",
) -> DashboardServer:
    """Serve the web dashboard for a scheduler or a store from a daemon thread.

    Reading needs nothing on a loopback address; every action (run now,
    pause, resume, backfill) needs the token, entered once in the login form
    (docs/security.md, "The web dashboard").

    Args:
        scheduler_or_store: an ``AutoCron`` scheduler (live state, actions
            through it), a store, a store URL or database path, or ``None``
            for the default database.
        host: the address to bind; loopback by default.
        port: the TCP port (0 picks a free one; read it back from ``.port``).
        token: the action token; ``None`` reads ``AUTOCRON_DASH_TOKEN``, and
            without either, actions are off.
        by: who pauses are recorded as made by.

    Returns:
        The running server; call ``close()`` to stop it.

    Raises:
        ConfigError: ``host`` is not loopback and no token is configured.
        OSError: the address is in use or cannot be bound.
    """
    token = token or os.environ.get(AUTOCRON_DASH_TOKEN) or None
    check_bind(host, token)
    if scheduler_or_store is None:
        from autocron_core.env import default_store_url

        scheduler_or_store = default_store_url()
    dashboard = WebDashboard(scheduler_or_store, host=host, token=token, by=by)
    sock = _bind(host, port)
    try:
        return DashboardServer(dashboard, sock, host)
    except BaseException:
        sock.close()
        raise
