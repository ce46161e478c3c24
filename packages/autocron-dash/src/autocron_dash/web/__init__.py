"""The web dashboard (the ``autocron-dash[web]`` extra): pages, live updates, actions, metrics.

``serve_dashboard(scheduler_or_store, host="127.0.0.1", port=8765, token=None)``
serves it from a thread; ``WebDashboard`` is the ASGI application itself.
Importing this package needs Starlette, uvicorn and Jinja2; without them it
raises ``ImportError`` carrying the line that installs them.
"""

from __future__ import annotations

#: The htmx release vendored in ``static/htmx.min.js`` (npm ``htmx.org``, 0BSD: ``static/htmx.LICENSE.txt``).
HTMX_VERSION = "2.0.11"
#: The command that installs what this package needs.
INSTALL = 'pip install "autocron-dash[web]"'

try:
    import jinja2  # noqa: F401 - probed here so the error names the extra, not one library
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in an environment without the extra
    raise ImportError(f"the web dashboard needs {exc.name or 'its libraries'}: {INSTALL}") from exc

from .app import WebDashboard  # noqa: E402 - after the probe, so a missing extra gets its own message
from .server import DEFAULT_PORT, DashboardServer, serve_dashboard  # noqa: E402

__all__ = ["DEFAULT_PORT", "HTMX_VERSION", "INSTALL", "DashboardServer", "WebDashboard", "serve_dashboard"]
