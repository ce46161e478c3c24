"""A hanging notifier cannot hold up later notifications (issue 15, "Also")."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading

import pytest

from autocron_core import AutoCron
from autocron_core.errors import ConfigError, TaskError
from autocron_core.events import Event, EventKind
from autocron_core.notifications import DEFAULT_SEND_TIMEOUT, NotificationDispatcher
from autocron_core.records import RunRecord, RunStatus
from autocron_core.task import build_task
from autocron_core.testing import FakeClock

T0 = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)


def _failure(minute: int) -> Event:
    when = T0 + dt.timedelta(minutes=minute)
    record = RunRecord("job", when, 1, RunStatus.FAILED, when, when, f"boom {minute}", "n")
    return Event(EventKind.FAILED, "job", when, None, record, when, 1, f"boom {minute}", None, False)


class Hangs:
    """A notifier whose server never answers (until the test lets it go)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.thread: threading.Thread | None = None

    def notify(self, event: Event) -> None:
        self.calls += 1
        self.thread = threading.current_thread()
        self.release.wait(30)


class Recorder:
    """A notifier that keeps the error of each event it gets."""

    def __init__(self) -> None:
        self.got: list[str | None] = []

    def notify(self, event: Event) -> None:
        self.got.append(event.error)


def test_a_hanging_notifier_times_out_and_later_notifications_still_go_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A send past send_timeout is logged as timed out; the other channel and later events are delivered."""
    hangs, recorder = Hangs(), Recorder()
    dispatcher = NotificationDispatcher([hangs, recorder], {"remind_every": 0}, send_timeout=0.2)
    task = build_task("job", func=print, every="1m")
    try:
        with caplog.at_level(logging.WARNING, logger="autocron.notify"):
            for minute in range(3):
                dispatcher.dispatch(task, _failure(minute))
            assert dispatcher.flush(10)
        assert recorder.got == ["boom 0", "boom 1", "boom 2"]
        assert hangs.calls == 1  # its channel is skipped while its first send still hangs
        assert "timed out after 0.2s" in caplog.text and "skipped" in caplog.text
        assert dispatcher.failures_by_channel == {"Hangs": 3}
    finally:
        hangs.release.set()
        dispatcher.close()


def test_a_channel_whose_send_came_back_is_used_again() -> None:
    """Once a timed-out send returns, the channel gets the next notification again."""
    hangs, recorder = Hangs(), Recorder()
    dispatcher = NotificationDispatcher([hangs, recorder], {"remind_every": 0}, send_timeout=0.1)
    task = build_task("job", func=print, every="1m")
    dispatcher.dispatch(task, _failure(0))
    assert dispatcher.flush(10)
    hangs.release.set()  # the server answers at last; the left-behind send returns
    assert hangs.thread is not None
    hangs.thread.join(5)  # a left-behind sender thread ends after its send
    dispatcher.dispatch(task, _failure(1))
    assert dispatcher.flush(10)
    assert hangs.calls == 2 and recorder.got == ["boom 0", "boom 1"]
    dispatcher.close()


def test_the_send_timeout_has_a_default_and_comes_from_the_settings() -> None:
    """send_timeout is 60 s unless the notifications settings (or the config) say otherwise."""
    assert NotificationDispatcher().send_timeout == DEFAULT_SEND_TIMEOUT == 60
    assert NotificationDispatcher(None, {"send_timeout": "2m"}).send_timeout == 120
    scheduler = AutoCron.from_config({"notifications": {"send_timeout": 5}}, clock=FakeClock(T0))
    assert scheduler.notifications.send_timeout == 5


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0, -1, "forever", 1e308])
def test_a_send_timeout_out_of_range_is_refused(value: object) -> None:
    """send_timeout must be a finite duration above zero, in code and in a config file."""
    with pytest.raises(TaskError, match="send_timeout"):
        NotificationDispatcher(None, {"send_timeout": value})
    config = json.loads(json.dumps({"notifications": {"send_timeout": value}}))
    with pytest.raises(ConfigError, match="send_timeout"):
        AutoCron.from_config(config, clock=FakeClock(T0))
