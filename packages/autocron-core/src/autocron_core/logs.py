"""Logging setup for applications and the CLI; library code only gets loggers.

Every line logged while a task runs, by AutoCron or by the task's own code,
carries the task name and the occurrence it belongs to.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from ._runctx import current_run
from .env import AUTOCRON_LOG_LEVEL, home_dir

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["configure_logging", "get_logger"]

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s%(run)s: %(message)s"
_lock = threading.Lock()
_installed: list[logging.Handler] = []


def get_logger(name: str = "autocron") -> logging.Logger:
    """A logger under the ``autocron`` tree (``get_logger("jobs")`` → ``autocron.jobs``)."""
    if name != "autocron" and not name.startswith("autocron."):
        name = f"autocron.{name}"
    return logging.getLogger(name)


class RunContextFilter(logging.Filter):
    """Adds ``[task@occurrence]`` to records logged during a run."""

    def filter(self, record: logging.LogRecord) -> bool:
        run = current_run()
        record.run = f" [{run.task_name}@{run.scheduled_iso}]" if run is not None else ""
        return True


def configure_logging(
    path: str | os.PathLike[str] | None = None,
    level: str | int | None = None,
    *,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
    console: bool | None = None,
) -> Path:
    """Send the ``autocron`` loggers to a rotating file and, on a terminal, the console.

    Calling it again replaces what the previous call installed.

    Args:
        path: the log file; default ``$AUTOCRON_HOME/logs/autocron.log``.
        level: a level name or number; default ``$AUTOCRON_LOG_LEVEL`` or INFO.
        max_bytes: size at which the file rotates.
        backups: rotated files kept.
        console: also log to stderr; default: only when stderr is a terminal.
            The console handler is rich's (coloured) when rich is installed.

    Returns:
        The log file's path.
    """
    level = level or os.environ.get(AUTOCRON_LOG_LEVEL, "INFO")
    if isinstance(level, str):
        resolved = logging.getLevelName(level.upper())
        if not isinstance(resolved, int):
            raise ValueError(f"level={level!r}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        level = resolved
    from pathlib import Path

    log_path = Path(path) if path is not None else home_dir(create=True) / "logs" / "autocron.log"
    log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    from ._logfile import PrivateRotatingFileHandler  # brings socket and pickle: only when configuring

    handlers: list[logging.Handler] = []
    file_handler = PrivateRotatingFileHandler(
        log_path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    handlers.append(file_handler)
    if console if console is not None else sys.stderr.isatty():
        handlers.append(_console_handler())
    context = RunContextFilter()
    root = logging.getLogger("autocron")
    with _lock:
        for old in _installed:
            root.removeHandler(old)
            old.close()
        _installed.clear()
        for handler in handlers:
            handler.addFilter(context)
            root.addHandler(handler)
            _installed.append(handler)
        root.setLevel(level)
    return log_path


def _console_handler() -> logging.Handler:
    if not os.environ.get("NO_COLOR"):
        try:
            from rich.logging import RichHandler
        except ImportError:
            pass
        else:
            handler: logging.Handler = RichHandler(show_path=False, rich_tracebacks=False)
            handler.setFormatter(logging.Formatter("%(name)s%(run)s: %(message)s"))
            return handler
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    return handler
