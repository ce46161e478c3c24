"""Entry-point factories: how ``autocron_core.registry.open_store`` builds this package's stores."""

from __future__ import annotations

from typing import Any

from .files import FileStore
from .sql import SqlStore

__all__ = ["open_file_store", "open_redis_store", "open_sql_store"]


def open_sql_store(url: str, **options: Any) -> SqlStore:
    """``sqlite://``, ``postgresql://``, ``mysql://``/``mariadb://`` URLs and bare database paths."""
    return SqlStore(url, **options)


def open_file_store(url: str, **options: Any) -> FileStore:
    """``.yaml``/``.yml``/``.json`` paths (or ``yaml://``/``json://`` URLs followed by a path)."""
    path = url.split("://", 1)[1] if "://" in url else url
    return FileStore(path, **options)


def open_redis_store(url: str, **options: Any) -> Any:
    """``redis://`` and ``rediss://`` URLs (needs ``autocron-store[redis]``)."""
    from .redis_store import RedisStore  # only a Redis store pays for importing redis-py

    return RedisStore(url, **options)
