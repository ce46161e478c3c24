"""Task callbacks: the original AutoCron's signatures, and the Event for callbacks that declare it."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from autocron_core import AutoCron, CommandFailedError, Event, TaskError, TaskTimeoutError
from autocron_core.testing import FakeClock


def test_seed_style_callbacks_get_no_argument_and_the_exception(
    scheduler: AutoCron, clock: FakeClock
) -> None:
    """on_success() is called with no argument and on_failure(exc) with the exception the task raised."""
    calls: list[Any] = []
    scheduler.add_task("good", func=lambda: None, every="1s", on_success=lambda: calls.append("ok"))
    scheduler.add_task("bad", func=lambda: 1 / 0, every="1s", on_failure=calls.append)
    clock.advance(1)
    assert scheduler.settle()
    assert "ok" in calls
    (error,) = [c for c in calls if c != "ok"]
    assert isinstance(error, ZeroDivisionError)


def test_on_failure_gets_the_final_exception_after_retries(scheduler: AutoCron, clock: FakeClock) -> None:
    """With retries, on_failure is called once, with the last attempt's exception."""
    errors = iter([ValueError("first"), KeyError("last")])
    got: list[BaseException] = []

    def flaky() -> None:
        raise next(errors)

    scheduler.add_task("flaky", func=flaky, every="1h", retries=1, retry_delay=5, on_failure=got.append)
    clock.advance(3600)
    assert scheduler.settle()
    clock.advance(5)
    assert scheduler.settle()
    assert len(got) == 1 and isinstance(got[0], KeyError)


def test_on_failure_gets_task_timeout_error(scheduler: AutoCron, clock: FakeClock) -> None:
    """A timed-out run calls on_failure with a TaskTimeoutError naming the task and the timeout."""
    entered, release, called = threading.Event(), threading.Event(), threading.Event()
    got: list[BaseException] = []

    def slow() -> None:
        entered.set()
        release.wait(10)

    def failed(exc: BaseException) -> None:
        got.append(exc)
        called.set()

    scheduler.add_task("slow", func=slow, every="1h", timeout=5, on_failure=failed)
    try:
        clock.advance(3600)
        assert entered.wait(5)
        clock.advance(5)  # the timeout is recorded (and the callback called) on a thread of its own
        assert called.wait(5)
        assert len(got) == 1 and isinstance(got[0], TaskTimeoutError)
        assert got[0].task == "slow" and got[0].timeout == 5
    finally:
        release.set()


def test_on_failure_gets_command_failed_error() -> None:
    """A command exiting non-zero calls on_failure with a CommandFailedError carrying the exit code."""
    scheduler = AutoCron(timezone="UTC", max_workers=1)
    got: list[BaseException] = []
    scheduler.add_task(
        "exit3",
        command=[sys.executable, "-c", "raise SystemExit(3)"],
        every="1h",
        on_failure=got.append,
    )
    try:
        assert scheduler.run_task(name="exit3", timeout=20) is False
    finally:
        scheduler.stop()
    assert len(got) == 1 and isinstance(got[0], CommandFailedError) and got[0].returncode == 3


def test_the_declaration_decides_what_a_callback_gets(scheduler: AutoCron, clock: FakeClock) -> None:
    """A callback with a parameter named event, or annotated Event, gets the Event; others the seed's form."""
    got: list[Any] = []

    def by_name(event: object) -> None:
        got.append(event)

    def by_annotation(e: Event) -> None:
        got.append(e)

    scheduler.add_task("good", func=lambda: None, every="1s", on_success=by_name)
    scheduler.add_task("bad", func=lambda: 1 / 0, every="1s", on_failure=by_annotation)
    scheduler.add_task("plain", func=lambda: None, every="1s", on_success=lambda: got.append("plain"))
    clock.advance(1)
    assert scheduler.settle()
    events = sorted((e.task_name, e.kind.value) for e in got if isinstance(e, Event))
    assert events == [("bad", "failed"), ("good", "succeeded")]
    assert got.count("plain") == 1 and len(got) == 3


@pytest.mark.parametrize(
    ("option", "callback"),
    [
        ("on_success", lambda result: None),  # on_success() gets no argument
        ("on_failure", lambda: None),  # on_failure(exc) gets one
        ("on_failure", lambda exc, extra: None),
    ],
)
def test_a_callback_that_cannot_take_its_arguments_is_refused(
    scheduler: AutoCron, option: str, callback: Any
) -> None:
    """A callback that could not be called the way it will be is refused at add_task, naming the field."""
    with pytest.raises(TaskError) as caught:
        scheduler.add_task("t", func=lambda: None, every="1h", **{option: callback})
    assert caught.value.field == option and "event" in str(caught.value)
    assert scheduler.list_tasks() == []


def test_tasks_without_callbacks_do_not_import_inspect(tmp_path: Any) -> None:
    """A callback's form is decided when its task is added; tasks without callbacks never import inspect."""
    code = (
        "import sys\n"
        "from autocron_core import build_task\n"
        "build_task('t', func=print, every='1h')\n"
        "before = 'inspect' in sys.modules\n"
        "build_task('u', func=print, every='1h', on_success=lambda: None)\n"
        "print(before, 'inspect' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.split() == ["False", "True"]
