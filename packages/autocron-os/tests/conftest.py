"""Fixtures for the OS adapter tests: a throwaway crontab user and a recording runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence

import pytest


@pytest.fixture
def crontab_user() -> Iterator[str]:
    """A user created for this test only, so the real ``crontab`` never touches a real crontab."""
    if shutil.which("crontab") is None or shutil.which("useradd") is None:
        pytest.skip("needs the crontab program and useradd (Debian package cron)")
    if os.geteuid() != 0:
        pytest.skip("needs root to create a throwaway user for `crontab -u`")
    user = f"autocron-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True)
    try:
        yield user
    finally:
        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True, check=False)
        subprocess.run(["userdel", user], capture_output=True, check=False)


class Recorder:
    """A runner that records every argv and answers from a table of handlers."""

    def __init__(self, handler: object = None) -> None:
        self.calls: list[list[str]] = []
        self.stdin: list[str | None] = []
        self.handler = handler

    def __call__(self, argv: Sequence[str], stdin: str | None = None) -> tuple[int, str, str]:
        self.calls.append(list(argv))
        self.stdin.append(stdin)
        if callable(self.handler):
            return self.handler(list(argv), stdin)  # type: ignore[no-any-return]
        return 0, "", ""


@pytest.fixture
def recorder() -> Recorder:
    """A runner that succeeds and records the argv it was given."""
    return Recorder()
