"""Every environment variable autocron-store reads, in one place."""

from __future__ import annotations

__all__ = ["AUTOCRON_REDIS_PASSWORD"]

#: The Redis password, for a ``redis://`` or ``rediss://`` store URL that carries none:
#: a URL without the secret can then go into configs, command lines and OS entries.
AUTOCRON_REDIS_PASSWORD = "AUTOCRON_REDIS_PASSWORD"  # noqa: S105 - the variable's name, not a password
