"""The installed versions of AutoCron's distributions, for ``--version`` and ``doctor``."""

from __future__ import annotations

__all__ = ["OPTIONAL", "PACKAGES", "package_versions"]

#: AutoCron's distributions, the facade first.
PACKAGES = (
    "autocron",
    "autocron-core",
    "autocron-store",
    "autocron-os",
    "autocron-notify",
    "autocron-dash",
    "autocron-cli",
    "autocron-celery",
)
#: Distributions that ``pip install autocron`` does not bring (extras): not a problem when absent.
OPTIONAL = frozenset({"autocron-celery"})


def package_versions() -> list[tuple[str, str | None]]:
    """``(distribution, version)`` for each of ``PACKAGES``; ``None`` when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    rows: list[tuple[str, str | None]] = []
    for name in PACKAGES:
        try:
            rows.append((name, version(name)))
        except PackageNotFoundError:
            rows.append((name, None))
    return rows
