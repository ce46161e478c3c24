"""``EmailNotifier``: task notifications by SMTP (plain, STARTTLS or implicit TLS).

Settings come from, in order of precedence: the task's ``email_config``, the
``notifications.email`` section of the config (or ``AutoCron(notifications=)``),
then the ``AUTOCRON_SMTP_*`` environment variables. The keys are those of the
older AutoCron (``smtp_server``, ``smtp_port``, ``from_email``, ``to_email``,
``username``, ``password``, ``use_tls``) plus ``password_env``, ``use_ssl``,
``timeout``, ``ca_file``/``ssl_context`` and the templates.
"""

from __future__ import annotations

import email.utils
import logging
import smtplib
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from autocron_core.errors import ConfigError, NotificationError
from autocron_core.events import Event

from . import env
from ._render import Rendered, check_template, fill, html_body, render, text_body
from ._settings import as_addresses, as_bool, as_int, as_seconds, reject_unknown, warn_literal_secret

__all__ = [
    "DEFAULT_SUBJECT",
    "SMTPS_PORT",
    "SUBMISSION_PORT",
    "EmailNotifier",
    "connection_security",
    "default_port",
]

logger = logging.getLogger("autocron.notify.email")

#: SMTP over TLS from the first byte (RFC 8314): ``use_tls`` on this port means implicit TLS.
SMTPS_PORT = 465
#: Mail submission (RFC 6409), where clients log in after STARTTLS.
SUBMISSION_PORT = 587

#: The default subject: ``[AutoCron] backup failed``.
DEFAULT_SUBJECT = "[AutoCron] {task} {status}"
_SUBJECT_CHARS = 200
SETTINGS = (
    "smtp_server", "smtp_port", "from_email", "to_email", "username", "password", "password_env", "use_tls",
    "use_ssl", "timeout", "ca_file", "ssl_context", "subject_template", "body_template", "html",
)  # fmt: skip


class EmailNotifier:
    """Sends each notification as one email (plain text plus a simple HTML part).

    Args:
        smtp_server: the SMTP host (``AUTOCRON_SMTP_SERVER``).
        smtp_port: its port; default 465 with ``use_ssl``, 587 with ``use_tls`` or a
            login, else 25 (see ``default_port``).
        from_email: the sender (default: ``username`` if it is an address, else
            ``autocron@<host name>``); also the login name when a password is
            given without ``username``, as in the older AutoCron.
        to_email: one address, a comma-separated string, or a list.
        username: log in as this user (default: ``from_email`` when a password is given).
        password: a literal password (works, but warns once: prefer ``password_env``).
        password_env: the environment variable holding the password, read at each send.
        use_tls: TLS: STARTTLS, or TLS from the start on port 465. Unset, it is on
            for ports 465 and 587 and whenever the notifier logs in (see
            ``connection_security``); ``False`` forces a plain connection.
        use_ssl: connect with TLS from the start on any port (implicit TLS).
        timeout: seconds before giving up on the server (default 10).
        ca_file: a PEM file of CA certificates to trust (a private CA).
        ssl_context: an ``ssl.SSLContext`` to use instead (code only).
        subject_template: the subject, e.g. ``"[AutoCron] {task} {status}"``.
        body_template: a plain-text body template; default is a built-in layout.
        html: also send the HTML part (default ``True``).

    Raises:
        ConfigError: a setting is missing or not valid (names the setting).
    """

    name = "email"

    def __init__(
        self,
        smtp_server: str | None = None,
        smtp_port: int | str | None = None,
        from_email: str | None = None,
        to_email: str | Sequence[str] | None = None,
        username: str | None = None,
        password: str | None = None,
        password_env: str | None = None,
        use_tls: bool | str | None = None,
        use_ssl: bool | str | None = None,
        timeout: float | str | None = None,
        ca_file: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        subject_template: str = DEFAULT_SUBJECT,
        body_template: str | None = None,
        html: bool = True,
    ) -> None:
        given = {k: v for k, v in locals().items() if k in SETTINGS and v is not None}
        from_env = env.smtp_settings_from_env()
        config = {**from_env, **given}
        server = config.get("smtp_server")
        if not isinstance(server, str) or not server.strip():
            raise ConfigError(
                f"smtp_server={server!r}: expected the SMTP host name (or set {env.AUTOCRON_SMTP_SERVER})",
                field="smtp_server",
            )
        self.smtp_server = server.strip()
        tls = None if config.get("use_tls") is None else as_bool("use_tls", config["use_tls"])
        implicit = as_bool("use_ssl", config.get("use_ssl", False))
        if tls and implicit:
            raise ConfigError(
                "use_tls=True and use_ssl=True: expected at most one (use_tls is STARTTLS, or TLS from "
                "the start on port 465; use_ssl is TLS from the start on any port)",
                field="use_ssl",
            )
        self.username = config.get("username") or None
        if self.username is not None and not isinstance(self.username, str):
            raise ConfigError(
                f"username={self.username!r}: expected the login name as text", field="username"
            )
        logs_in = bool(self.username or config.get("password") or config.get("password_env"))
        self.smtp_port = as_int(
            "smtp_port", config.get("smtp_port", default_port(tls, implicit, logs_in)), 1, 65535
        )
        #: ``"plain"``, ``"starttls"`` or ``"implicit"`` (TLS from the start).
        self.security = connection_security(self.smtp_port, tls, implicit, logs_in)
        self.use_tls = self.security == "starttls"
        self.use_ssl = self.security == "implicit"
        if "to_email" not in config:
            raise ConfigError(
                f"to_email=None: expected one or more recipient addresses (or set {env.AUTOCRON_SMTP_TO})",
                field="to_email",
            )
        self.to_email = as_addresses("to_email", config["to_email"])
        if config.get("from_email"):
            self.from_email = as_addresses("from_email", config["from_email"])[0]
        elif self.username and "@" in self.username:
            self.from_email = as_addresses("username", self.username)[0]
        elif logs_in and not self.username:
            # The older AutoCron logged in as from_email; with neither name there is no one to log in as.
            raise ConfigError(
                "from_email=None: expected the sender address, which is also the login name when a "
                "password is given without username",
                field="from_email",
            )
        else:
            self.from_email = f"autocron@{socket.gethostname()}"
        #: The name given to the server at login, or ``None`` to send without logging in.
        self.login_user: str | None = self.username or (self.from_email if logs_in else None)
        self.password_env = config.get("password_env") or None
        if self.password_env is not None and not isinstance(self.password_env, str):
            raise ConfigError(
                f"password_env={self.password_env!r}: expected an environment variable name",
                field="password_env",
            )
        literal = config.get("password") or None
        if literal is not None and not isinstance(literal, str):
            raise ConfigError(f"password: expected text, got {type(literal).__name__}", field="password")
        self._password: str | None = None if literal is None else env.clean_secret("password", literal)
        if password is not None:  # given literally (AUTOCRON_SMTP_PASSWORD does not warn)
            warn_literal_secret(logger, "email", "password")
        self.timeout = as_seconds("timeout", config.get("timeout", 10.0))
        self.subject_template = check_template("subject_template", subject_template)
        self.body_template = None if body_template is None else check_template("body_template", body_template)
        self.html = as_bool("html", html)
        ca = config.get("ca_file")
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise ConfigError(f"ssl_context={ssl_context!r}: expected an ssl.SSLContext", field="ssl_context")
        try:
            self._context = ssl_context or ssl.create_default_context(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"ca_file={ca!r}: expected a readable PEM file of CA certificates ({exc})", field="ca_file"
            ) from None
        self.delivered = 0
        self.failures = 0
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EmailNotifier:
        """Build from a settings mapping (what the dispatcher passes).

        Raises:
            ConfigError: an unknown or invalid setting.
        """
        reject_unknown(config, SETTINGS, "email")
        return cls(**dict(config))

    def __repr__(self) -> str:
        return (
            f"EmailNotifier(smtp_server={self.smtp_server!r}, smtp_port={self.smtp_port}, "
            f"to_email={list(self.to_email)!r}, security={self.security!r}, login_user={self.login_user!r})"
        )

    # -- message ------------------------------------------------------------------
    def build_message(self, event: Event) -> EmailMessage:
        """The email for ``event`` (without sending it)."""
        rendered = render(event)
        message = EmailMessage()
        subject = " ".join(fill(self.subject_template, rendered.values).split())
        message["Subject"] = subject[:_SUBJECT_CHARS]
        message["From"] = self.from_email
        message["To"] = ", ".join(self.to_email)
        message["Date"] = email.utils.formatdate(localtime=True)
        message["Message-ID"] = email.utils.make_msgid("autocron", domain=socket.gethostname())
        message["X-AutoCron-Task"] = " ".join(event.task_name.split())
        message["X-AutoCron-Event"] = rendered.category
        message.set_content(self._text(rendered))
        if self.html:
            message.add_alternative(html_body(rendered), subtype="html")
        return message

    def _text(self, rendered: Rendered) -> str:
        if self.body_template is None:
            return text_body(rendered)
        return fill(self.body_template, rendered.values)

    # -- delivery -------------------------------------------------------------------
    def _password_now(self) -> str | None:
        if self.password_env is None:
            return self._password
        try:
            return env.secret_from_env("password_env", self.password_env)
        except ConfigError as exc:
            raise NotificationError(str(exc)) from None

    def notify(self, event: Event) -> None:
        """Send one email about ``event``.

        Raises:
            NotificationError: the server is unreachable, refused the login or
                the recipients, or TLS failed (the reason is in the message).
        """
        message = self.build_message(event)
        try:
            self.send(message)
        except NotificationError:
            with self._lock:
                self.failures += 1
            raise
        with self._lock:
            self.delivered += 1

    def send(self, message: EmailMessage) -> None:
        """Deliver a prepared message to ``to_email``.

        Raises:
            NotificationError: with the reason (never the password).
        """
        where = f"{self.smtp_server}:{self.smtp_port}"
        password = self._password_now() if self.login_user else None
        try:
            if self.security == "implicit":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.smtp_server, self.smtp_port, timeout=self.timeout, context=self._context
                )
            else:
                client = smtplib.SMTP(self.smtp_server, self.smtp_port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=self._context)
                if self.login_user:
                    if self.security == "plain":
                        _warn_clear_login(where)
                    client.login(self.login_user, password or "")
                refused = client.send_message(message, self.from_email, list(self.to_email))
        except smtplib.SMTPAuthenticationError as exc:
            raise NotificationError(
                f"SMTP server {where} refused the login of {self.login_user!r}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise NotificationError(
                f"SMTP server {where} does not support what was asked ({exc}); "
                "check use_tls and the login settings"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(
                f"{rcpt}: {code} {_text(text)}" for rcpt, (code, text) in exc.recipients.items()
            )
            raise NotificationError(f"SMTP server {where} refused every recipient ({reasons})") from None
        except smtplib.SMTPResponseException as exc:
            raise NotificationError(
                f"SMTP server {where} answered {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPException as exc:
            raise NotificationError(f"SMTP conversation with {where} failed: {exc}") from None
        except ssl.SSLError as exc:
            raise NotificationError(f"TLS with SMTP server {where} failed: {exc.reason or exc}") from None
        except OSError as exc:
            reason = (
                "timed out"
                if isinstance(exc, TimeoutError)
                else (exc.strerror or str(exc) or type(exc).__name__)
            )
            raise NotificationError(f"could not reach SMTP server {where}: {reason}") from None
        if refused:
            logger.warning("SMTP server %s refused some recipients: %s", where, ", ".join(sorted(refused)))


_warned_clear: set[str] = set()
_warned_lock = threading.Lock()


def _warn_clear_login(where: str) -> None:
    """Warn, once per process and server, that a password is about to cross the network in clear."""
    with _warned_lock:
        if where in _warned_clear:
            return
        _warned_clear.add(where)
    logger.warning(
        "email: logging in to SMTP server %s without TLS: the password is sent in clear text "
        "(set use_tls=true, or use_ssl=true for TLS from the first byte)",
        where,
    )


def default_port(use_tls: bool | None, use_ssl: bool, logs_in: bool) -> int:
    """The port used when ``smtp_port`` is not given.

    465 with ``use_ssl``; 587 (submission) when TLS is asked for or left unset
    and the notifier logs in; else 25.
    """
    if use_ssl:
        return SMTPS_PORT
    if use_tls or (use_tls is None and logs_in):
        return SUBMISSION_PORT
    return 25


def connection_security(port: int, use_tls: bool | None, use_ssl: bool = False, logs_in: bool = False) -> str:
    """How a connection to ``port`` is secured: ``"implicit"``, ``"starttls"`` or ``"plain"``.

    ``use_tls`` left unset (``None``) means TLS on port 465 and 587 and whenever
    the notifier logs in, as the older AutoCron defaulted ``use_tls`` to true
    (and always logged in): a password never crosses the network in clear unless
    ``use_tls=False`` says so. Without a login on another port (a local relay on
    port 25) the connection stays plain.

    ``use_tls=True`` means STARTTLS, as in the older AutoCron, except on port
    465, which speaks TLS from the first byte (the older AutoCron tried STARTTLS
    there and could never connect). ``use_ssl=True`` means implicit TLS on any port.

    Args:
        port: the SMTP port.
        use_tls: the ``use_tls`` setting, ``None`` when not given.
        use_ssl: the ``use_ssl`` setting.
        logs_in: whether the notifier logs in (a username or a password is given).
    """
    if use_ssl:
        return "implicit"
    if use_tls is None:
        use_tls = logs_in or port in (SMTPS_PORT, SUBMISSION_PORT)
    if not use_tls:
        return "plain"
    return "implicit" if port == SMTPS_PORT else "starttls"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
