"""Atomic file replacement: readers see the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile

from autocron_core.errors import StoreError

__all__ = ["atomic_write", "remove_stale_temps"]

logger = logging.getLogger("autocron.store.files")

#: ``tempfile.mkstemp``'s random part: eight of these characters.
_RANDOM = "[a-z0-9_]{8}"


def _temp_prefix(path: str) -> str:
    return f".{os.path.basename(path)}."


def remove_stale_temps(path: str) -> int:
    """Delete temporary copies of ``path`` that a killed writer left; how many went.

    Call it only while holding the file's writer lock (``_filelock.locked``):
    every writer keeps its temporary file only while it holds that lock, so
    any copy found then belongs to a writer that died. Only files named as
    ``atomic_write`` names them (``.<name>.<8 random>.tmp``) are touched.
    """
    folder = os.path.dirname(os.path.abspath(path)) or "."
    pattern = re.compile(re.escape(_temp_prefix(path)) + _RANDOM + r"\.tmp")
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        if pattern.fullmatch(name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))
                removed += 1
    if removed:
        logger.info("removed %d temporary cop%s of %s left by an interrupted save", removed,
                    "y" if removed == 1 else "ies", path)  # fmt: skip
    return removed


def atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new content.

    The data goes to a temporary file in the same folder (``os.replace`` is
    atomic only within one file system), is flushed to disk, renamed over the
    target, and the folder itself is synced so the rename survives a power cut.

    Raises:
        StoreError: the folder is missing or not writable, or the disk is full;
            the existing file is untouched.
    """
    folder = os.path.dirname(os.path.abspath(path)) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc} (in folder {folder})") from None
    try:
        # Windows has no fchmod; the folder's ACLs apply there.
        with contextlib.suppress(AttributeError, OSError):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    # Without this the rename may be lost on power failure; Windows cannot open folders.
    if os.name != "posix":
        return
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
