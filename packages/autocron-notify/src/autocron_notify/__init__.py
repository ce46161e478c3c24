"""Desktop, email and webhook notifications for AutoCron."""

from __future__ import annotations

__all__: list[str] = []
