"""``OSAdapter``: what every OS scheduler adapter shares.

An adapter turns a task into an entry of the host's scheduler that runs
``<python> -m autocron_cli run <name>``: the OS decides *when*, AutoCron still
decides *how* (retries, history, notifications). The base class validates
names, checks schedules before touching anything, builds the command, writes
files atomically and runs the host's tools through an injectable runner.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from autocron_core.env import home_dir
from autocron_core.errors import OSAdapterError
from autocron_core.protocols import InstalledEntry, Support
from autocron_core.schedules import At, Interval, Schedule
from autocron_core.task import MAX_NAME, Task, name_problem, sanitize_task_name

from ._secrets import forget_store, mask_secrets, portable_store_url, store_file_path, write_store_file

__all__ = ["Command", "OSAdapter", "Runner", "subprocess_runner"]

logger = logging.getLogger("autocron.os")

#: Runs ``argv`` (with ``stdin`` text when given) and returns ``(returncode, stdout, stderr)``.
Runner = Callable[[Sequence[str], "str | None"], tuple[int, str, str]]

#: Environment variables copied from the installing process into the entry, so
#: the run the OS fires uses the same state folder as the process that installed it.
#: The database URL is never copied: it may hold a password (see ``_secrets``).
FORWARDED_ENV = ("AUTOCRON_HOME",)
#: Set in the entry to the 0600 file holding the store URL (core's ``env`` reads it).
STORE_FILE_ENV = "AUTOCRON_DATABASE_FILE"
MARKER = "autocron"
# What entry_id appends; a safe-looking name that already ends like it gets one too.
_HASH_SUFFIX = re.compile(r"-[0-9a-f]{8}\Z")


def subprocess_runner(argv: Sequence[str], stdin: str | None = None) -> tuple[int, str, str]:
    """Run a program without a shell and return its exit code and output."""
    try:
        proc = subprocess.run(  # noqa: PLW1510 - the exit code is returned, not raised
            list(argv), input=stdin, capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError as exc:
        return 127, "", str(exc)
    except subprocess.TimeoutExpired:
        return 124, "", f"{argv[0]} did not finish within 60 seconds"
    return proc.returncode, proc.stdout, proc.stderr


class Command:
    """The program an entry runs: ``argv`` plus environment variables to set.

    Attributes:
        argv: ``[python, "-m", "autocron_cli", "run", name]``.
        env: ``AUTOCRON_HOME`` / ``AUTOCRON_DATABASE`` of the installing process, when set.
    """

    __slots__ = ("argv", "env")

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv = argv
        self.env = env

    @property
    def name(self) -> str:
        """The task name the entry runs (the last argument, after ``--``)."""
        return self.argv[-1]

    def __repr__(self) -> str:
        return f"Command({self.argv!r}, env={self.env!r})"


class OSAdapter(abc.ABC):
    """Base of the cron, systemd, launchd and Windows adapters (core's ``OSScheduler``).

    Subclasses implement ``is_supported``, ``_check_schedule`` and the three
    ``_install``/``remove``/``list`` operations; ``install`` here validates the
    task first, so nothing is written for a task that would be refused.

    Args:
        runner: runs the host's tools (``crontab``, ``systemctl``, ...); tests inject one.
        python: the interpreter the entry runs (default: this one).
        env: the environment to copy ``AUTOCRON_HOME``/``AUTOCRON_DATABASE`` from
            (default: ``os.environ`` at install time).
        dst_tolerant: accept cron expressions that fire at a DST change, which
            systemd, launchd and Task Scheduler handle differently from AutoCron
            (a run skipped or not repeated once a year); refused by default.
    """

    name: str = "os"
    #: Whether entries carry environment variables (Task Scheduler actions have none).
    carries_env: bool = True

    def __init__(
        self,
        *,
        runner: Runner | None = None,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        dst_tolerant: bool = False,
    ) -> None:
        self.runner: Runner = runner or subprocess_runner
        self.dst_tolerant = dst_tolerant
        self.python = python or sys.executable
        self._env = env

    # -- the protocol ---------------------------------------------------------
    @abc.abstractmethod
    def is_supported(self) -> bool:
        """Whether this scheduler is usable on this host now."""

    def supports(self, schedule: Schedule) -> Support:
        """Whether ``schedule`` can be expressed exactly, and if not, why."""
        if isinstance(schedule, Interval) and schedule.seconds != int(schedule.seconds):
            return Support(False, f"{self.name} cannot fire at fractions of a second ({schedule.seconds}s)")
        if schedule.kind == "excluding":  # no host scheduler skips holidays or date ranges
            return Support(
                False,
                f"{self.name} cannot skip excluded days ({schedule.describe()}); "
                "run the task in the AutoCron daemon (autocron start) instead",
            )
        try:
            self._check_schedule(schedule)
        except OSAdapterError as exc:
            return Support(False, str(exc))
        return Support(True)

    def install(self, task: Task, *, store: str | None = None) -> InstalledEntry:
        """Install or replace the entry that runs ``autocron run -- <task>``.

        Args:
            task: the task (its definition must be in ``store``).
            store: the store URL or path the entry's run opens (default: the
                installing process's ``AUTOCRON_DATABASE``, else the default
                database). It is written to a 0600 file the entry points to
                with ``AUTOCRON_DATABASE_FILE``, never into the entry itself.

        Raises:
            OSAdapterError: the name, schedule, store or a forwarded variable
                cannot be written safely or exactly, or the host's tool
                failed; nothing was changed then.
        """
        self.check_name(task.name)
        support = self.supports(task.schedule)
        if not support:
            raise OSAdapterError(f"{self.name} cannot install task {task.name!r}: {support.reason}")
        url = self._store_url(store)
        command = self.command(task.name)
        home = self._home()
        ident = self.entry_id(task.name)
        if url is not None and not self.carries_env:
            default = self._store_url(None) or portable_store_url(str(home / "autocron.db"))
            if url != default:
                raise OSAdapterError(
                    f"{self.name} entries run with the user's own environment and cannot carry the store "
                    f"{mask_secrets(url)!r}: set AUTOCRON_DATABASE for the user to it, or use the "
                    "default store"
                )
        if url is not None and self.carries_env:
            command.env[STORE_FILE_ENV] = str(store_file_path(home, ident))
            self._check_forwarded(command)
            write_store_file(home, ident, url)
        try:
            entry = self._install(task, command)
        except BaseException:
            if url is not None and self.carries_env:
                forget_store(home, ident)
            raise
        logger.info("installed task %r in %s at %s", task.name, self.name, entry.location)
        return entry

    def _env_map(self) -> Mapping[str, str]:
        return self._env if self._env is not None else os.environ

    def _home(self) -> Path:
        # An env= without AUTOCRON_HOME still keeps the file under this process's home
        # (tests set it); the entry gets the file's absolute path either way.
        raw = self._env_map().get("AUTOCRON_HOME")
        return Path(raw).expanduser() if raw else home_dir()

    def _store_url(self, store: str | None) -> str | None:
        """The store URL the entry must carry, or ``None`` for the default database.

        Raises:
            OSAdapterError: an in-memory store, or a URL holding control characters.
        """
        env = self._env_map()
        if store is None and env.get(STORE_FILE_ENV):
            with open(env[STORE_FILE_ENV], encoding="utf-8") as handle:
                store = handle.read().strip()
        if store is None:
            store = env.get("AUTOCRON_DATABASE") or None
        if store is None:
            return None
        problem = name_problem(store)
        if problem is not None:
            raise OSAdapterError(
                f"store {mask_secrets(store)!r} cannot be forwarded to the OS entry: {problem}"
            )
        return portable_store_url(store)

    def forget(self, name: str) -> None:
        """Delete the store file written for task ``name``'s entry (called by ``remove``)."""
        forget_store(self._home(), self.entry_id(name))

    @abc.abstractmethod
    def remove(self, name: str) -> bool:
        """Remove the task's entry; whether there was one."""

    @abc.abstractmethod
    def list(self) -> list[InstalledEntry]:
        """This project's entries only, each with its schedule as the OS holds it."""

    # -- for subclasses ---------------------------------------------------------
    @abc.abstractmethod
    def _install(self, task: Task, command: Command) -> InstalledEntry:
        """Write and activate the entry; the name and schedule are already checked."""

    def _check_schedule(self, schedule: Schedule) -> None:
        """Raise ``OSAdapterError`` saying why ``schedule`` cannot be expressed."""
        if isinstance(schedule, At):
            raise OSAdapterError(f"{self.name} has no one-off entries; use an interval or a cron expression")

    def check_name(self, name: str) -> None:
        """Refuse names that no target could hold as inert data.

        Raises:
            OSAdapterError: empty, too long, or holding control characters.
        """
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
            raise OSAdapterError(f"task name {name!r}: expected 1 to {MAX_NAME} characters")
        problem = name_problem(name)  # core's rule: one rule for every adapter and the API
        if problem is not None:
            raise OSAdapterError(f"task name {name!r}: {problem}")

    def command(self, name: str) -> Command:
        """The command an entry for task ``name`` runs.

        ``--`` ends the options, so a task named ``--help`` is run, not read as a flag.

        Raises:
            OSAdapterError: a forwarded value (``AUTOCRON_HOME``, the
                interpreter's path) holds control characters, which would
                inject a second crontab line or unit-file setting.
        """
        env = self._env_map()
        forwarded = {key: env[key] for key in FORWARDED_ENV if env.get(key)}
        command = Command([self.python, "-m", "autocron_cli", "run", "--", name], forwarded)
        self._check_forwarded(command)
        return command

    @staticmethod
    def _check_forwarded(command: Command) -> None:
        for key, value in [*command.env.items(), ("the interpreter path", command.argv[0])]:
            problem = name_problem(value)
            if problem is not None:
                raise OSAdapterError(
                    f"{key} {mask_secrets(value)!r} cannot be written into an OS entry: {problem}"
                )

    @staticmethod
    def entry_id(name: str) -> str:
        """A file-safe identifier for a task name, different for every name.

        The sanitized name alone could collide (``a b`` and ``a_b``; ``Backup``
        and ``backup`` on macOS and Windows, which ignore case), so a short hash
        of the real name is added whenever sanitizing changed it, the name has
        capitals, or it already ends like such a hash (``backup_db-513b53ea``
        must not be the id of ``backup db``). Ids without a hash are therefore
        the names themselves, and ids with one differ by the hash.
        """
        clean = sanitize_task_name(name)[:80]
        if clean != name or name != name.lower() or _HASH_SUFFIX.search(name):
            clean = clean.lower() + "-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        return clean

    @staticmethod
    def marker(name: str, schedule: Schedule) -> str:
        """The JSON tag stored with an entry: the task name and its AutoCron schedule.

        ``ensure_ascii`` keeps every non-ASCII and special character escaped, so
        the tag is inert wherever it is written.
        """
        return json.dumps({"task": name, "schedule": schedule.to_config()}, ensure_ascii=True, sort_keys=True)

    @staticmethod
    def parse_marker(text: str) -> dict[str, Any] | None:
        """The tag written by ``marker``, or ``None`` when ``text`` is not one."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if isinstance(data, dict) and isinstance(data.get("task"), str):
            return data
        return None

    def run(
        self, argv: Sequence[str], stdin: str | None = None, *, ok: Sequence[int] = (0,)
    ) -> tuple[str, str]:
        """Run a host tool through the runner.

        Raises:
            OSAdapterError: the exit code is not in ``ok``; carries the tool's message.
        """
        logger.debug("running %s", argv)
        code, out, err = self.runner(list(argv), stdin)
        if code not in ok:
            detail = (err or out).strip() or f"exit code {code}"
            raise OSAdapterError(f"{self.name}: {' '.join(argv)} failed: {detail}")
        return out, err


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename.

    A reader (the OS scheduler) sees the old file or the new one, never half.
    Files are the user's own (0600) and folders this creates are 0700: an entry
    names the user's tasks and paths, which other users need not read.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
