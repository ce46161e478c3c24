"""AutoCron: the one import most users type.

Re-exports the public API of autocron-core eagerly, and the names of the
other packages (``SqlStore``, ``EmailNotifier``, ``show_dashboard``, ...) on
first use, so ``import autocron`` stays as cheap as importing the core.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from autocron_core import *  # noqa: F403 - the facade re-exports core's __all__ as it is
from autocron_core import __all__ as _core_all

# Name -> module for the packages above core, resolved lazily.
_LAZY = {
    "FileStore": "autocron_store",
    "SqlStore": "autocron_store",
    "OSAdapter": "autocron_os",
    "UnixAdapter": "autocron_os",
    "CronAdapter": "autocron_os",
    "SystemdAdapter": "autocron_os",
    "LaunchdAdapter": "autocron_os",
    "WindowsAdapter": "autocron_os",
    "get_os_adapter": "autocron_os",
    "NotificationManager": "autocron_notify",
    "DesktopNotifier": "autocron_notify",
    "EmailNotifier": "autocron_notify",
    "WebhookNotifier": "autocron_notify",
    "Dashboard": "autocron_dash",
    "TaskAnalytics": "autocron_dash",
    "show_dashboard": "autocron_dash",
    "show_task": "autocron_dash",
    "live_monitor": "autocron_dash",
    "serve_metrics": "autocron_dash",
}

# The original package's metadata names, read from this distribution's own
# metadata (pyproject.toml's authors and license), so no value is typed twice.
_ABOUT = ("__author__", "__email__", "__license__", "__version__")

__all__ = [n for n in _core_all if n != "__version__"] + sorted(_LAZY) + list(_ABOUT)  # noqa: PLE0605


def _about(name: str) -> str:
    """``__version__``, ``__author__``, ``__email__`` or ``__license__`` of the autocron distribution."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        meta = metadata("autocron")
    except PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "unknown"
    if name == "__version__":
        return str(meta["Version"])
    if name == "__license__":
        found = (meta.get_all("License-Expression") or []) + (meta.get_all("License") or [])
        return str(found[0]) if found else "unknown"
    from email.utils import getaddresses

    # PEP 621 authors with an email land in Author-email as "Name <address>".
    people = getaddresses(meta.get_all("Author-email") or [])
    if name == "__author__":
        return ", ".join(n for n, _ in people if n) or ", ".join(meta.get_all("Author") or ["unknown"])
    return ", ".join(a for _, a in people if a)  # no address published: an empty string


def __getattr__(name: str) -> Any:
    if name in _ABOUT:
        value = _about(name)
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'autocron' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
