"""get_os_adapter picks the scheduler of the host, and the registry finds the adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import autocron_os
from autocron_core.registry import OS_ADAPTERS
from autocron_os import CronAdapter, LaunchdAdapter, SystemdAdapter, WindowsAdapter, get_os_adapter


def test_macos_and_windows(recorder: Any) -> None:
    """macOS gets launchd and Windows gets Task Scheduler."""
    assert isinstance(get_os_adapter(recorder, platform="darwin"), LaunchdAdapter)
    assert isinstance(get_os_adapter(recorder, platform="win32"), WindowsAdapter)


def test_linux_with_and_without_user_systemd(
    recorder: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Linux gets systemd timers when a user instance runs, else cron."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    recorder.handler = lambda argv, stdin: (1, "offline\n", "")
    assert isinstance(get_os_adapter(recorder, platform="linux"), CronAdapter)
    assert recorder.calls == [["systemctl", "--user", "is-system-running"]]
    recorder.handler = lambda argv, stdin: (0, "running\n", "")
    assert isinstance(get_os_adapter(recorder, platform="linux"), SystemdAdapter)


def test_entry_points() -> None:
    """The autocron.os_adapters names resolve to the adapter classes and the default factory."""
    assert OS_ADAPTERS.get("cron") is CronAdapter
    assert OS_ADAPTERS.get("systemd") is SystemdAdapter
    assert OS_ADAPTERS.get("launchd") is LaunchdAdapter
    assert OS_ADAPTERS.get("windows") is WindowsAdapter
    assert OS_ADAPTERS.get("default") is get_os_adapter


def test_public_names() -> None:
    """The original AutoCron's names are exported."""
    assert {
        "OSAdapter",
        "get_os_adapter",
        "UnixAdapter",
        "WindowsAdapter",
        "SystemdAdapter",
        "LaunchdAdapter",
        "CronAdapter",
    } <= set(autocron_os.__all__)


def test_forwarded_environment() -> None:
    """AUTOCRON_HOME and AUTOCRON_DATABASE of the installing process go with the entry."""
    command = CronAdapter(env={"AUTOCRON_HOME": "/h", "AUTOCRON_DATABASE": "", "PATH": "/bin"}).command("n")
    assert command.env == {"AUTOCRON_HOME": "/h"}
    assert command.argv[1:] == ["-m", "autocron_cli", "run", "--", "n"]
