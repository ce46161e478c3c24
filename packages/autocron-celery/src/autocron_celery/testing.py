"""Real Celery workers for tests: started as processes, always stopped.

``CeleryWorker`` runs ``python -m celery -A <module> worker`` on one queue
(prefork pool, no gossip, mingle or heartbeat) in a session of its own, waits
until it says it is ready, and kills its whole process group on ``kill()`` or
when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

__all__ = ["CeleryWorker", "wait_for"]


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, what: str = "a condition") -> None:
    """Poll ``predicate`` every 0.1 s until it is true (a generous deadline, not a timing assertion).

    Raises:
        AssertionError: still false after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


class CeleryWorker:
    """One ``celery worker`` process (and its pool children).

    Args:
        app: the ``-A`` argument (``"proj.celery"`` or ``"proj.celery:app"``).
        queue: the one queue it consumes.
        log_path: where its output goes (read to know it is ready).
        pythonpath: folders put first on the worker's ``PYTHONPATH``.
        concurrency: pool processes.
        name: the worker's node name (``-n``).
        env: extra environment variables.
    """

    def __init__(
        self,
        app: str,
        queue: str,
        log_path: Path,
        *,
        pythonpath: list[str] | None = None,
        concurrency: int = 1,
        name: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.queue = queue
        self.log_path = log_path
        self.name = name or f"{queue}@%h"
        full_env = dict(os.environ, **(env or {}))
        if pythonpath:
            full_env["PYTHONPATH"] = os.pathsep.join([*pythonpath, full_env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            )
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                app,
                "worker",
                "--pool=prefork",
                "-c",
                str(concurrency),
                "-Q",
                queue,
                "-n",
                self.name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The worker's main process id (also its process group id)."""
        return self.process.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once the worker has said it is ready.

        Raises:
            RuntimeError: it exited, or did not get ready in ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"celery worker on {self.queue} not ready (exit {self.process.poll()}):\n{tail}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once (a machine dying, as far as it knows)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """Stop it: SIGTERM (warm shutdown), SIGKILL after 10 s; the group goes either way."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):  # pool children left behind, if any
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(30)
        self._log.close()

    def __enter__(self) -> CeleryWorker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
