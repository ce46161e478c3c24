"""The store an OS entry opens, kept out of the entry itself.

A database URL may hold a password. A crontab line is visible in ``ps`` while
the job runs, unit files and plists are usually world-readable, and ``autocron
os list --json`` is pasted into bug reports. So the URL goes into a file of its
own (mode 0600, in a 0700 folder under ``$AUTOCRON_HOME``) and the entry only
sets ``AUTOCRON_DATABASE_FILE`` to that file's path; core's
``default_store_url`` reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autocron_core.errors import OSAdapterError

__all__ = [
    "STORE_DIR",
    "forget_store",
    "mask_secrets",
    "portable_store_url",
    "store_file_path",
    "write_store_file",
]

#: Folder under ``$AUTOCRON_HOME`` holding one ``<entry id>.store`` file per entry.
STORE_DIR = "os-entries"

# user:password@ in a URL, and password-like query options (libpq's and PyMySQL's spellings).
_USERINFO = re.compile(r"(://[^:/?#@\s]*:)[^@\s]*@")
_QUERY = re.compile(r"([?&](?:password|passwd|pass|pwd|sslpassword)=)[^&\s'\"]*", re.IGNORECASE)


def mask_secrets(value: Any) -> Any:
    """``value`` with every password in a URL replaced by ``***`` (strings, lists and dicts, recursively)."""
    if isinstance(value, str):
        return _QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", value))
    if isinstance(value, Mapping):
        return {key: mask_secrets(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(item) for item in value]
    return value


def portable_store_url(store: str) -> str:
    """``store`` as a URL that opens the same store from any working directory.

    Raises:
        OSAdapterError: an in-memory store (no other process can reach it).
    """
    lowered = store.lower()
    if lowered.startswith("memory:") or lowered in ("sqlite://", "sqlite:///:memory:"):
        raise OSAdapterError(
            f"store {mask_secrets(store)!r}: an in-memory store cannot be reached by the process the OS "
            "scheduler starts; use a database file or URL (e.g. store='sqlite:////home/me/tasks.db')"
        )
    if "://" not in store:
        path = os.path.abspath(os.path.expanduser(store))
        if lowered.endswith((".yaml", ".yml")):
            return "yaml://" + path
        if lowered.endswith(".json"):
            return "json://" + path
        return "sqlite:///" + path
    scheme, _, rest = store.partition("://")
    kind = scheme.lower()
    # Relative paths are relative to the working directory, which cron sets to $HOME.
    if kind == "sqlite" and rest.startswith("/"):
        path, mark, query = rest[1:].partition("?")
        if path and not os.path.isabs(path):
            return f"sqlite:///{os.path.abspath(path)}{mark}{query}"
    elif kind in ("yaml", "json") and not os.path.isabs(rest):
        return f"{kind}://{os.path.abspath(os.path.expanduser(rest))}"
    return store


def store_file_path(home: Path, entry_id: str) -> Path:
    """Where the store URL of entry ``entry_id`` is kept."""
    return home / STORE_DIR / f"{entry_id}.store"


def write_store_file(home: Path, entry_id: str, url: str) -> Path:
    """Write ``url`` to the entry's 0600 file (folder 0700) and return its path."""
    folder = home / STORE_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # an existing folder (or one made under a lax umask) is tightened too
    path = store_file_path(home, entry_id)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (url + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def forget_store(home: Path, entry_id: str) -> None:
    """Delete the entry's store file, if there is one."""
    store_file_path(home, entry_id).unlink(missing_ok=True)
