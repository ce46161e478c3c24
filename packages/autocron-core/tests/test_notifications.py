"""The core side of notifications: noise control, the dispatcher, the log channel."""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from autocron_core import AutoCron
from autocron_core.errors import NotificationError, ScheduleError
from autocron_core.events import Event, EventKind
from autocron_core.notifications import (
    LogNotifier,
    NoiseControl,
    NotificationDispatcher,
    format_event,
    notice_of,
)
from autocron_core.records import RunRecord, RunStatus
from autocron_core.task import build_task
from autocron_core.testing import FakeClock
from autocron_core.testing.notifier_contract import NotifierContract, contract_event

T0 = _dt.datetime(2026, 1, 5, 3, 0, tzinfo=_dt.timezone.utc)


def event_at(kind: EventKind, minutes: float, *, name: str = "job", recovered: bool = False) -> Event:
    """An event of ``kind`` for task ``name`` at T0 + minutes, with its own run record."""
    when = T0 + _dt.timedelta(minutes=minutes)
    record = RunRecord(name, when, 1, RunStatus.FAILED, when, when, "boom", "n")
    return Event(
        kind,
        name,
        when,
        None,
        record,
        when,
        1,
        "boom" if kind is not EventKind.SUCCEEDED else None,
        None,
        recovered,
    )


class Recorder:
    """A notifier that keeps every event with the notice it was sent under."""

    def __init__(self) -> None:
        self.got: list[tuple[Event, Any]] = []
        self.threads: set[str] = set()

    def notify(self, event: Event) -> None:
        self.got.append((event, notice_of(event)))
        self.threads.add(threading.current_thread().name)


# -- noise control -------------------------------------------------------------
def test_first_failure_passes_then_collapses_then_reminds() -> None:
    """Failures inside the period are collapsed; after it, one reminder carries the collapsed count."""
    noise = NoiseControl(remind_every="1h")
    first = noise.admit(event_at(EventKind.FAILED, 0))
    assert first is not None and first.category == "failure" and not first.reminder
    assert noise.admit(event_at(EventKind.FAILED, 10)) is None
    assert noise.admit(event_at(EventKind.FAILED, 59)) is None
    reminder = noise.admit(event_at(EventKind.FAILED, 60))
    assert reminder is not None and reminder.reminder and reminder.suppressed == 2 and reminder.failures == 4
    assert reminder.failing_since == T0
    assert noise.admit(event_at(EventKind.FAILED, 61)) is None


def test_success_after_failures_is_one_recovery() -> None:
    """The first success after failures is a recovery; the next failure starts afresh."""
    noise = NoiseControl()
    noise.admit(event_at(EventKind.FAILED, 0))
    noise.admit(event_at(EventKind.FAILED, 1))
    recovery = noise.admit(event_at(EventKind.SUCCEEDED, 2))
    assert recovery is not None and recovery.category == "recovery" and recovery.failures == 2
    assert noise.admit(event_at(EventKind.SUCCEEDED, 3)) == noise.admit(event_at(EventKind.SUCCEEDED, 4))
    assert noise.admit(event_at(EventKind.SUCCEEDED, 5)).category == "success"  # type: ignore[union-attr]
    again = noise.admit(event_at(EventKind.FAILED, 6))
    assert again is not None and not again.reminder


def test_tasks_are_tracked_separately() -> None:
    """One task's failures do not collapse another's."""
    noise = NoiseControl()
    assert noise.admit(event_at(EventKind.FAILED, 0, name="a")) is not None
    assert noise.admit(event_at(EventKind.FAILED, 0, name="b")) is not None


def test_timed_out_then_failed_for_one_attempt_is_one_message() -> None:
    """The scheduler's timed_out plus failed events for the same attempt notify once."""
    noise = NoiseControl(remind_every=0)
    event = event_at(EventKind.TIMED_OUT, 0)
    assert noise.admit(event) is not None
    assert noise.admit(event._replace(kind=EventKind.FAILED)) is None


def test_zero_period_notifies_every_failure() -> None:
    """remind_every=0 turns collapsing off."""
    noise = NoiseControl(remind_every=0)
    assert all(noise.admit(event_at(EventKind.FAILED, m)) is not None for m in range(3))


def test_missed_is_limited_per_period() -> None:
    """Missed occurrences notify at most once per period per task."""
    noise = NoiseControl(remind_every="30m")
    assert noise.admit(event_at(EventKind.MISSED, 0)) is not None
    assert noise.admit(event_at(EventKind.MISSED, 29)) is None
    assert noise.admit(event_at(EventKind.MISSED, 30)) is not None


def test_injected_clock_decides_instead_of_event_time() -> None:
    """With a clock, noise control reads the clock, not the event's time."""
    clock = FakeClock(T0)
    noise = NoiseControl(remind_every=60, clock=clock)
    assert noise.admit(event_at(EventKind.FAILED, 0)) is not None
    assert noise.admit(event_at(EventKind.FAILED, 500)) is None  # event time ignored
    clock.advance(60)
    assert noise.admit(event_at(EventKind.FAILED, 0)) is not None


def test_bad_period_is_refused() -> None:
    """A remind_every that is not a duration raises ScheduleError naming it."""
    with pytest.raises(ScheduleError, match="remind_every"):
        NoiseControl(remind_every="often")


def test_reset_forgets_state() -> None:
    """reset() makes the next failure a first failure again."""
    noise = NoiseControl()
    noise.admit(event_at(EventKind.FAILED, 0))
    noise.reset("job")
    assert noise.is_failing("job") is False


# -- the dispatcher ---------------------------------------------------------------
def test_dispatcher_collapses_and_counts() -> None:
    """Repeated failures reach the channel once; the rest are counted as suppressed."""
    recorder = Recorder()
    dispatcher = NotificationDispatcher(recorder)
    task = build_task("job", func=print, every="1m")
    for minute in range(3):
        dispatcher.deliver(task, event_at(EventKind.FAILED, minute))
    dispatcher.deliver(task, event_at(EventKind.SUCCEEDED, 3, recovered=True))
    assert [n.category for _, n in recorder.got] == ["failure", "recovery"]
    assert recorder.got[1][1].failures == 3
    assert dispatcher.suppressed == 2 and dispatcher.delivered == 2


def test_remind_every_from_settings() -> None:
    """The notifications settings' remind_every key sets the period and is not a channel."""
    dispatcher = NotificationDispatcher("log", {"remind_every": "5m", "email": {"smtp_server": "x"}})
    assert dispatcher.noise.remind_every == 300
    assert set(dispatcher.settings) == {"email"}


def test_success_clears_state_even_when_not_wanted() -> None:
    """With notify_on=failure only, a success still ends the failing streak silently."""
    recorder = Recorder()
    dispatcher = NotificationDispatcher(recorder)
    task = build_task("job", func=print, every="1m", notify_on=["failure"])
    dispatcher.deliver(task, event_at(EventKind.FAILED, 0))
    assert dispatcher.wants(task, EventKind.SUCCEEDED, recovered=True)
    dispatcher.deliver(task, event_at(EventKind.SUCCEEDED, 1, recovered=True))
    dispatcher.deliver(task, event_at(EventKind.FAILED, 2))
    assert [n.category for _, n in recorder.got] == ["failure", "failure"]
    assert not dispatcher.wants(task, EventKind.STARTED)


def test_old_style_message_notifier_gets_text() -> None:
    """An object with notify(message) receives one formatted line, reminders included."""
    messages: list[str] = []

    class Old:
        def notify(self, message: str) -> None:
            messages.append(message)

    dispatcher = NotificationDispatcher(Old(), {"remind_every": 60})
    task = build_task("job", func=print, every="1m")
    dispatcher.deliver(task, event_at(EventKind.FAILED, 0))
    dispatcher.deliver(task, event_at(EventKind.FAILED, 0.5))
    dispatcher.deliver(task, event_at(EventKind.FAILED, 1))
    assert messages[0] == "task 'job' failed: boom"
    assert messages[1].startswith(
        "task 'job' is still failing (3 failure(s) since 2026-01-05T03:00:00+00:00)"
    )


def test_failing_channels_are_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    """NotificationError logs its reason; other errors log a traceback; unknown names too; nothing raises."""
    recorder = Recorder()

    class Refuses:
        def notify(self, event: Event) -> None:
            raise NotificationError("mail server said no")

    class Bug:
        def notify(self, event: Event) -> None:
            raise ZeroDivisionError("oops")

    dispatcher = NotificationDispatcher([Refuses(), Bug(), "no-such-channel", recorder])
    task = build_task("job", func=print, every="1m")
    with caplog.at_level(logging.WARNING, logger="autocron.notify"):
        dispatcher.deliver(task, event_at(EventKind.FAILED, 0))
    assert len(recorder.got) == 1
    assert dispatcher.failures == 3
    assert dispatcher.failures_by_channel == {"Refuses": 1, "Bug": 1, "no-such-channel": 1}
    assert "mail server said no" in caplog.text and "ZeroDivisionError" in caplog.text
    assert "no-such-channel" in caplog.text


def test_delivery_happens_off_the_calling_thread() -> None:
    """dispatch() queues; the autocron-notify thread delivers; flush() waits for it."""
    recorder = Recorder()
    dispatcher = NotificationDispatcher(recorder)
    task = build_task("job", func=print, every="1m")
    dispatcher.dispatch(task, event_at(EventKind.FAILED, 0))
    assert dispatcher.flush(5)
    assert recorder.threads == {"autocron-notify"}
    dispatcher.close()


def test_format_event_for_recovery() -> None:
    """A recovery line says after how many failures."""
    noise = NoiseControl()
    noise.admit(event_at(EventKind.FAILED, 0))
    event = event_at(EventKind.SUCCEEDED, 1, recovered=True)
    assert format_event(event, noise.admit(event)) == "task 'job' recovered after 1 failure(s)"


# -- the scheduler end to end (in-process channel) -----------------------------------
@pytest.fixture
def scheduler() -> Iterator[tuple[AutoCron, FakeClock]]:
    """A started scheduler on a FakeClock."""
    clock = FakeClock(T0)
    instance = AutoCron(clock=clock, log_level=None, notifications={"remind_every": "10m"})
    instance.start(blocking=False)
    yield instance, clock
    instance.stop()


def _tick(instance: AutoCron, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    instance.run_due(clock.now_us())
    assert instance.wait_idle(5)
    assert instance.notifications.flush(5)


def test_scheduler_failing_task_notifies_once_reminds_and_recovers(
    scheduler: tuple[AutoCron, FakeClock],
) -> None:
    """Failing every minute for 12 minutes gives one failure, one reminder, then one recovery."""
    instance, clock = scheduler
    outcomes = iter([False] * 12 + [True, True])
    recorder = Recorder()

    def job() -> None:
        if not next(outcomes):
            raise RuntimeError("boom")

    instance.add_task(name="flaky", func=job, every="1m", notify=recorder)
    for _ in range(14):
        _tick(instance, clock, 60)
    got = [(n.category, n.reminder) for _, n in recorder.got]
    assert got == [("failure", False), ("failure", True), ("recovery", False)]
    assert recorder.got[1][1].suppressed == 9


class TestLogNotifierContract(NotifierContract):
    """The built-in log channel passes the notifier contract."""

    @pytest.fixture
    def notifier(self) -> LogNotifier:
        return LogNotifier()

    @pytest.fixture
    def received(self, caplog: pytest.LogCaptureFixture) -> Callable[[], Sequence[str]]:
        caplog.set_level(logging.INFO, logger="autocron.notify")
        return lambda: [r.getMessage() for r in caplog.records if r.name == "autocron.notify"]


def test_contract_event_shape() -> None:
    """contract_event builds what the scheduler would: a record with duration and output."""
    event = contract_event(EventKind.SUCCEEDED, "x")
    assert event.record is not None and event.record.duration == 2.5 and event.error is None
