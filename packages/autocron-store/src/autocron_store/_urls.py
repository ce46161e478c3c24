"""Database URLs: driver mapping, the store's own query options, safe rendering."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from autocron_core.errors import ConfigError, StoreError

__all__ = ["StoreUrl", "parse_store_url"]

_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
_INSTALL = {
    "postgresql": "pip install 'autocron-store[postgres]'",
    "mysql": "pip install 'autocron-store[mysql]'",
    "mariadb": "pip install 'autocron-store[mysql]'",
}
#: Query keys the store reads itself; they are removed before the URL reaches the driver.
STORE_KEYS = ("keep_runs", "keep_days", "prefix", "busy_timeout", "lease")


class StoreUrl(NamedTuple):
    """A parsed store URL: the SQLAlchemy URL for the driver and the store's own options."""

    url: Any  # sqlalchemy.engine.URL
    options: dict[str, str]

    @property
    def safe(self) -> str:
        """The URL with its password hidden, for messages and logs."""
        return str(self.url.render_as_string(hide_password=True))


def parse_store_url(raw: str) -> StoreUrl:
    """Parse ``raw`` (a URL or a bare SQLite path) and choose the driver.

    ``postgresql://`` and ``postgres://`` use psycopg 3, ``mysql://`` and
    ``mariadb://`` use PyMySQL; a bare path is an SQLite file.

    Raises:
        ConfigError: the URL cannot be parsed or names an unsupported database.
        StoreError: the database's driver is not installed (with the pip line).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = raw if "://" in raw else f"sqlite:///{os.path.abspath(os.path.expanduser(raw))}"
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {exc}", field="store") from None
    backend, _, driver = url.drivername.partition("+")
    backend = backend.lower()
    if backend not in ("sqlite", "postgresql", "postgres", "mysql", "mariadb"):
        raise ConfigError(
            f"store URL {url.render_as_string(hide_password=True)!r}: expected sqlite://, "
            "postgresql:// or mysql:// (mariadb://)",
            field="store",
        )
    if not driver and backend in _DRIVERS:
        url = url.set(drivername=_DRIVERS[backend])
    elif backend == "postgres":
        url = url.set(drivername=f"postgresql+{driver}")
    options = {key: str(url.query[key]) for key in STORE_KEYS if key in url.query}
    url = url.difference_update_query(STORE_KEYS)
    if backend in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    _check_driver(url.drivername, backend, url)
    return StoreUrl(url, options)


def _check_driver(drivername: str, backend: str, url: Any) -> None:
    module = {"postgresql+psycopg": "psycopg", "mysql+pymysql": "pymysql", "mariadb+pymysql": "pymysql"}.get(
        drivername
    )
    if module is None:
        return
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise StoreError(
            f"{url.render_as_string(hide_password=True)}: the {module} driver is not installed; "
            f"install it with: {_INSTALL[backend]}"
        )
