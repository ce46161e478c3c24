"""Finding the original AutoCron (``autocron-scheduler``) installed beside this one.

The original distribution and this project's ``autocron`` distribution both
install files into the ``autocron`` import package, so with both installed
``import autocron`` loads a mixture of the two. ``autocron --version`` and
``autocron doctor`` say so; nothing else looks, so other commands pay nothing.
"""

from __future__ import annotations

__all__ = ["ORIGINAL", "UNINSTALL", "original_distribution", "original_warning"]

#: The original project's distribution name on PyPI.
ORIGINAL = "autocron-scheduler"
#: What the user runs to remove it.
UNINSTALL = f"pip uninstall {ORIGINAL}"


def original_distribution() -> tuple[str, str] | None:
    """The original's installed ``(version, location)``, or ``None`` when it is not installed."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(ORIGINAL)
    except PackageNotFoundError:
        return None
    return dist.version or "unknown version", str(dist.locate_file(""))


def original_warning() -> str | None:
    """One line telling the user to uninstall the original, or ``None`` when it is absent."""
    found = original_distribution()
    if found is None:
        return None
    version, location = found
    # Uninstalling it deletes the files the two share, hence the reinstall.
    return (
        f"the original AutoCron ({ORIGINAL} {version}, in {location}) is installed beside this one; "
        "both own the `autocron` import package, so the original must be uninstalled first: "
        f"run '{UNINSTALL}', then 'pip install --force-reinstall --no-deps autocron' "
        "to restore the files the two shared"
    )
