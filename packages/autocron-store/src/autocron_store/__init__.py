"""Persistence for AutoCron: task files and the SQL store."""

from __future__ import annotations

__all__: list[str] = []
