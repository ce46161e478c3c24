"""Redis store URLs: the store's own options, the password, and a form safe to log."""

from __future__ import annotations

import os
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from autocron_core.config import check_store_option
from autocron_core.errors import ConfigError

from .env import AUTOCRON_REDIS_PASSWORD

__all__ = ["DEFAULT_PREFIX", "RedisUrl", "parse_redis_url"]

#: Key namespace when the URL names none: keys start ``autocron:``.
DEFAULT_PREFIX = "autocron"
#: Query keys the store reads itself; the rest go to redis-py (``ssl_cert_reqs``, ``socket_timeout``...).
_STORE_KEYS = ("keep_runs", "keep_days", "prefix", "lease")
_SCHEMES = ("redis", "rediss")


class RedisUrl(NamedTuple):
    """A parsed Redis store URL.

    Attributes:
        client_url: the URL redis-py connects with (the password included, the store's options not).
        password: the password from the URL or ``AUTOCRON_REDIS_PASSWORD`` (``None`` for none).
        safe: the URL for messages and logs: password hidden, options kept.
        options: the store's own options, checked and converted.
    """

    client_url: str
    password: str | None
    safe: str
    options: dict[str, object]


def parse_redis_url(raw: str) -> RedisUrl:
    """Parse ``redis://[user[:password]@]host[:port][/db][?prefix=...&lease=...]`` (or ``rediss://``).

    Raises:
        ConfigError: not a Redis URL, a database that is not a number, or a bad option (named).
    """
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"not a Redis URL: {exc}", field="store") from None
    if parts.scheme.lower() not in _SCHEMES:
        raise ConfigError(f"store URL scheme {parts.scheme!r}: expected redis:// or rediss://", field="store")
    db = parts.path.lstrip("/")
    if db and not (db.isascii() and db.isdigit()):
        raise ConfigError(f"Redis database {db!r}: expected a number such as /0", field="store")
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = {key: check_store_option(key, value) for key, value in query if key in _STORE_KEYS}
    passthrough = [(key, value) for key, value in query if key not in _STORE_KEYS]
    password = unquote(parts.password) if parts.password else os.environ.get(AUTOCRON_REDIS_PASSWORD) or None
    host = parts.hostname or "127.0.0.1"
    if ":" in host:  # an IPv6 literal goes back in brackets
        host = f"[{host}]"
    where = host if port is None else f"{host}:{port}"
    user = quote(unquote(parts.username), safe="") if parts.username else ""
    login = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    client = urlunsplit((parts.scheme.lower(), login + where, parts.path, urlencode(passthrough), ""))
    shown = f"{user}:***@" if password else (f"{user}@" if user else "")
    shown_query = [(key, "***" if "password" in key.lower() else value) for key, value in query]
    safe = urlunsplit((parts.scheme.lower(), shown + where, parts.path, urlencode(shown_query, safe="*"), ""))
    return RedisUrl(client, password, safe, options)
