"""Fixtures for the OS adapter tests: a throwaway crontab user and a recording runner."""

from __future__ import annotations

from collections.abc import Sequence

import pytest


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
