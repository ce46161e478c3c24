"""Persistence for AutoCron: YAML/JSON task files and the SQL store.

``FileStore`` keeps task definitions in one YAML or JSON document;
``SqlStore`` keeps definitions, run history, claims and node heartbeats in
SQLite (the default), PostgreSQL or MariaDB. Both are found by core through
the ``autocron.stores`` entry points, so ``AutoCron(store="sqlite:///x.db")``
works without importing this package.
"""

from __future__ import annotations

from .files import FileStore
from .retention import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_RUNS
from .sql import SqlStore

__all__ = ["DEFAULT_KEEP_DAYS", "DEFAULT_KEEP_RUNS", "FileStore", "SqlStore"]
