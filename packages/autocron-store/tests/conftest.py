"""Helpers shared by the store's tests: running a scenario where folder permissions count."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_NOBODY = 65534


def run_unprivileged(scenario: Callable[[Path], list[str]], folder: Path, scratch: Path) -> list[str]:
    """Run ``scenario(folder)`` where folder permissions count; the lines it returns.

    Root ignores permission bits, and CI runs as root: there the scenario runs in
    a forked child that drops to nobody (uid/gid 65534, no supplementary groups).
    A fork, not a new interpreter, because the interpreter may live where nobody
    cannot read it (/root/.pyenv); the child first runs the scenario once as root
    on ``scratch`` so every module it needs is imported before the drop.
    Skips where privileges cannot be dropped or permissions are not enforced.
    """
    if os.name != "posix":
        pytest.skip("needs POSIX permissions")
    if os.geteuid() != 0:
        lines = scenario(folder)
    else:
        os.chown(folder, _NOBODY, _NOBODY)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            status, out = 1, ""
            try:
                os.close(read_fd)
                scenario(scratch)
                try:
                    os.setgroups([])
                    os.setgid(_NOBODY)
                    os.setuid(_NOBODY)
                except PermissionError as exc:
                    out = f"NOPRIV {exc}"
                else:
                    out = "\n".join(scenario(folder))
                status = 0
            except BaseException:
                out = traceback.format_exc()
            finally:
                with contextlib.suppress(OSError), os.fdopen(write_fd, "w") as pipe:
                    pipe.write(out)
                os._exit(status)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            out = pipe.read()
        _, wait = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(wait) == 0, out
        if out.startswith("NOPRIV"):
            pytest.skip(f"cannot drop root privileges here: {out}")
        lines = out.splitlines()
    if "UNENFORCED" in lines:
        pytest.skip("this filesystem or user ignores folder permissions")
    return lines


@pytest.fixture
def open_folder(tmp_path: Path) -> Iterator[Path]:
    """An empty folder an unprivileged child can reach (pytest's root-owned temp folder is 0700)."""
    if os.name == "posix" and os.geteuid() == 0:
        folder = Path(tempfile.mkdtemp(prefix="autocron-ro-"))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path


def read_only(folder: Path) -> bool:
    """Make ``folder`` read-only; whether that is enforced for this process."""
    folder.chmod(0o500)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return True
    (folder / "probe").unlink()
    return False
