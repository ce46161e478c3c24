"""A lock between processes for one task file: a sidecar ``.<name>.lock`` file, locked whole.

Every writer of a task file holds it while it re-reads the file, applies its
own change and replaces the file, so two writers (a running ``autocron
start --store tasks.yaml`` and a CLI ``autocron schedule``) never lose each
other's updates. The lock file itself stays: deleting it would let a third
writer lock a new file while the second still holds the old one.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

from autocron_core.errors import StoreError

__all__ = ["lock_path", "locked"]

#: Seconds a writer waits for another before giving up (a save takes milliseconds).
LOCK_TIMEOUT = 60.0


def lock_path(path: str) -> str:
    """The sidecar lock file of ``path``: hidden, in the same folder."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.lock")


@contextlib.contextmanager
def locked(path: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive lock of the task file ``path`` (``fcntl.flock`` on POSIX, ``msvcrt`` on Windows).

    Raises:
        StoreError: the lock file cannot be created, or another process held
            the lock for longer than ``timeout`` seconds.
    """
    where = lock_path(path)
    try:
        fd = os.open(where, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot lock {path}: {exc.strerror or exc} ({where})") from None
    try:
        _acquire(fd, path, timeout)
        try:
            yield
        finally:
            _release(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _acquire(fd: int, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise StoreError(f"{path} stayed locked by another writer for {timeout:g}s") from None
                time.sleep(0.01)

    def _release(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(fd: int, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                # Polled rather than blocking, so a stuck writer turns into an error, not a hang.
                if time.monotonic() > deadline:
                    raise StoreError(f"{path} stayed locked by another writer for {timeout:g}s") from None
                time.sleep(0.002)
            except OSError as exc:
                raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from None

    def _release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
