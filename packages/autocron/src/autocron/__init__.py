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

__all__ = [n for n in _core_all if n != "__version__"] + sorted(_LAZY)  # noqa: PLE0605


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("autocron")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'autocron' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
