"""``autocron start`` exits non-zero when the scheduler loop dies (issue 15, fault 2)."""

from __future__ import annotations

import time

import pytest

from autocron_core._engine import Engine


class _LoopKiller(BaseException):
    """Stands for anything that escapes the loop (a task's own faults no longer can)."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the killed loop
def test_start_exits_1_when_the_scheduler_loop_dies(autocron, monkeypatch) -> None:
    """A daemon whose loop thread died exits 1 at once, not 0 at the end of --duration."""

    def die(self: Engine, now_us: int) -> int:
        raise _LoopKiller("the loop was killed")

    monkeypatch.setattr(Engine, "run_due", die)
    began = time.monotonic()
    result = autocron("start", "--duration", "20s")
    assert result.exit_code == 1
    assert time.monotonic() - began < 15  # it noticed, rather than waiting out --duration
