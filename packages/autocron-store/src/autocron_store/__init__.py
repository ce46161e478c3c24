"""Persistence for AutoCron: YAML/JSON task files and the SQL store.

``FileStore`` keeps task definitions in one YAML or JSON document;
``SqlStore`` keeps definitions, run history, claims and node heartbeats in
SQLite (the default), PostgreSQL or MariaDB; ``RedisStore`` keeps the same
in one Redis database (``autocron-store[redis]``). All are found by core through
the ``autocron.stores`` entry points, so ``AutoCron(store="sqlite:///x.db")``
works without importing this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .retention import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_RUNS

if TYPE_CHECKING:
    from .files import FileStore
    from .redis_store import RedisStore
    from .sql import SqlStore

__all__ = ["DEFAULT_KEEP_DAYS", "DEFAULT_KEEP_RUNS", "FileStore", "RedisStore", "SqlStore"]


def __getattr__(name: str) -> Any:
    # Imported on first use: SQLAlchemy and PyYAML cost more than the CLI's
    # read-only commands (autocron_store._reads) spend reading.
    if name == "SqlStore":
        from .sql import SqlStore

        return SqlStore
    if name == "FileStore":
        from .files import FileStore

        return FileStore
    if name == "RedisStore":
        from .redis_store import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
