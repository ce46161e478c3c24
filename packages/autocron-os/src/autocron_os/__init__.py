"""Hands AutoCron tasks to the operating system's scheduler.

``get_os_adapter()`` picks the one for this host: systemd user timers when a
user systemd instance runs, else cron, on Linux; launchd on macOS; Task
Scheduler on Windows. Every entry runs ``<python> -m autocron_cli run <name>``.
"""

from __future__ import annotations

import logging
import sys

from ._secrets import mask_secrets
from .base import OSAdapter, Runner, subprocess_runner
from .cron import CronAdapter, UnixAdapter
from .launchd import LaunchdAdapter
from .systemd import SystemdAdapter, user_instance_running
from .windows import WindowsAdapter

__all__ = [
    "CronAdapter",
    "LaunchdAdapter",
    "OSAdapter",
    "SystemdAdapter",
    "UnixAdapter",
    "WindowsAdapter",
    "get_os_adapter",
    "mask_secrets",
]

logger = logging.getLogger("autocron.os")


def get_os_adapter(runner: Runner | None = None, platform: str | None = None) -> OSAdapter:
    """The adapter for this host's scheduler.

    Args:
        runner: runs the host's tools (tests inject one); also used to ask
            systemd whether a user instance runs.
        platform: ``sys.platform`` to decide for (default: this host).
    """
    platform = platform or sys.platform
    if platform == "darwin":
        return LaunchdAdapter(runner=runner)
    if platform == "win32":
        return WindowsAdapter(runner=runner)
    if platform.startswith("linux") and user_instance_running(runner or subprocess_runner):
        logger.debug("a systemd user instance runs: using systemd timers")
        return SystemdAdapter(runner=runner)
    return CronAdapter(runner=runner)
