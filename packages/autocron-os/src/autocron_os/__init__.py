"""Hands AutoCron tasks to the operating system's scheduler."""

from __future__ import annotations

__all__: list[str] = []
