"""The older AutoCron's ``email_config`` works as written, against real SMTP servers that require AUTH."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autocron_core import AutoCron
from autocron_core.errors import NotificationError, TaskError
from autocron_core.events import EventKind
from autocron_core.testing.notifier_contract import contract_event
from autocron_notify import EmailNotifier
from autocron_notify import email as email_module
from autocron_notify.email import connection_security, default_port

PASSWORD = "seed-Pw-7731-never-shown"
SENDER = "backup@example.com"


def seed_config(port: int, **changes: Any) -> dict[str, Any]:
    """An ``email_config`` as the older AutoCron's example config wrote it (plus a test CA)."""
    config: dict[str, Any] = {
        "smtp_server": "127.0.0.1",
        "smtp_port": port,
        "from_email": SENDER,
        "to_email": "admin@example.com",
        "password": PASSWORD,
        "use_tls": True,
    }
    config.update(changes)
    return {k: v for k, v in config.items() if v is not None}


@pytest.fixture
def scheduler() -> Iterator[AutoCron]:
    """An in-memory scheduler that is never started."""
    instance = AutoCron(log_level=None)
    yield instance
    instance.stop()


# -- delivery: log in as from_email, TLS as the older AutoCron defaulted it -------------------------


def test_seed_config_logs_in_as_from_email_over_starttls(smtp_factory: Any, tls: Any) -> None:
    """A seed email_config with a password and no username logs in as from_email, and the mail arrives."""
    server = smtp_factory("starttls", users={SENDER: PASSWORD})
    notifier = EmailNotifier.from_config(seed_config(server.port, ca_file=tls.ca_file))
    notifier.notify(contract_event(EventKind.FAILED, "daily_backup"))
    assert server.logins == [SENDER]
    assert [m["Subject"] for m in server.messages] == ["[AutoCron] daily_backup failed"]
    assert server.envelopes[0].mail_from == SENDER


def test_seed_config_without_use_tls_still_uses_starttls(smtp_factory: Any, tls: Any) -> None:
    """Leaving use_tls out (the seed defaulted it to true) still upgrades with STARTTLS before logging in."""
    server = smtp_factory("starttls", users={SENDER: PASSWORD})
    notifier = EmailNotifier.from_config(seed_config(server.port, use_tls=None, ca_file=tls.ca_file))
    assert notifier.security == "starttls"
    notifier.notify(contract_event())
    assert server.logins == [SENDER] and len(server.messages) == 1


@pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"
)  # aiosmtpd: implicit TLS
def test_use_tls_on_the_smtps_port_means_tls_from_the_start(
    smtp_factory: Any, tls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """use_tls: true on port 465 connects with implicit TLS (tested on a free port standing in for 465)."""
    server = smtp_factory("implicit", users={SENDER: PASSWORD})
    monkeypatch.setattr(email_module, "SMTPS_PORT", server.port)
    notifier = EmailNotifier.from_config(seed_config(server.port, ca_file=tls.ca_file))
    assert notifier.security == "implicit"
    notifier.notify(contract_event())
    assert server.logins == [SENDER] and len(server.messages) == 1


def test_refused_seed_login_names_the_sender_never_the_password(
    smtp_factory: Any, tls: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong seed password fails naming the login (from_email); the password is in no error or log."""
    server = smtp_factory("starttls", users={SENDER: "the-right-one"})
    with caplog.at_level(logging.DEBUG):
        notifier = EmailNotifier.from_config(seed_config(server.port, ca_file=tls.ca_file))
        with pytest.raises(NotificationError, match=f"refused the login of '{SENDER}'") as info:
            notifier.notify(contract_event())
    assert PASSWORD not in str(info.value) and PASSWORD not in caplog.text
    assert PASSWORD not in repr(notifier)
    assert server.messages == []


@pytest.mark.parametrize(
    ("port", "use_tls", "use_ssl", "logs_in", "expected"),
    [
        (587, None, False, False, "starttls"),
        (465, None, False, False, "implicit"),
        (465, True, False, True, "implicit"),
        (25, None, False, False, "plain"),
        (25, None, False, True, "starttls"),
        (25, True, False, False, "starttls"),
        (2525, True, False, True, "starttls"),
        (587, False, False, True, "plain"),
        (2525, None, True, False, "implicit"),
    ],
)
def test_connection_security_follows_port_and_use_tls(
    port: int, use_tls: bool | None, use_ssl: bool, logs_in: bool, expected: str
) -> None:
    """STARTTLS on 587 and implicit TLS on 465 by default; use_tls elsewhere means STARTTLS."""
    assert connection_security(port, use_tls, use_ssl, logs_in) == expected


@given(port=st.integers(1, 65535))
def test_a_password_never_travels_in_clear_unless_use_tls_false(port: int) -> None:
    """With use_tls left out, a notifier that logs in always uses TLS, implicit exactly on port 465."""
    security = connection_security(port, None, False, True)
    assert security == ("implicit" if port == 465 else "starttls")
    assert connection_security(port, False, False, True) == "plain"


def test_default_port_follows_tls_and_login() -> None:
    """Without smtp_port: 465 for use_ssl, 587 for TLS or a login, 25 for an anonymous plain relay."""
    assert default_port(None, True, False) == 465
    assert default_port(True, False, False) == 587
    assert default_port(None, False, True) == 587
    assert default_port(None, False, False) == 25
    assert default_port(False, False, True) == 25
    notifier = EmailNotifier.from_config(seed_config(0, smtp_port=None, use_tls=None))
    assert (notifier.smtp_port, notifier.security, notifier.login_user) == (587, "starttls", SENDER)


def test_password_without_any_login_name_is_refused() -> None:
    """A password with neither username nor from_email has no one to log in as: ConfigError on from_email."""
    with pytest.raises(Exception, match="from_email=None") as info:
        EmailNotifier.from_config(seed_config(25, from_email=None))
    assert getattr(info.value, "field", None) == "from_email"
    assert PASSWORD not in str(info.value)


# -- add_task: an email config that cannot send fails now, not at 2 a.m. -----------------------------


def test_email_config_missing_smtp_server_fails_at_add_task(
    scheduler: AutoCron, caplog: pytest.LogCaptureFixture
) -> None:
    """notify="email" with an email_config lacking smtp_server is refused by add_task, naming smtp_server."""
    with caplog.at_level(logging.DEBUG), pytest.raises(TaskError, match="smtp_server=None") as info:
        scheduler.add_task(
            name="daily_backup",
            command=["true"],
            cron="0 2 * * *",
            notify="email",
            email_config=seed_config(587, smtp_server=None),
        )
    assert info.value.field == "notify"
    assert getattr(info.value.__cause__, "field", None) == "smtp_server"
    assert PASSWORD not in str(info.value) and PASSWORD not in caplog.text
    assert scheduler.list_tasks() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"to_email": None}, "to_email"),
        ({"to_email": "admin"}, "to_email"),
        ({"from_email": None}, "from_email"),
        ({"smtp_port": True}, "smtp_port"),
        ({"smtp_port": math.inf}, "smtp_port"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_port": 65536}, "smtp_port"),
        ({"smtp_port": "five-eight-seven"}, "smtp_port"),
        ({"use_tls": "maybe"}, "use_tls"),
    ],
)
def test_email_config_that_cannot_send_fails_at_add_task(
    scheduler: AutoCron, changes: dict[str, Any], field: str
) -> None:
    """Each setting sending needs, missing or invalid, fails add_task with an error naming it."""
    with pytest.raises(TaskError, match=f"{field}=") as info:
        scheduler.add_task(
            name="daily_backup",
            func=print,
            every="1d",
            notify=["desktop", "email"],
            email_config=seed_config(587, **changes),
        )
    assert getattr(info.value.__cause__, "field", None) == field
    assert PASSWORD not in str(info.value)
    assert scheduler.list_tasks() == []


@given(port=st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.booleans()))
def test_any_smtp_port_is_taken_whole_or_refused_at_add_task(port: Any) -> None:
    """smtp_port is taken only as a whole number from 1 to 65535; anything else fails add_task, naming it."""
    scheduler = AutoCron(log_level=None)
    valid = type(port) is int and 1 <= port <= 65535
    try:
        scheduler.add_task(
            name="t", func=print, every="1h", notify="email", email_config=seed_config(port, use_tls=None)
        )
    except TaskError as exc:
        assert not valid
        assert "smtp_port=" in str(exc) and scheduler.list_tasks() == []
    else:
        assert valid
        assert [t.name for t in scheduler.list_tasks()] == ["t"]


def test_default_channels_naming_email_are_checked_at_add_task() -> None:
    """AutoCron(notify="email") without email settings refuses a task that names no channel of its own."""
    scheduler = AutoCron(log_level=None, notify="email")
    with pytest.raises(TaskError, match="smtp_server=None"):
        scheduler.add_task(name="nightly", func=print, every="1h")
    assert scheduler.list_tasks() == []
    quiet = AutoCron(log_level=None)
    quiet.add_task(name="silent", func=print, every="1h", email_config={"use_tls": "maybe"})
    assert [t.name for t in quiet.list_tasks()] == ["silent"]  # a task that never notifies is not checked


def test_settings_split_between_scheduler_and_task_pass_at_add_task(smtp_factory: Any, tls: Any) -> None:
    """notifications.email plus the task's email_config are checked together at add_task, then deliver."""
    server = smtp_factory("starttls", users={SENDER: PASSWORD})
    scheduler = AutoCron(
        log_level=None,
        notifications={"email": {"smtp_server": "127.0.0.1", "ca_file": tls.ca_file}},
    )
    scheduler.add_task(
        name="daily_backup",
        func=print,
        every="1d",
        notify="email",
        email_config=seed_config(server.port, smtp_server=None),
    )
    task = scheduler.get_task(name="daily_backup")
    assert task is not None
    scheduler.notifications.deliver(task, contract_event(EventKind.FAILED, "daily_backup"))
    assert scheduler.notifications.delivered == 1
    assert server.logins == [SENDER] and len(server.messages) == 1
