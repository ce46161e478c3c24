"""Opening a SQL store's engine: connection pooling, SQLite files and pragmas."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from autocron_core.errors import StoreError

__all__ = ["create_sql_engine", "prepare_sqlite_file"]

_SQLITE_MAGIC = b"SQLite format 3\x00"


def create_sql_engine(url: Any, safe_url: str, busy_timeout_ms: int) -> Engine:
    """The engine for ``url``: pooled with pre-ping on servers, WAL and busy_timeout on SQLite.

    Raises:
        StoreError: the driver is missing or the SQLite file cannot be used.
    """
    dialect = url.get_backend_name()
    kwargs: dict[str, Any] = {}
    if dialect == "sqlite":
        path = url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            prepare_sqlite_file(os.path.abspath(path))
        else:
            from sqlalchemy.pool import StaticPool

            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        kwargs.update(pool_pre_ping=True, pool_recycle=1800)
        if "connect_timeout" not in url.query:
            kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        engine = create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"cannot open the store {safe_url}: {exc}") from None
    if dialect == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            # WAL lets the CLI read while a scheduler writes; busy_timeout makes
            # a second writer wait for the lock instead of failing at once.
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

    return engine


def prepare_sqlite_file(path: str) -> None:
    """Create the database file 0600 in a 0700 folder, or check that an existing one is SQLite."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        # Created here, 0600, before SQLite opens it: history may hold command output.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        try:
            with open(path, "rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise StoreError(f"cannot read the SQLite database {path}: {exc.strerror or exc}") from None
        if head and head != _SQLITE_MAGIC:
            raise StoreError(
                f"{path} is not an SQLite database (it was left untouched); point the store at another file"
            ) from None
    except OSError as exc:
        raise StoreError(f"cannot create the SQLite database {path}: {exc.strerror or exc}") from None
