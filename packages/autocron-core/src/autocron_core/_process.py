"""Running scripts and commands: argv only (never a shell), own process group, bounded output."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
from collections import deque
from typing import Any

from ._runctx import current_run
from .errors import CommandFailedError

#: How much of a script's or command's combined stdout/stderr a run record keeps
#: (a task's ``max_output_bytes`` changes it).
OUTPUT_TAIL_BYTES = 8192

_CHUNK = 65536
#: How often (ms) a run whose output pipe is quiet checks that its leader still
#: runs: the longest a run can outlast a leader whose pipe a child keeps open.
_LEADER_CHECK_MS = 50
#: Reads taken from the pipe after the leader exited (at most 1 MiB).
_DRAIN_READS = 16


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
    stdout = proc.stdout
    if stdout is None:  # pragma: no cover - Popen with stdout=PIPE always sets it
        raise RuntimeError("no output pipe")
    with stdout:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            tail = _read_to_eof(stdout.fileno(), tail_bytes)
        else:
            tail = _read_while_leader_runs(proc, stdout.fileno(), tail_bytes)
    returncode = proc.wait()
    if os.name != "nt":
        # The run owns every process it started: a background child left behind
        # by the leader (``cmd &``) ends with the run, so a timeout, ``skip`` or
        # ``max_instances`` can never be outlived. One killpg; ESRCH when none is left.
        _signal_pgid(proc.pid, signal.SIGTERM)
    output = b"".join(tail.chunks)[-tail_bytes:].decode("utf-8", "replace")
    if returncode != 0:
        raise CommandFailedError(label or os.path.basename(argv[0]), returncode, output)
    return output


def signal_group(proc: subprocess.Popen[bytes], *, kill: bool) -> None:
    """Send SIGTERM (or SIGKILL) to the process group ``proc`` leads; quiet if it is gone.

    On POSIX the group is signalled even when its leader has already exited:
    a background child it left behind still belongs to the run.
    """
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.kill() if kill else proc.terminate()
        return
    _signal_pgid(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)


def _signal_pgid(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class _Tail:
    """The last ``limit`` bytes of a stream, kept as a few chunks."""

    __slots__ = ("chunks", "kept", "limit")

    def __init__(self, limit: int) -> None:
        self.chunks: deque[bytes] = deque()
        self.kept = 0
        self.limit = limit

    def add(self, chunk: bytes) -> None:
        chunks = self.chunks
        chunks.append(chunk)
        self.kept += len(chunk)
        while self.kept - len(chunks[0]) >= self.limit:
            self.kept -= len(chunks.popleft())


def _read_to_eof(fd: int, tail_bytes: int) -> _Tail:  # pragma: no cover - Windows only
    tail = _Tail(tail_bytes)
    for chunk in iter(lambda: os.read(fd, _CHUNK), b""):
        tail.add(chunk)
    return tail


def _read_while_leader_runs(proc: subprocess.Popen[bytes], fd: int, tail_bytes: int) -> _Tail:
    """Read until end of output or until the leader has exited, whichever comes first.

    A background child that inherited the pipe keeps it open after the leader
    exits; reading to end of file would then wait for that child (forever, for
    a daemon). So the run ends at the leader's exit: what is already in the
    pipe is taken, the rest is not waited for.
    """
    tail = _Tail(tail_bytes)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        if poller.poll(_LEADER_CHECK_MS):
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                return tail
            tail.add(chunk)
        if proc.poll() is not None:
            break
    # The leader is gone. Take what is buffered (bounded: a child may write forever).
    for _ in range(_DRAIN_READS):
        if not poller.poll(0):
            break
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            break
        tail.add(chunk)
    return tail
