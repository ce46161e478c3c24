"""Running scripts and commands: argv only (never a shell), own process group, bounded output."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import deque
from typing import Any

from ._runctx import current_run
from .errors import CommandFailedError

#: How much of a script's or command's combined stdout/stderr a run record keeps
#: (a task's ``max_output_bytes`` changes it).
OUTPUT_TAIL_BYTES = 8192


def run_argv(
    argv: list[str],
    cwd: str | None = None,
    label: str | None = None,
    *,
    env: dict[str, str] | None = None,
    tail_bytes: int = OUTPUT_TAIL_BYTES,
) -> str:
    """Run ``argv`` to completion and return the tail of its output.

    The process gets its own process group (its own console group on Windows)
    so that a timeout can stop it together with every child it started.

    Args:
        argv: the program and its arguments (never run through a shell).
        cwd: the working folder.
        label: how errors name the program (default: its file name).
        env: the child's environment (default: this process's).
        tail_bytes: how many bytes of output to keep, the last ones.

    Raises:
        CommandFailedError: the exit code was not zero.
        OSError: the program could not be started.
    """
    kwargs: dict[str, Any] = {}
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    else:
        kwargs["start_new_session"] = True
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        **kwargs,
    )
    run = current_run()
    if run is not None:
        run.attach_process(proc)
    chunks: deque[bytes] = deque()
    kept = 0
    stdout = proc.stdout
    if stdout is None:  # pragma: no cover - Popen with stdout=PIPE always sets it
        raise RuntimeError("no output pipe")
    fd = stdout.fileno()
    with stdout:
        for chunk in iter(lambda: os.read(fd, 65536), b""):
            chunks.append(chunk)
            kept += len(chunk)
            while kept - len(chunks[0]) >= tail_bytes:
                kept -= len(chunks.popleft())
    returncode = proc.wait()
    output = b"".join(chunks)[-tail_bytes:].decode("utf-8", "replace")
    if returncode != 0:
        raise CommandFailedError(label or os.path.basename(argv[0]), returncode, output)
    return output


def signal_group(proc: subprocess.Popen[bytes], *, kill: bool) -> None:
    """Send SIGTERM (or SIGKILL) to the process group ``proc`` leads; quiet if it is gone."""
    if proc.poll() is not None:
        return
    try:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            proc.kill() if kill else proc.terminate()
        else:
            os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
