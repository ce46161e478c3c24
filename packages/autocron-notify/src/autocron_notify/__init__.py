"""Desktop, email and webhook notifications for AutoCron.

The three channels register themselves as the ``desktop``, ``email`` and
``webhook`` entries of the ``autocron.notifiers`` group, so
``add_task(..., notify="email")`` finds them without importing this package.
"""

from __future__ import annotations

from typing import Any

from .desktop import DesktopNotifier
from .email import EmailNotifier
from .manager import NotificationManager
from .webhook import WebhookNotifier

__all__ = ["DesktopNotifier", "EmailNotifier", "NotificationManager", "WebhookNotifier"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("autocron-notify")
    raise AttributeError(name)
