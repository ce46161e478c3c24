"""A rotating log file that is private to its owner, rotations included.

Kept apart from ``logs`` because ``logging.handlers`` brings socket and pickle:
it is imported only when logging is configured.
"""

from __future__ import annotations

import contextlib
import io
import os
from logging.handlers import RotatingFileHandler

#: Owner read/write only: a log holds task output and error text.
LOG_FILE_MODE = 0o600


def _make_private(fd: int | None = None, path: str | None = None) -> None:
    # chmod after opening, not the mode argument alone: the umask can only
    # remove bits, but an existing file keeps whatever mode it had.
    if os.name == "nt":  # pragma: no cover - Windows has no POSIX modes
        return
    if fd is not None:
        os.fchmod(fd, LOG_FILE_MODE)
    elif path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, LOG_FILE_MODE)


class PrivateRotatingFileHandler(RotatingFileHandler):
    """``RotatingFileHandler`` whose every file (current and rotated) is mode 0600.

    The stock handler opens each new file with ``open()``, so after the first
    rollover the fresh file gets the umask's mode (usually 0644).
    """

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_FILE_MODE)
        try:
            _make_private(fd=fd)
        except OSError:
            os.close(fd)
            raise
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def doRollover(self) -> None:
        """Rotate, then make sure every kept rotation is private too (older versions left 0644 ones)."""
        super().doRollover()
        for index in range(1, self.backupCount + 1):
            _make_private(path=self.rotation_filename(f"{self.baseFilename}.{index}"))
