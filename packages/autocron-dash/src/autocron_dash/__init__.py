"""Analytics, dashboard and metrics for AutoCron."""

from __future__ import annotations

__all__: list[str] = []
