"""EmailNotifier against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from autocron_core.errors import ConfigError, NotificationError
from autocron_core.events import EventKind
from autocron_core.notifications import NotificationDispatcher
from autocron_core.task import build_task
from autocron_core.testing.notifier_contract import NotifierContract, contract_event
from autocron_notify import EmailNotifier

PASSWORD = "pw-Zq81-never-logged"


class TestEmailContract(NotifierContract):
    """EmailNotifier over STARTTLS with login passes the notifier contract."""

    @pytest.fixture
    def server(self, smtp_factory: Any) -> Any:
        return smtp_factory("starttls", users={"robot": PASSWORD})

    @pytest.fixture
    def notifier(self, server: Any, tls: Any, monkeypatch: pytest.MonkeyPatch) -> EmailNotifier:
        monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
        return EmailNotifier(
            smtp_server="127.0.0.1",
            smtp_port=server.port,
            to_email="ops@example.com",
            from_email="cron@example.com",
            username="robot",
            password_env="TEST_SMTP_PASSWORD",
            use_tls=True,
            ca_file=tls.ca_file,
            timeout=5,
        )

    @pytest.fixture
    def received(self, server: Any) -> Callable[[], Sequence[str]]:
        return server.texts

    @pytest.fixture
    def broken_notifier(self, closed_port: int) -> EmailNotifier:
        return EmailNotifier(
            smtp_server="127.0.0.1", smtp_port=closed_port, to_email="ops@example.com", timeout=5
        )

    @pytest.fixture
    def secrets(self) -> Sequence[str]:
        return (PASSWORD,)


def test_plain_delivery_headers_and_body(smtp_server: Any) -> None:
    """A failure email reaches every recipient with subject, headers, text and escaped HTML parts."""
    notifier = EmailNotifier(
        smtp_server="127.0.0.1",
        smtp_port=smtp_server.port,
        from_email="cron@example.com",
        to_email=["a@example.com", "b@example.com"],
    )
    notifier.notify(contract_event(EventKind.FAILED, "backup", error="OSError: <disk> & full", attempt=2))
    assert notifier.delivered == 1
    (message,) = smtp_server.messages
    (envelope,) = smtp_server.envelopes
    assert envelope.rcpt_tos == ["a@example.com", "b@example.com"]
    assert envelope.mail_from == "cron@example.com"
    assert message["Subject"] == "[AutoCron] backup failed"
    assert message["From"] == "cron@example.com"
    assert message["To"] == "a@example.com, b@example.com"
    assert message["X-AutoCron-Task"] == "backup"
    assert message["X-AutoCron-Event"] == "failure"
    assert message["Message-ID"] and message["Date"]
    text = message.get_body(("plain",)).get_content()
    assert "OSError: <disk> & full" in text
    assert "Attempt:" in text and "2" in text
    assert "node-a:42" in text and "line 2" in text
    html = message.get_body(("html",)).get_content()
    assert "OSError: &lt;disk&gt; &amp; full" in html
    assert "<disk>" not in html


def test_to_email_as_comma_separated_string(smtp_server: Any) -> None:
    """to_email may be one string of comma-separated addresses."""
    notifier = EmailNotifier(
        smtp_server="127.0.0.1", smtp_port=smtp_server.port, to_email="a@example.com, b@example.com"
    )
    notifier.notify(contract_event())
    assert smtp_server.envelopes[0].rcpt_tos == ["a@example.com", "b@example.com"]


def test_starttls_with_private_ca(smtp_factory: Any, tls: Any) -> None:
    """STARTTLS works against a server whose certificate the ca_file setting trusts."""
    server = smtp_factory("starttls")
    notifier = EmailNotifier(
        smtp_server="127.0.0.1",
        smtp_port=server.port,
        to_email="ops@example.com",
        use_tls=True,
        ca_file=tls.ca_file,
    )
    notifier.notify(contract_event())
    assert len(server.messages) == 1


def test_starttls_refuses_an_untrusted_certificate(smtp_factory: Any) -> None:
    """Without trusting the private CA, STARTTLS fails with a NotificationError about TLS."""
    server = smtp_factory("starttls")
    notifier = EmailNotifier(
        smtp_server="127.0.0.1", smtp_port=server.port, to_email="ops@example.com", use_tls=True
    )
    with pytest.raises(NotificationError, match="TLS"):
        notifier.notify(contract_event())
    assert server.messages == [] and notifier.failures == 1


def test_implicit_tls_with_ssl_context(smtp_factory: Any, tls: Any) -> None:
    """use_ssl connects with TLS from the start; an ssl_context object may be passed in code."""
    import ssl

    server = smtp_factory("implicit")
    context = ssl.create_default_context(cafile=tls.ca_file)
    notifier = EmailNotifier(
        smtp_server="127.0.0.1",
        smtp_port=server.port,
        to_email="ops@example.com",
        use_ssl=True,
        ssl_context=context,
    )
    notifier.notify(contract_event())
    assert len(server.messages) == 1


def test_login_with_password_from_environment(
    smtp_factory: Any, tls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """username plus password_env logs in; the server saw the login."""
    server = smtp_factory("starttls", users={"robot": PASSWORD})
    monkeypatch.setenv("MY_SMTP_PW", PASSWORD)
    notifier = EmailNotifier(
        smtp_server="127.0.0.1",
        smtp_port=server.port,
        to_email="ops@example.com",
        username="robot",
        password_env="MY_SMTP_PW",
        use_tls=True,
        ca_file=tls.ca_file,
    )
    notifier.notify(contract_event())
    assert server.logins == ["robot"] and len(server.messages) == 1


def test_refused_login_is_reported_without_the_password(
    smtp_factory: Any, tls: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong password gives a NotificationError naming the user, never the password."""
    server = smtp_factory("starttls", users={"robot": "the-right-one"})
    monkeypatch.setenv("MY_SMTP_PW", PASSWORD)
    notifier = EmailNotifier(
        smtp_server="127.0.0.1",
        smtp_port=server.port,
        to_email="ops@example.com",
        username="robot",
        password_env="MY_SMTP_PW",
        use_tls=True,
        ca_file=tls.ca_file,
    )
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(NotificationError, match="refused the login of 'robot'") as info,
    ):
        notifier.notify(contract_event())
    assert PASSWORD not in str(info.value) and PASSWORD not in caplog.text
    assert server.messages == []


def test_missing_password_variable_is_a_notification_error(smtp_server: Any) -> None:
    """password_env naming an unset variable fails the send, naming the variable."""
    notifier = EmailNotifier(
        smtp_server="127.0.0.1",
        smtp_port=smtp_server.port,
        to_email="ops@example.com",
        username="robot",
        password_env="NOT_SET_ANYWHERE_42",
    )
    with pytest.raises(NotificationError, match="NOT_SET_ANYWHERE_42"):
        notifier.notify(contract_event())


def test_literal_password_warns_once_and_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A literal password is accepted with a single warning that does not contain it."""
    with caplog.at_level(logging.WARNING, logger="autocron"):
        EmailNotifier(smtp_server="127.0.0.1", to_email="ops@example.com", username="u", password=PASSWORD)
        notifier = EmailNotifier(
            smtp_server="127.0.0.1", to_email="ops@example.com", username="u", password=PASSWORD
        )
    warnings = [r for r in caplog.records if "literal password" in r.getMessage()]
    assert len(warnings) == 1
    assert PASSWORD not in caplog.text and PASSWORD not in repr(notifier)


def test_unreachable_server_raises_notification_error(closed_port: int) -> None:
    """A refused connection is a NotificationError naming the server."""
    notifier = EmailNotifier(smtp_server="127.0.0.1", smtp_port=closed_port, to_email="ops@example.com")
    with pytest.raises(NotificationError, match=f"could not reach SMTP server 127.0.0.1:{closed_port}"):
        notifier.notify(contract_event())
    assert notifier.failures == 1


def test_silent_server_times_out(silent_port: int) -> None:
    """A server that never greets is given up after the timeout."""
    notifier = EmailNotifier(
        smtp_server="127.0.0.1", smtp_port=silent_port, to_email="ops@example.com", timeout=0.3
    )
    with pytest.raises(NotificationError, match="timed out"):
        notifier.notify(contract_event())


def test_dispatcher_logs_and_counts_unreachable_server(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the dispatcher an unreachable server is logged with the reason and counted, never raised."""
    dispatcher = NotificationDispatcher(
        settings={"email": {"smtp_server": "127.0.0.1", "to_email": "o@example.com"}}
    )
    task = build_task(
        "nightly", func=print, every="1h", notify="email", email_config={"smtp_port": closed_port}
    )
    with caplog.at_level(logging.WARNING, logger="autocron.notify"):
        dispatcher.deliver(task, contract_event(EventKind.FAILED, "nightly"))
    assert dispatcher.failures == 1 and dispatcher.failures_by_channel == {"email": 1}
    assert "could not reach SMTP server" in caplog.text


def test_settings_from_environment(smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """AUTOCRON_SMTP_* variables supply the settings the configuration leaves out."""
    monkeypatch.setenv("AUTOCRON_SMTP_SERVER", "127.0.0.1")
    monkeypatch.setenv("AUTOCRON_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("AUTOCRON_SMTP_FROM", "env@example.com")
    monkeypatch.setenv("AUTOCRON_SMTP_TO", "x@example.com,y@example.com")
    notifier = EmailNotifier()
    notifier.notify(contract_event())
    assert smtp_server.envelopes[0].mail_from == "env@example.com"
    assert smtp_server.envelopes[0].rcpt_tos == ["x@example.com", "y@example.com"]


def test_task_email_config_overrides_scheduler_settings(smtp_server: Any, closed_port: int) -> None:
    """A task's email_config wins over the scheduler's notifications.email section."""
    settings = {
        "email": {"smtp_server": "127.0.0.1", "smtp_port": closed_port, "to_email": "all@example.com"}
    }
    dispatcher = NotificationDispatcher(settings=settings)
    task = build_task(
        "t",
        func=print,
        every="1h",
        notify="email",
        email_config={"smtp_port": smtp_server.port, "to_email": ["me@example.com"]},
    )
    dispatcher.deliver(task, contract_event(EventKind.FAILED, "t"))
    assert dispatcher.delivered == 1
    assert smtp_server.envelopes[0].rcpt_tos == ["me@example.com"]


def test_custom_subject_and_body_templates(smtp_server: Any) -> None:
    """subject_template and body_template use the documented placeholders."""
    notifier = EmailNotifier(
        smtp_server="127.0.0.1",
        smtp_port=smtp_server.port,
        to_email="o@example.com",
        subject_template="{status}: {task} on {node}",
        body_template="E={error_line}",
        html=False,
    )
    notifier.notify(contract_event(EventKind.FAILED, "sync"))
    (message,) = smtp_server.messages
    assert message["Subject"] == "failed: sync on node-a:42"
    assert message.get_content().strip() == "E=ValueError: disk full"
    assert not message.is_multipart()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"to_email": "o@example.com"}, "smtp_server"),
        ({"smtp_server": "h"}, "to_email"),
        ({"smtp_server": "h", "to_email": "not-an-address"}, "to_email"),
        ({"smtp_server": "h", "to_email": "o@example.com", "use_tls": True, "use_ssl": True}, "use_ssl"),
        ({"smtp_server": "h", "to_email": "o@example.com", "smtp_port": 70000}, "smtp_port"),
        ({"smtp_server": "h", "to_email": "o@example.com", "timeout": -1}, "timeout"),
        ({"smtp_server": "h", "to_email": "o@example.com", "subject_template": "{nope}"}, "subject_template"),
        (
            {"smtp_server": "h", "to_email": "o@example.com", "subject_template": "{task.__class__}"},
            "subject_template",
        ),
        ({"smtp_server": "h", "to_email": "o@example.com", "smtp_host": "x"}, "smtp_host"),
    ],
)
def test_bad_settings_fail_fast(settings: dict[str, Any], field: str) -> None:
    """Each invalid setting raises ConfigError naming that setting."""
    with pytest.raises(ConfigError) as info:
        EmailNotifier.from_config(settings)
    assert info.value.field == field
