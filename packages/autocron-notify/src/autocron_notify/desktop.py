"""``DesktopNotifier``: a popup on the machine that runs the scheduler.

plyer is tried first; where it cannot deliver (not installed, no backend for
the platform, its backend fails) a fallback command is run: ``notify-send`` on
Linux and BSD, ``osascript`` on macOS, a PowerShell toast on Windows. Values
reach those programs as separate arguments (or, for PowerShell, as literals in
an encoded script), never through a shell. Without a display (a server, a
cron job) a warning is logged once and notifications are skipped.
"""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autocron_core.errors import ConfigError, NotificationError
from autocron_core.events import Event

from . import env
from ._render import render
from ._settings import as_seconds, reject_unknown

__all__ = ["BACKENDS", "DesktopNotifier", "notify_send_argv", "osascript_argv", "powershell_argv"]

logger = logging.getLogger("autocron.notify.desktop")

#: ``backend`` values: ``auto`` is plyer first, then the platform's command.
BACKENDS = ("auto", "plyer", "notify-send", "osascript", "powershell")
#: Characters of the message shown in a popup (they are small).
BODY_CHARS = 240
#: The app id PowerShell's own toasts use: unregistered ids are silently dropped by Windows.
POWERSHELL_APP_ID = r"{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\WindowsPowerShell\v1.0\powershell.exe"
SETTINGS = ("backend", "app_name", "timeout", "platform", "runner")

Runner = Callable[[Sequence[str], float], None]


def notify_send_argv(title: str, body: str, *, app_name: str, urgent: bool, expire_ms: int) -> list[str]:
    """The ``notify-send`` command line (``--`` ends options: a title may start with ``-``)."""
    return [
        "notify-send",
        f"--app-name={app_name}",
        f"--urgency={'critical' if urgent else 'normal'}",
        f"--expire-time={expire_ms}",
        "--",
        title,
        body,
    ]


def osascript_argv(title: str, body: str) -> list[str]:
    """The ``osascript`` command line: the texts are passed as arguments, not spliced into the script."""
    return [
        "osascript",
        "-e",
        "on run argv",
        "-e",
        "display notification (item 2 of argv) with title (item 1 of argv)",
        "-e",
        "end run",
        title,
        body,
    ]


def _ps_literal(text: str) -> str:
    # Inside single quotes PowerShell only interprets quotes, and it treats the
    # typographic ones as quotes too: each is doubled.
    for quote in ("'", "\u2018", "\u2019", "\u201a", "\u201b"):
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def powershell_script(title: str, body: str, app_id: str = POWERSHELL_APP_ID) -> str:
    """The PowerShell toast script; texts become XML text nodes, so no markup is interpreted."""
    return "\n".join(
        [
            "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, "
            "ContentType = WindowsRuntime] > $null",
            "$xml = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent("
            "[Windows.UI.Notifications.ToastTemplateType]::ToastText02)",
            "$texts = $xml.GetElementsByTagName('text')",
            f"$null = $texts.Item(0).AppendChild($xml.CreateTextNode({_ps_literal(title)}))",
            f"$null = $texts.Item(1).AppendChild($xml.CreateTextNode({_ps_literal(body)}))",
            "$toast = [Windows.UI.Notifications.ToastNotification]::new($xml)",
            f"[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier({_ps_literal(app_id)}).Show($toast)",
        ]
    )


def powershell_argv(title: str, body: str, app_id: str = POWERSHELL_APP_ID) -> list[str]:
    """The ``powershell`` command line; the script is passed base64-encoded (UTF-16LE) so
    Windows' command-line quoting never sees the texts."""
    encoded = base64.b64encode(powershell_script(title, body, app_id).encode("utf-16-le")).decode("ascii")
    return [
        "powershell",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-EncodedCommand",
        encoded,
    ]


def run_command(argv: Sequence[str], timeout: float) -> None:
    """Run a fallback command; a non-zero exit or a timeout is a ``NotificationError``."""
    try:
        result = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise NotificationError(f"{argv[0]} did not finish within {timeout:g}s") from None
    except OSError as exc:
        raise NotificationError(f"could not run {argv[0]}: {exc.strerror or exc}") from None
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise NotificationError(
            f"{argv[0]} exited with code {result.returncode}" + (f": {detail[-1]}" if detail else "")
        )


def _plyer_notify(title: str, body: str, app_name: str, timeout: float) -> None:
    """Deliver through plyer; raises when plyer is missing or has no working backend."""
    from plyer import notification

    with warnings.catch_warnings():  # plyer warns about optional modules on every lookup
        warnings.simplefilter("ignore")
        notification.notify(title=title, message=body, app_name=app_name, timeout=int(timeout))


class DesktopNotifier:
    """Shows each notification as a desktop popup.

    Args:
        backend: ``auto`` (plyer, then the platform's command), ``plyer``,
            ``notify-send``, ``osascript`` or ``powershell``.
        app_name: the application name shown with the popup.
        timeout: seconds the popup stays and a fallback command may take (default 10).
        platform: the ``sys.platform`` to act as (tests; default this machine's).
        runner: runs a fallback command as ``runner(argv, timeout)`` (tests).

    Attributes:
        delivered, failures, skipped: counts; ``skipped`` counts notifications
            dropped because there is no display.
    """

    name = "desktop"

    def __init__(
        self,
        backend: str = "auto",
        app_name: str = "AutoCron",
        timeout: float | str = 10.0,
        platform: str | None = None,
        runner: Runner | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"backend={backend!r}: expected one of {', '.join(BACKENDS)}", field="backend")
        if not isinstance(app_name, str) or not app_name.strip():
            raise ConfigError(f"app_name={app_name!r}: expected a non-empty name", field="app_name")
        self.backend = backend
        self.app_name = app_name
        self.timeout = as_seconds("timeout", timeout)
        self.platform = platform or sys.platform
        self._runner = runner or run_command
        self._plyer: Callable[[str, str, str, float], None] = _plyer_notify
        self.delivered = 0
        self.failures = 0
        self.skipped = 0
        self._warned = False
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DesktopNotifier:
        """Build from a settings mapping (what the dispatcher passes).

        Raises:
            ConfigError: an unknown or invalid setting.
        """
        reject_unknown(config, SETTINGS, "desktop")
        return cls(**dict(config))

    def __repr__(self) -> str:
        return f"DesktopNotifier(backend={self.backend!r}, platform={self.platform!r})"

    def _fallback(self) -> str:
        if self.backend not in ("auto", "plyer"):
            return self.backend
        if self.platform.startswith("win"):
            return "powershell"
        if self.platform == "darwin":
            return "osascript"
        return "notify-send"

    def _has_display(self) -> bool:
        if self.platform.startswith("win") or self.platform == "darwin":
            return True
        return env.display_available()

    def _skip(self, why: str) -> None:
        with self._lock:
            self.skipped += 1
            first, self._warned = not self._warned, True
        if first:
            logger.warning("desktop notifications are off: %s (logged once)", why)

    def notify(self, event: Event) -> None:
        """Show a popup for ``event``; without a display, skip it (warning once).

        Raises:
            NotificationError: neither plyer nor the fallback command could deliver.
        """
        if not self._has_display():
            self._skip("no display (DISPLAY, WAYLAND_DISPLAY and DBUS_SESSION_BUS_ADDRESS are unset)")
            return
        rendered = render(event)
        body = (
            rendered.summary
            if len(rendered.summary) <= BODY_CHARS
            else rendered.summary[: BODY_CHARS - 1] + "…"
        )
        reasons: list[str] = []
        if self.backend in ("auto", "plyer"):
            try:
                self._plyer(rendered.title, body, self.app_name, self.timeout)
            except Exception as exc:  # plyer raises anything from ImportError to NotImplementedError
                reasons.append(f"plyer: {type(exc).__name__}: {exc}".rstrip(": "))
                logger.debug("plyer could not notify (%s); trying %s", reasons[-1], self._fallback())
            else:
                self._count(ok=True)
                return
            if self.backend == "plyer":
                self._count(ok=False)
                raise NotificationError(f"desktop notification failed: {reasons[0]}")
        command = self._fallback()
        argv = self._argv(command, rendered.title, body, rendered.bad)
        if self._runner is run_command and shutil.which(argv[0]) is None:
            self._skip(
                f"{argv[0]} is not installed and plyer could not deliver ({'; '.join(reasons) or 'unused'})"
            )
            return
        try:
            self._runner(argv, self.timeout)
        except NotificationError as exc:
            self._count(ok=False)
            raise NotificationError(
                f"desktop notification failed: {'; '.join([*reasons, str(exc)])}"
            ) from None
        self._count(ok=True)

    def _argv(self, command: str, title: str, body: str, urgent: bool) -> list[str]:
        if command == "osascript":
            return osascript_argv(title, body)
        if command == "powershell":
            return powershell_argv(title, body)
        return notify_send_argv(
            title, body, app_name=self.app_name, urgent=urgent, expire_ms=int(self.timeout * 1000)
        )

    def _count(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.delivered += 1
            else:
                self.failures += 1
