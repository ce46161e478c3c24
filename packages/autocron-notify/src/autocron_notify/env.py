"""Every environment variable autocron-notify reads, in one place.

Besides the ``AUTOCRON_*`` names below, the notifiers read the variables a
configuration names itself (``password_env: SMTP_PASSWORD``,
``token_env: SLACK_TOKEN``), always through ``secret_from_env``.
"""

from __future__ import annotations

import os
import unicodedata
from typing import Any

from autocron_core.errors import ConfigError

__all__ = [
    "AUTOCRON_SMTP_CA_FILE",
    "AUTOCRON_SMTP_FROM",
    "AUTOCRON_SMTP_PASSWORD",
    "AUTOCRON_SMTP_PORT",
    "AUTOCRON_SMTP_SERVER",
    "AUTOCRON_SMTP_TIMEOUT",
    "AUTOCRON_SMTP_TO",
    "AUTOCRON_SMTP_USERNAME",
    "AUTOCRON_SMTP_USE_SSL",
    "AUTOCRON_SMTP_USE_TLS",
    "AUTOCRON_WEBHOOK_URL",
    "DISPLAY_VARIABLES",
    "SMTP_VARIABLES",
    "clean_secret",
    "display_available",
    "secret_from_env",
    "smtp_settings_from_env",
    "webhook_url_from_env",
]

#: SMTP host name (``smtp_server``).
AUTOCRON_SMTP_SERVER = "AUTOCRON_SMTP_SERVER"
#: SMTP port (``smtp_port``).
AUTOCRON_SMTP_PORT = "AUTOCRON_SMTP_PORT"
#: Login name (``username``).
AUTOCRON_SMTP_USERNAME = "AUTOCRON_SMTP_USERNAME"
#: Login password (``password``); read from the environment, so it never warns.
AUTOCRON_SMTP_PASSWORD = "AUTOCRON_SMTP_PASSWORD"  # noqa: S105 - a variable name, not a password
#: Sender address (``from_email``).
AUTOCRON_SMTP_FROM = "AUTOCRON_SMTP_FROM"
#: Recipients, comma-separated (``to_email``).
AUTOCRON_SMTP_TO = "AUTOCRON_SMTP_TO"
#: ``1``/``true`` for TLS, ``0``/``false`` for none (``use_tls``; unset: by port and login).
AUTOCRON_SMTP_USE_TLS = "AUTOCRON_SMTP_USE_TLS"
#: ``1``/``true`` for implicit TLS (``use_ssl``).
AUTOCRON_SMTP_USE_SSL = "AUTOCRON_SMTP_USE_SSL"
#: Seconds before giving up on the server (``timeout``).
AUTOCRON_SMTP_TIMEOUT = "AUTOCRON_SMTP_TIMEOUT"
#: A PEM file of CA certificates to trust for TLS (``ca_file``).
AUTOCRON_SMTP_CA_FILE = "AUTOCRON_SMTP_CA_FILE"
#: The webhook URL when the settings give none (``url``).
AUTOCRON_WEBHOOK_URL = "AUTOCRON_WEBHOOK_URL"

#: Setting name -> the variable that supplies it when the settings do not.
SMTP_VARIABLES = {
    "smtp_server": AUTOCRON_SMTP_SERVER,
    "smtp_port": AUTOCRON_SMTP_PORT,
    "username": AUTOCRON_SMTP_USERNAME,
    "password": AUTOCRON_SMTP_PASSWORD,
    "from_email": AUTOCRON_SMTP_FROM,
    "to_email": AUTOCRON_SMTP_TO,
    "use_tls": AUTOCRON_SMTP_USE_TLS,
    "use_ssl": AUTOCRON_SMTP_USE_SSL,
    "timeout": AUTOCRON_SMTP_TIMEOUT,
    "ca_file": AUTOCRON_SMTP_CA_FILE,
}

#: Any of these set means a Linux/BSD desktop session may show notifications.
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")


def smtp_settings_from_env() -> dict[str, Any]:
    """The SMTP settings given by ``AUTOCRON_SMTP_*`` variables (unset ones are left out)."""
    found: dict[str, Any] = {}
    for key, variable in SMTP_VARIABLES.items():
        value = os.environ.get(variable)
        if value:
            found[key] = value
    return found


def webhook_url_from_env() -> str | None:
    """``$AUTOCRON_WEBHOOK_URL``, or ``None``."""
    return os.environ.get(AUTOCRON_WEBHOOK_URL) or None


def secret_from_env(field: str, variable: str) -> str:
    """The value of the environment variable a ``*_env`` setting names.

    Raises:
        ConfigError: the name is empty or the variable is unset or empty.
    """
    if not isinstance(variable, str) or not variable:
        raise ConfigError(f"{field}={variable!r}: expected the name of an environment variable", field=field)
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(
            f"{field}={variable!r}: expected that environment variable to be set (it is not)", field=field
        )
    return clean_secret(f"{field}={variable!r}", value, field=field)


#: Characters that end a line or control a terminal: never part of a real secret.
_BAD_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def clean_secret(where: str, value: str, *, field: str | None = None) -> str:
    """A token or password with surrounding whitespace removed, checked to be one line.

    Mounted secrets and ``echo`` usually end with a newline, which would break
    a header or a login (and land, whole, in a traceback). Surrounding
    whitespace is therefore dropped; a control character left inside is
    refused. The error never repeats the secret.

    Args:
        where: how the error names the setting (``"token"``, ``"token_env='SLACK_TOKEN'"``).
        value: the secret.
        field: the setting the error is about (default: ``where``).

    Raises:
        ConfigError: only whitespace, or a control or line-break character inside.
    """
    cleaned = value.strip()
    if not cleaned:
        raise ConfigError(f"{where}: expected a secret, got only whitespace", field=field or where)
    for position, char in enumerate(cleaned):
        if unicodedata.category(char) in _BAD_CATEGORIES:
            raise ConfigError(
                f"{where}: expected one line of printable text, got a control character "
                f"(U+{ord(char):04X} at position {position}; the value is not shown)",
                field=field or where,
            )
    return cleaned


def display_available() -> bool:
    """Whether a Linux/BSD graphical session is reachable (a display or a session bus)."""
    return any(os.environ.get(name) for name in DISPLAY_VARIABLES)
