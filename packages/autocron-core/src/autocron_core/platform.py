"""Platform facts, under the names the original AutoCron used."""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["get_platform_info", "is_linux", "is_macos", "is_windows"]


def is_windows() -> bool:
    """Whether this is Windows."""
    return sys.platform == "win32"


def is_linux() -> bool:
    """Whether this is Linux."""
    return sys.platform.startswith("linux")


def is_macos() -> bool:
    """Whether this is macOS."""
    return sys.platform == "darwin"


def get_platform_info() -> dict[str, Any]:
    """The system, release, machine, Python version and executable, and the CPU count."""
    import platform as _platform

    return {
        "system": _platform.system(),
        "release": _platform.release(),
        "machine": _platform.machine(),
        "python_version": _platform.python_version(),
        "python_executable": sys.executable,
        "cpu_count": os.cpu_count(),
    }
