"""Every environment variable autocron-core reads, in one place."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "AUTOCRON_DATABASE",
    "AUTOCRON_DATABASE_FILE",
    "AUTOCRON_HOME",
    "AUTOCRON_LOG_LEVEL",
    "default_store_url",
    "home_dir",
]

#: Folder for AutoCron's state (database, logs); defaults to ``~/.autocron``.
AUTOCRON_HOME = "AUTOCRON_HOME"
#: Path or URL of the default database; overrides ``$AUTOCRON_HOME/autocron.db``.
AUTOCRON_DATABASE = "AUTOCRON_DATABASE"
#: Path of a file (mode 0600) holding the database path or URL; wins over
#: ``AUTOCRON_DATABASE``. OS entries use it so that a password in the URL is
#: never written into a crontab line, a unit file or a plist.
AUTOCRON_DATABASE_FILE = "AUTOCRON_DATABASE_FILE"
#: Default log level for ``configure_logging`` when none is given.
AUTOCRON_LOG_LEVEL = "AUTOCRON_LOG_LEVEL"


def home_dir(create: bool = False) -> Path:
    """The state folder: ``$AUTOCRON_HOME`` or ``~/.autocron``.

    Args:
        create: make the folder (mode 0700) when it does not exist yet.
    """
    from pathlib import Path

    raw = os.environ.get(AUTOCRON_HOME)
    path = Path(raw).expanduser() if raw else Path.home() / ".autocron"
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def default_store_url() -> str:
    """The default database: the URL in ``$AUTOCRON_DATABASE_FILE``, else
    ``$AUTOCRON_DATABASE`` (a path or URL), else
    ``sqlite:///$AUTOCRON_HOME/autocron.db`` (the folder is created)."""
    raw = os.environ.get(AUTOCRON_DATABASE)
    pointer = os.environ.get(AUTOCRON_DATABASE_FILE)
    if pointer:
        with open(pointer, encoding="utf-8") as handle:
            raw = handle.read().strip()
    if raw:
        return raw if "://" in raw else f"sqlite:///{os.path.abspath(os.path.expanduser(raw))}"
    return f"sqlite:///{home_dir(create=True) / 'autocron.db'}"
