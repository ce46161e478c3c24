"""WebhookNotifier against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from autocron_core.errors import ConfigError, NotificationError
from autocron_core.events import EventKind
from autocron_core.testing.notifier_contract import NotifierContract, contract_event
from autocron_notify import WebhookNotifier

TOKEN = "tok-8f1c-never-logged"


class TestWebhookContract(NotifierContract):
    """WebhookNotifier with a bearer token passes the notifier contract."""

    @pytest.fixture
    def notifier(self, http_server: Any, monkeypatch: pytest.MonkeyPatch) -> WebhookNotifier:
        monkeypatch.setenv("HOOK_TOKEN", TOKEN)
        return WebhookNotifier(http_server.url, token_env="HOOK_TOKEN", timeout=5)

    @pytest.fixture
    def received(self, http_server: Any) -> Callable[[], Sequence[str]]:
        return lambda: [str(http_server.json(i)) for i in range(len(http_server.requests))]

    @pytest.fixture
    def broken_notifier(self, closed_port: int) -> WebhookNotifier:
        return WebhookNotifier(f"http://127.0.0.1:{closed_port}/hook", retries=1, sleep=lambda _s: None)

    @pytest.fixture
    def secrets(self) -> Sequence[str]:
        return (TOKEN, "SECRET-PATH-123")


def test_json_body_and_headers(http_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default document carries the event's fields; custom headers and the bearer token are sent."""
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    notifier = WebhookNotifier(http_server.url, headers={"X-Team": "ops"}, token_env="HOOK_TOKEN")
    notifier.notify(contract_event(EventKind.FAILED, "backup", attempt=2))
    (request,) = http_server.requests
    assert request["path"] == "/hooks/SECRET-PATH-123"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-team"] == "ops"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["user-agent"].startswith("AutoCron/")
    body = http_server.json()
    assert body["task"] == "backup" and body["status"] == "failed" and body["category"] == "failure"
    assert body["attempt"] == 2 and body["duration"] == 2.5
    assert body["error"] == "ValueError: disk full" and body["node"] == "node-a:42"
    assert body["scheduled_for"] == "2026-01-05T03:00:00+00:00"


def test_slack_preset(http_server: Any) -> None:
    """format: slack posts a message with escaped mrkdwn text."""
    WebhookNotifier(http_server.url, format="slack").notify(
        contract_event(EventKind.FAILED, "deploy", error="KeyError: <missing> & more")
    )
    body = http_server.json()
    assert set(body) == {"text"}
    assert "*AutoCron: deploy failed*" in body["text"]
    assert "KeyError: &lt;missing&gt; &amp; more" in body["text"]


def test_discord_preset(http_server: Any) -> None:
    """format: discord posts content plus one embed, with mentions disabled."""
    WebhookNotifier(http_server.url, format="discord").notify(
        contract_event(EventKind.SUCCEEDED, "deploy", recovered=True)
    )
    body = http_server.json()
    assert body["allowed_mentions"] == {"parse": []}
    (embed,) = body["embeds"]
    assert embed["title"] == "AutoCron: deploy recovered"
    assert embed["color"] == 0x1B5E20
    assert {"name": "Status", "value": "recovered", "inline": True} in embed["fields"]
    assert "deploy" in body["content"]


def test_retries_after_server_error(http_server: Any) -> None:
    """A 500 answer is retried with backoff; the second attempt delivers."""
    http_server.statuses = [500]
    sleeps: list[float] = []
    notifier = WebhookNotifier(http_server.url, retry_delay=0.5, sleep=sleeps.append)
    notifier.notify(contract_event())
    assert len(http_server.requests) == 2
    assert sleeps == [0.5]
    assert notifier.delivered == 1 and notifier.failures == 0


def test_retries_are_bounded(http_server: Any) -> None:
    """A server that keeps failing gets 1 + retries attempts with doubling, capped delays."""
    http_server.statuses = [503, 502, 500, 500]
    sleeps: list[float] = []
    notifier = WebhookNotifier(
        http_server.url, retries=3, retry_delay=1, max_retry_delay=3, sleep=sleeps.append
    )
    with pytest.raises(NotificationError, match="after 4 attempt") as info:
        notifier.notify(contract_event())
    assert "HTTP 500" in str(info.value)
    assert len(http_server.requests) == 4 and sleeps == [1, 2, 3]
    assert notifier.failures == 1


def test_client_error_is_not_retried(http_server: Any) -> None:
    """A 4xx answer (other than 429) is final."""
    http_server.statuses = [404]
    with pytest.raises(NotificationError, match="HTTP 404"):
        WebhookNotifier(http_server.url, sleep=lambda _s: None).notify(contract_event())
    assert len(http_server.requests) == 1


def test_redirect_is_not_followed(http_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A redirect is a failure: the token never travels to the redirect target."""
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    http_server.statuses = [302]
    with pytest.raises(NotificationError, match="HTTP 302"):
        WebhookNotifier(http_server.url, token_env="HOOK_TOKEN", sleep=lambda _s: None).notify(
            contract_event()
        )
    assert len(http_server.requests) == 1


def test_timeout_against_a_silent_server(silent_port: int) -> None:
    """A server that never answers is given up after the timeout, as a NotificationError."""
    notifier = WebhookNotifier(f"http://127.0.0.1:{silent_port}/hook", timeout=0.3, retries=0)
    with pytest.raises(NotificationError, match="timed out"):
        notifier.notify(contract_event())


def test_errors_never_show_the_url_path(closed_port: int) -> None:
    """Failure messages name the host only: webhook URLs carry secrets in the path."""
    notifier = WebhookNotifier(f"http://127.0.0.1:{closed_port}/services/T0/B0/SECRETXYZ", retries=0)
    with pytest.raises(NotificationError) as info:
        notifier.notify(contract_event())
    assert "SECRETXYZ" not in str(info.value) and "SECRETXYZ" not in repr(notifier)
    assert f"127.0.0.1:{closed_port}" in str(info.value)


def test_unset_token_variable_is_a_notification_error(http_server: Any) -> None:
    """token_env naming an unset variable fails the send without a request."""
    with pytest.raises(NotificationError, match="NO_SUCH_TOKEN_VAR"):
        WebhookNotifier(http_server.url, token_env="NO_SUCH_TOKEN_VAR").notify(contract_event())
    assert http_server.requests == []


def test_literal_token_warns_once(http_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A literal token works, warns once, and is never logged."""
    with caplog.at_level(logging.DEBUG, logger="autocron"):
        WebhookNotifier(http_server.url, token=TOKEN)
        notifier = WebhookNotifier(http_server.url, token=TOKEN)
        notifier.notify(contract_event())
    assert len([r for r in caplog.records if "literal token" in r.getMessage()]) == 1
    assert TOKEN not in caplog.text
    assert http_server.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_url_from_environment(http_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """AUTOCRON_WEBHOOK_URL supplies the URL when the settings give none."""
    monkeypatch.setenv("AUTOCRON_WEBHOOK_URL", http_server.url)
    WebhookNotifier.from_config({}).notify(contract_event())
    assert len(http_server.requests) == 1


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "http://h/x", "format": "teams"}, "format"),
        ({"url": "http://h/x", "retries": 99}, "retries"),
        ({"url": "http://h/x", "headers": {"X": "a\r\nB: c"}}, "headers"),
        ({"url": "http://h/x", "timeout": 0}, "timeout"),
        ({"url": "http://h/x", "method": "PUT"}, "method"),
    ],
)
def test_bad_settings_fail_fast(settings: dict[str, Any], field: str) -> None:
    """Each invalid setting raises ConfigError naming that setting."""
    with pytest.raises(ConfigError) as info:
        WebhookNotifier.from_config(settings)
    assert info.value.field == field
