"""Who may read and who may act: the token, the session cookie, CSRF and Host/Origin checks.

The rules (docs/security.md, "The web dashboard"):

- On a loopback address reading needs nothing; on any other address every
  request needs the token (a session cookie from the login form, or an
  ``Authorization: Bearer`` header), and binding there without a configured
  token is refused.
- Every action (a POST) needs a session made by logging in with the token,
  plus that session's CSRF token in the form, plus an ``Origin`` (when the
  browser sends one) equal to the dashboard's own.
- On loopback, the ``Host`` header must name loopback: a DNS-rebinding page
  (``evil.example`` resolving to 127.0.0.1) is answered 421 and reads nothing.

Sessions are stateless: the cookie is a random id signed with a key made
fresh for each server process (HMAC-SHA256), so a restart logs everybody out
and nothing about a session is stored anywhere. The CSRF token is a second
HMAC of the same id, so it is bound to the session and useless without it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

from autocron_core.errors import ConfigError

__all__ = [
    "SESSION_COOKIE",
    "Keys",
    "check_bind",
    "host_allowed",
    "is_loopback",
    "new_token",
]

#: The session cookie's name (HttpOnly, SameSite=Strict, Path=/).
SESSION_COOKIE = "autocron_session"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def new_token() -> str:
    """A fresh action token: 32 random bytes, URL-safe text (``secrets``)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name to bind) reaches this machine only."""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback address without a configured token.

    Raises:
        ConfigError: ``host`` is not loopback and ``token`` is empty.
    """
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"host={host!r}: the web dashboard binds to a non-loopback address only with a token "
            "(token= or AUTOCRON_DASH_TOKEN), since anyone who can reach it could read every "
            "task's output and run, pause or resume tasks; expected 127.0.0.1, ::1 or localhost, or a token",
            field="host",
        )


def _split_host(value: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8765`` → ``::1``, ``a:80`` → ``a``)."""
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(header: str | None, bound_loopback: bool) -> bool:
    """Whether a request's ``Host`` header is acceptable for a server bound as given.

    On loopback only loopback names pass, which defeats DNS rebinding (a
    hostile page's own name resolving to 127.0.0.1). Elsewhere any host
    passes: every request there needs the token anyway.
    """
    if not bound_loopback:
        return True
    if not header:
        return False
    return is_loopback(_split_host(header.strip()))


class Keys:
    """The token and this process's signing key; makes and checks sessions and CSRF tokens.

    Args:
        token: the action token, or ``None`` when actions are off (no login possible).
    """

    __slots__ = ("_key", "_token")

    def __init__(self, token: str | None) -> None:
        self._token = token
        self._key = secrets.token_bytes(32)

    @property
    def actions_enabled(self) -> bool:
        """Whether a token is set (without one nobody can log in or act)."""
        return bool(self._token)

    def token_matches(self, given: str | None) -> bool:
        """Constant-time comparison of ``given`` with the token."""
        if not self._token or not given:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self._token.encode("utf-8"))

    def _mac(self, purpose: str, session_id: str) -> str:
        return hmac.new(self._key, f"{purpose}:{session_id}".encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        """A signed session cookie value for a fresh session."""
        session_id = secrets.token_urlsafe(18)
        return f"{session_id}.{self._mac('session', session_id)}"

    def session_id(self, cookie: str | None) -> str | None:
        """The session id inside a cookie value whose signature checks, else ``None``."""
        if not cookie or "." not in cookie:
            return None
        session_id, _, mac = cookie.partition(".")
        if hmac.compare_digest(mac.encode(), self._mac("session", session_id).encode()):
            return session_id
        return None

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token of a session (what its forms carry)."""
        return self._mac("csrf", session_id)

    def csrf_matches(self, session_id: str, given: str | None) -> bool:
        """Whether ``given`` is that session's CSRF token."""
        if not given:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.csrf_token(session_id).encode())
