"""``autocron logs``: the tail of the log file the scheduler (and ``autocron run``) writes."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from autocron_cli import output
from autocron_cli._common import MAX_ROWS, complete_task_names

__all__ = ["follow", "logs", "matches", "tail"]

#: How often ``--follow`` looks for new lines: a log viewer, not a synchronisation.
POLL_EVERY = 0.5


def default_log_path() -> Path:
    """``$AUTOCRON_HOME/logs/autocron.log``, where ``configure_logging`` writes by default."""
    from autocron_core.env import home_dir

    return home_dir() / "logs" / "autocron.log"


def matches(line: str, task: str | None) -> bool:
    """Whether a log line belongs to ``task`` (every line when ``task`` is ``None``).

    A run's lines carry ``[task@occurrence]``; the scheduler's own messages
    about a task quote its name (``task 'backup': ...``).
    """
    if task is None:
        return True
    return f"[{task}@" in line or f"task {task!r}" in line


def tail(path: Path, lines: int, task: str | None = None) -> list[str]:
    """The last ``lines`` lines of ``path`` that belong to ``task``."""
    kept: deque[str] = deque(maxlen=lines)
    with path.open(encoding="utf-8", errors="replace") as handle:
        for text in handle:
            if matches(text, task):
                kept.append(text.rstrip("\n"))
    return list(kept)


def follow(
    path: Path,
    task: str | None = None,
    stop: threading.Event | None = None,
    wait: Callable[[float], object] | None = None,
) -> Iterator[str]:
    """Yield lines appended to ``path`` from now on, across rotation, until ``stop`` is set."""
    stop = stop or threading.Event()
    pause = wait or stop.wait
    handle = path.open(encoding="utf-8", errors="replace")
    try:
        handle.seek(0, os.SEEK_END)
        inode = os.fstat(handle.fileno()).st_ino
        pending = ""
        while not stop.is_set():
            chunk = handle.readline()
            if chunk:
                pending += chunk
                if pending.endswith("\n"):
                    if matches(pending, task):
                        yield pending.rstrip("\n")
                    pending = ""
                continue
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is not None and (current.st_ino != inode or current.st_size < handle.tell()):
                handle.close()  # rotated or truncated: start over on the new file
                handle = path.open(encoding="utf-8", errors="replace")
                inode = os.fstat(handle.fileno()).st_ino
                continue
            pause(POLL_EVERY)
    finally:
        handle.close()


@click.command()
@click.argument("name", required=False, shell_complete=complete_task_names)
@click.option(
    "--lines",
    "-n",
    type=click.IntRange(0, MAX_ROWS),
    default=50,
    show_default=True,
    help="How many of the last lines to show.",
)
@click.option("--follow", "-f", "keep_following", is_flag=True, help="Keep printing new lines (Ctrl-C ends).")
@click.option("--task", metavar="NAME", help="Only lines about this task.")
@click.option(
    "--file",
    "log_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Another log file (default: $AUTOCRON_HOME/logs/autocron.log).",
)
def logs(name: str | None, lines: int, keep_following: bool, task: str | None, log_file: Path | None) -> None:
    """Show the scheduler's log: the same file `autocron start` and `autocron run` write.

    NAME (or --task NAME) keeps only the lines about that task.
    """
    if name is not None and task is not None and name != task:
        raise click.UsageError(f"NAME {name!r} and --task {task!r} name different tasks; give one")
    task = task or name
    path = log_file or default_log_path()
    if not path.exists():
        output.note(f"no log file at {path} yet: nothing has been logged")
        return
    for text in tail(path, lines, task) if lines else []:
        output.line(text)
    if keep_following:
        try:
            for text in follow(path, task):
                output.line(text)
        except KeyboardInterrupt:
            return
