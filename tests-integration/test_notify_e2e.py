"""A scheduler, a failing task and a real SMTP server: one failure email, then one recovery email."""

from __future__ import annotations

import datetime as _dt
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from autocron_core import AutoCron
from autocron_core.testing import FakeClock

pytest.importorskip("autocron_notify")


class _Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    """A real aiosmtpd server on a free port of 127.0.0.1."""
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_failing_task_sends_one_failure_email_then_one_recovery_email(smtp: tuple[int, _Inbox]) -> None:
    """Four failed occurrences give one failure email; the next success gives one recovery email."""
    port, inbox = smtp
    clock = FakeClock(_dt.datetime(2026, 1, 5, 3, 0, tzinfo=_dt.timezone.utc))
    outcomes = iter([False, False, False, False, True, True])

    def nightly() -> None:
        if not next(outcomes):
            raise OSError("disk full")

    scheduler = AutoCron(
        clock=clock,
        log_level=None,
        notifications={"email": {"smtp_server": "127.0.0.1", "from_email": "cron@example.com"}},
    )
    scheduler.add_task(
        name="nightly",
        func=nightly,
        every="1m",
        notify="email",
        email_config={"smtp_port": port, "to_email": ["ops@example.com", "dev@example.com"]},
    )
    scheduler.start(blocking=False)
    try:
        for _ in range(6):
            clock.advance(60)
            scheduler.run_due(clock.now_us())
            assert scheduler.wait_idle(5)
            assert scheduler.notifications.flush(10)
    finally:
        scheduler.stop()
    subjects = [m["Subject"] for m in inbox.messages]
    assert subjects == ["[AutoCron] nightly failed", "[AutoCron] nightly recovered"]
    failure, recovery = inbox.messages
    assert failure["To"] == "ops@example.com, dev@example.com"
    assert "OSError: disk full" in failure.get_body(("plain",)).get_content()
    assert "recovered after 4 failure(s)" in recovery.get_body(("plain",)).get_content()
    assert scheduler.notifications.failures == 0
    assert scheduler.notifications.suppressed == 3


def test_unreachable_smtp_server_never_breaks_the_task() -> None:
    """With the SMTP server down the task still runs and succeeds; the failure is counted, not raised."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = int(sock.getsockname()[1])
    clock = FakeClock()
    runs: list[int] = []
    scheduler = AutoCron(clock=clock, log_level=None)
    scheduler.add_task(
        name="ok",
        func=lambda: runs.append(1),
        every="1m",
        notify="email",
        notify_on=["success"],
        email_config={"smtp_server": "127.0.0.1", "smtp_port": closed, "to_email": "o@example.com"},
    )
    scheduler.start(blocking=False)
    try:
        clock.advance(60)
        scheduler.run_due(clock.now_us())
        assert scheduler.wait_idle(5)
        assert scheduler.notifications.flush(10)
    finally:
        scheduler.stop()
    assert runs == [1]
    assert scheduler.history("ok")[0].status.value == "succeeded"
    assert scheduler.notifications.failures_by_channel == {"email": 1}
