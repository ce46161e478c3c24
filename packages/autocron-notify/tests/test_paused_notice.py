"""A task paused by pause_after_failures notifies through webhook and email, with its note (issue 17)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from autocron_core import AutoCron
from autocron_core.events import Event, EventKind
from autocron_core.testing import FakeClock
from autocron_notify import EmailNotifier, WebhookNotifier

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


def broken() -> None:
    """A task body that always fails."""
    raise RuntimeError("upstream API <500>")


def test_webhook_receives_the_paused_notice_with_its_note(http_server: Any) -> None:
    """After two failed runs the task pauses; the webhook gets the failures and then a 'paused' document."""
    clock = FakeClock(T0)
    scheduler = AutoCron(timezone="UTC", clock=clock)
    scheduler.add_task(
        "sync", func=broken, every="1m", pause_after_failures=2, notify=[WebhookNotifier(http_server.url)]
    )
    scheduler.start(blocking=False)
    try:
        for _ in range(2):
            clock.advance(60)
            assert scheduler.settle()
        assert scheduler.notifications.flush()
    finally:
        scheduler.stop(timeout=5)
    bodies = [http_server.json(i) for i in range(len(http_server.requests))]
    paused = [b for b in bodies if b["status"] == "paused"]
    assert len(paused) == 1
    assert paused[0]["task"] == "sync"
    assert paused[0]["error"] == "paused after 2 consecutive failures: RuntimeError: upstream API <500>"


def test_email_of_a_paused_event_names_it_and_escapes_the_note() -> None:
    """The email's subject says paused; its HTML part shows the note escaped."""
    notifier = EmailNotifier("127.0.0.1", 2525, "a@example.com", "b@example.com")
    event = Event(
        EventKind.PAUSED,
        "sync",
        T0,
        None,
        None,
        error="paused after 3 consecutive failures: <script>x</script>",
    )
    message = notifier.build_message(event)
    assert "paused" in str(message["Subject"])
    html = next(part for part in message.walk() if part.get_content_type() == "text/html").get_content()
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain").get_content()
    assert "paused after 3 consecutive failures" in text
