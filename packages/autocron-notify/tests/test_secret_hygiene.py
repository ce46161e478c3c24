"""Secrets from mounted files: trimmed, refused when multi-line, never echoed; clear-text login warns.

Issue 15, fault 22.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core.errors import ConfigError, NotificationError
from autocron_core.testing.notifier_contract import contract_event
from autocron_notify import EmailNotifier, WebhookNotifier
from autocron_notify import email as email_module

TOKEN = "tok-3c9e-mounted-secret"
PASSWORD = "pw-77aa-mounted-secret"
_FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def fresh_clear_login_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the once-per-server warning afresh."""
    monkeypatch.setattr(email_module, "_warned_clear", set())


def _authorization(http_server: Any) -> str:
    headers = {k.lower(): v for k, v in http_server.requests[-1]["headers"].items()}
    return str(headers["authorization"])


def test_a_token_file_ending_in_a_newline_is_sent_trimmed(
    http_server: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A token from a mounted secret (trailing newline and all) is sent bare and never logged."""
    monkeypatch.setenv("HOOK_TOKEN", TOKEN + "\n")
    with caplog.at_level(logging.DEBUG):
        WebhookNotifier(http_server.url, token_env="HOOK_TOKEN").notify(contract_event())
    assert _authorization(http_server) == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text


def test_a_token_with_a_line_break_inside_is_refused_without_echoing_it(
    http_server: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A two-line token fails the send with an error naming the variable, not the token."""
    monkeypatch.setenv("HOOK_TOKEN", f"{TOKEN}\nX-Injected: 1")
    with caplog.at_level(logging.DEBUG), pytest.raises(NotificationError, match="HOOK_TOKEN") as info:
        WebhookNotifier(http_server.url, token_env="HOOK_TOKEN").notify(contract_event())
    assert TOKEN not in str(info.value) and "Injected" not in str(info.value)
    assert TOKEN not in caplog.text
    assert http_server.requests == []


def test_a_literal_token_with_a_control_character_is_refused_at_once() -> None:
    """token= with an escape character is a ConfigError naming the field, not the value."""
    with pytest.raises(ConfigError, match=r"token: expected one line") as info:
        WebhookNotifier("http://127.0.0.1:1/hook", token=f"{TOKEN}\x1b[2J")
    assert TOKEN not in str(info.value)


def test_header_values_are_not_echoed_in_errors() -> None:
    """A bad headers= mapping is reported by header names only (values are often credentials)."""
    with pytest.raises(ConfigError, match="X-Api-Key") as info:
        WebhookNotifier("http://127.0.0.1:1/hook", headers={"X-Api-Key": f"{TOKEN}\n"})
    assert TOKEN not in str(info.value)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_without_tls_warns_once_naming_the_server(
    smtp_factory: Any, tls: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A plain-text login logs one WARNING naming host:port, never the password; STARTTLS logs none."""
    server = smtp_factory("plain", users={"robot": PASSWORD})
    monkeypatch.setenv("MY_SMTP_PW", PASSWORD + "\r\n")  # trimmed: the login succeeds
    notifier = EmailNotifier(
        smtp_server="127.0.0.1",
        smtp_port=server.port,
        to_email="ops@example.com",
        username="robot",
        password_env="MY_SMTP_PW",
        use_tls=False,
    )
    with caplog.at_level(logging.DEBUG):
        notifier.notify(contract_event())
        notifier.notify(contract_event())
    assert server.logins == ["robot", "robot"]
    warnings = [r.getMessage() for r in caplog.records if "without TLS" in r.getMessage()]
    assert warnings == [warnings[0]] and f"127.0.0.1:{server.port}" in warnings[0]
    assert PASSWORD not in caplog.text
    secure = smtp_factory("starttls", users={"robot": PASSWORD})
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        EmailNotifier(
            smtp_server="127.0.0.1",
            smtp_port=secure.port,
            to_email="ops@example.com",
            username="robot",
            password_env="MY_SMTP_PW",
            use_tls=True,
            ca_file=tls.ca_file,
        ).notify(contract_event())
    assert secure.logins == ["robot"] and "without TLS" not in caplog.text


_core = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=12, max_size=40
)
_pad = st.text(alphabet=" \t\r\n\v\f", max_size=4)
_inner = st.sampled_from(["\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\u2028"])


@_FAST
@given(core=_core, left=_pad, right=_pad)
def test_any_whitespace_around_a_token_is_trimmed_and_never_logged(
    http_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    core: str,
    left: str,
    right: str,
) -> None:
    """Whatever whitespace surrounds a token in the environment, it is sent bare and never logged."""
    token = f"sk-{core}"
    monkeypatch.setenv("HOOK_TOKEN", left + token + right)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        WebhookNotifier(http_server.url, token_env="HOOK_TOKEN").notify(contract_event())
    assert _authorization(http_server) == f"Bearer {token}"
    assert token not in caplog.text


@_FAST
@given(core=_core, bad=_inner, cut=st.integers(min_value=1, max_value=11))
def test_a_secret_with_any_control_character_inside_is_refused_unechoed(
    core: str, bad: str, cut: int
) -> None:
    """A token or password with a control character inside is refused; the error holds neither half of it."""
    head, tail = f"sk-{core}"[:cut], f"sk-{core}"[cut:]
    secret = head + bad + tail
    with pytest.raises(ConfigError) as token_error:
        WebhookNotifier("http://127.0.0.1:1/hook", token=secret)
    with pytest.raises(ConfigError) as password_error:
        EmailNotifier(smtp_server="127.0.0.1", to_email="ops@example.com", username="u", password=secret)
    for message in (str(token_error.value), str(password_error.value)):
        assert tail not in message and secret not in message
