"""The web dashboard for ``autocron dashboard --web`` and ``autocron start --web``.

The token is ``$AUTOCRON_DASH_TOKEN`` when set; otherwise, on loopback only,
a fresh one made with ``secrets`` and printed once to this terminal (never
logged, never put in a URL). Beyond loopback a token must be configured, or
the command stops with exit code 2 before binding anything.
"""

from __future__ import annotations

import os
from typing import Any

from autocron_cli import output
from autocron_cli._common import BadInput, CliError

__all__ = ["start_web"]


def start_web(source: Any, host: str, port: int, host_option: str = "--host") -> Any:
    """Serve the web dashboard for ``source`` (a scheduler or a store URL); the running server.

    Raises:
        BadInput: the extra is missing, or a non-loopback host has no configured token.
        CliError: the address cannot be bound.
    """
    try:
        from autocron_dash.env import AUTOCRON_DASH_TOKEN
        from autocron_dash.web import serve_dashboard
        from autocron_dash.web._security import is_loopback, new_token
    except ImportError as exc:
        raise BadInput(
            str(exc) if "autocron-dash[web]" in str(exc) else f'{exc}; pip install "autocron-dash[web]"'
        ) from None
    configured = os.environ.get(AUTOCRON_DASH_TOKEN) or None
    if not is_loopback(host) and not configured:
        raise BadInput(
            f"{host_option} {host!r} is not a loopback address: set {AUTOCRON_DASH_TOKEN} to a secret first, "
            "since anyone who can reach the dashboard could read every task's output and run or pause tasks"
        )
    token = configured or new_token()
    try:
        server = serve_dashboard(source, host=host, port=port, token=token, by="web")
    except OSError as exc:
        raise CliError(f"cannot serve the web dashboard on {host}:{port}: {exc.strerror or exc}") from None
    output.line(f"Web dashboard at {server.url}/ (metrics at /metrics, health at /healthz)")
    if configured:
        output.line(f"Actions (run now, pause, resume) take the token in {AUTOCRON_DASH_TOKEN}.")
    else:
        # Printed once, to this terminal only: it is the password for every action.
        output.line(f"Token for actions (shown once; set {AUTOCRON_DASH_TOKEN} to choose your own): {token}")
    return server
