"""DesktopNotifier: plyer first, then notify-send / osascript / PowerShell, and no display."""

from __future__ import annotations

import base64
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from autocron_core.errors import ConfigError, NotificationError
from autocron_core.events import EventKind
from autocron_core.registry import NOTIFIERS
from autocron_core.testing.notifier_contract import NotifierContract, contract_event
from autocron_notify import DesktopNotifier
from autocron_notify.desktop import POWERSHELL_APP_ID, notify_send_argv, powershell_script, run_command


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Linux desktop session seems present."""
    monkeypatch.setenv("DISPLAY", ":99")


@pytest.fixture
def no_plyer(monkeypatch: pytest.MonkeyPatch) -> None:
    """plyer cannot be imported."""
    monkeypatch.setitem(sys.modules, "plyer", None)


class TestDesktopContract(NotifierContract):
    """DesktopNotifier falling back to a recorded notify-send passes the notifier contract."""

    @pytest.fixture
    def notifier(self, stub_bin: Path, display: None, no_plyer: None) -> DesktopNotifier:
        return DesktopNotifier(platform="linux")

    @pytest.fixture
    def received(self, stub_calls: Callable[[], list[list[str]]]) -> Callable[[], Sequence[str]]:
        return lambda: ["\n".join(argv) for argv in stub_calls()]

    @pytest.fixture
    def broken_notifier(self, tmp_path: Path, display: None, no_plyer: None) -> DesktopNotifier:
        failing = tmp_path / "failing-notify-send"
        failing.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
        failing.chmod(0o755)
        return DesktopNotifier(
            platform="linux", runner=lambda argv, timeout: run_command([str(failing), *argv[1:]], timeout)
        )


def test_fallback_notify_send_gets_exact_arguments(
    stub_bin: Path, stub_calls: Any, display: None, no_plyer: None
) -> None:
    """Without plyer the notify-send on PATH is run with the title and summary as separate arguments."""
    notifier = DesktopNotifier(platform="linux", timeout=7)
    notifier.notify(contract_event(EventKind.FAILED, "-rf backup"))
    (argv,) = stub_calls()
    title = "AutoCron: -rf backup failed"
    body = "task '-rf backup' failed: ValueError: disk full"
    assert ["notify-send", *argv] == notify_send_argv(
        title, body, app_name="AutoCron", urgent=True, expire_ms=7000
    )
    assert argv == ["--app-name=AutoCron", "--urgency=critical", "--expire-time=7000", "--", title, body]
    assert notifier.delivered == 1


def test_success_is_not_urgent(stub_bin: Path, stub_calls: Any, display: None, no_plyer: None) -> None:
    """A recovery is shown with normal urgency."""
    DesktopNotifier(platform="linux").notify(contract_event(EventKind.SUCCEEDED, "job", recovered=True))
    assert stub_calls()[0][1] == "--urgency=normal"
    assert stub_calls()[0][-2] == "AutoCron: job recovered"


def test_plyer_failure_falls_back(stub_bin: Path, stub_calls: Any, display: None) -> None:
    """When plyer has no working backend the platform command is used."""
    notifier = DesktopNotifier(platform="linux")

    def broken(*_: Any) -> None:
        raise NotImplementedError("no usable implementation")

    notifier._plyer = broken
    notifier.notify(contract_event())
    assert len(stub_calls()) == 1


def test_real_plyer_delivers_or_falls_back(stub_bin: Path, stub_calls: Any, display: None) -> None:
    """With plyer installed, the popup still reaches notify-send (through plyer or the fallback)."""
    pytest.importorskip("plyer")
    DesktopNotifier(platform="linux").notify(contract_event(EventKind.FAILED, "with-plyer"))
    assert any("AutoCron: with-plyer failed" in argv for argv in stub_calls())


def test_plyer_used_first(display: None) -> None:
    """When plyer delivers, no command runs."""
    commands: list[Sequence[str]] = []
    shown: list[tuple[Any, ...]] = []
    notifier = DesktopNotifier(platform="linux", runner=lambda argv, t: commands.append(argv))
    notifier._plyer = lambda *args: shown.append(args)
    notifier.notify(contract_event(EventKind.FAILED, "p"))
    assert shown == [("AutoCron: p failed", "task 'p' failed: ValueError: disk full", "AutoCron", 10.0)]
    assert commands == []


def test_backend_plyer_only_raises_when_plyer_fails(display: None, no_plyer: None) -> None:
    """backend='plyer' does not fall back: a missing plyer is a NotificationError."""
    notifier = DesktopNotifier(backend="plyer", platform="linux")
    with pytest.raises(NotificationError, match="plyer"):
        notifier.notify(contract_event())
    assert notifier.failures == 1


def test_macos_uses_osascript_with_texts_as_arguments(no_plyer: None) -> None:
    """On macOS the osascript argv passes title and message as script arguments."""
    calls: list[Sequence[str]] = []
    notifier = DesktopNotifier(platform="darwin", runner=lambda argv, timeout: calls.append(argv))
    notifier.notify(contract_event(EventKind.FAILED, 'say "hi" \\ end'))
    assert calls == [
        [
            "osascript",
            "-e",
            "on run argv",
            "-e",
            "display notification (item 2 of argv) with title (item 1 of argv)",
            "-e",
            "end run",
            'AutoCron: say "hi" \\ end failed',
            "task 'say \"hi\" \\\\ end' failed: ValueError: disk full",
        ]
    ]


def test_windows_uses_an_encoded_powershell_toast(no_plyer: None) -> None:
    """On Windows the PowerShell argv carries the toast script base64-encoded, quotes doubled."""
    calls: list[Sequence[str]] = []
    notifier = DesktopNotifier(platform="win32", runner=lambda argv, timeout: calls.append(argv))
    notifier.notify(contract_event(EventKind.FAILED, "it's $(evil)"))
    (argv,) = calls
    assert argv[:6] == [
        "powershell",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-EncodedCommand",
    ]
    script = base64.b64decode(argv[6]).decode("utf-16-le")
    title = "AutoCron: it's $(evil) failed"
    body = 'task "it\'s $(evil)" failed: ValueError: disk full'
    assert script == powershell_script(title, body)
    assert "CreateTextNode('AutoCron: it''s $(evil) failed')" in script
    assert f"CreateToastNotifier('{POWERSHELL_APP_ID}')" in script


def test_no_display_warns_once_and_skips(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a display nothing runs, nothing raises, and one warning is logged for many events."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    calls: list[Sequence[str]] = []
    notifier = DesktopNotifier(platform="linux", runner=lambda argv, timeout: calls.append(argv))
    with caplog.at_level(logging.WARNING, logger="autocron"):
        for _ in range(3):
            notifier.notify(contract_event())
    assert calls == [] and notifier.skipped == 3
    assert len([r for r in caplog.records if "desktop notifications are off" in r.getMessage()]) == 1


def test_missing_command_warns_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    display: None,
    no_plyer: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Neither plyer nor notify-send available: a single warning, no exception per event."""
    monkeypatch.setenv("PATH", str(tmp_path))
    notifier = DesktopNotifier(platform="linux")
    with caplog.at_level(logging.WARNING, logger="autocron"):
        notifier.notify(contract_event())
        notifier.notify(contract_event())
    assert notifier.skipped == 2
    assert len([r for r in caplog.records if "notify-send is not installed" in r.getMessage()]) == 1


def test_entry_point_and_bad_settings() -> None:
    """The desktop entry point resolves to DesktopNotifier; unknown settings are refused."""
    assert NOTIFIERS.get("desktop") is DesktopNotifier
    with pytest.raises(ConfigError) as info:
        DesktopNotifier.from_config({"backend": "growl"})
    assert info.value.field == "backend"
    with pytest.raises(ConfigError) as info:
        DesktopNotifier.from_config({"sound": True})
    assert info.value.field == "sound"
