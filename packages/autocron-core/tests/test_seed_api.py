"""The original AutoCron's Python API on the scheduler: its errors, ``notifier=``,
``AutoCron(poll_interval=, shutdown_timeout=)`` and starting again after ``stop()``."""

from __future__ import annotations

import datetime as _dt
import logging
import math
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import (
    AutoCron,
    CommandFailedError,
    ConfigError,
    NotificationError,
    OSAdapterError,
    PluginNotFoundError,
    ScheduleError,
    SchedulingError,
    StoreError,
    TaskError,
    TaskExecutionError,
    TaskTimeoutError,
    TimeParseError,
    get_global_scheduler,
    reset_global_scheduler,
    schedule,
)
from autocron_core.testing import FakeClock

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


def job() -> None:
    """A task that does nothing."""


def broken() -> None:
    """A task that always fails."""
    raise RuntimeError("disk full")


class MessageBox:
    """A notifier written for the original AutoCron: ``notify(message)`` takes a string."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def notify(self, message: str) -> None:
        self.messages.append(message)


class Exploding:
    """A notifier whose notify() always raises."""

    def notify(self, message: str) -> None:
        raise ConnectionError("smtp down")


@pytest.fixture
def fresh() -> Iterator[AutoCron]:
    """An unstarted scheduler on a fake clock, stopped after the test."""
    instance = AutoCron(timezone="UTC", clock=FakeClock(T0))
    yield instance
    instance.stop(timeout=5)


# -- errors ------------------------------------------------------------------

_HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, "", "abc", "1x", "-5m", "* * *", "61 * * * *", "Mars/Base", "\x00"]),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.builds(object),
)
_OPTIONS = st.sampled_from(
    [
        "every",
        "cron",
        "at",
        "timezone",
        "retries",
        "retry_delay",
        "backoff",
        "max_retry_delay",
        "timeout",
        "jitter",
        "misfire_grace_time",
        "max_instances",
        "overlap_policy",
        "coalesce",
        "start_at",
        "end_at",
        "args",
        "kwargs",
        "tags",
        "notify_on",
        "email_config",
        "on_success",
        "notifier",
        "name",
    ]
)


class TestSchedulingError:
    """``except SchedulingError`` catches every failure of add_task, run_task and remove_task."""

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(option=_OPTIONS, value=_HOSTILE)
    def test_any_bad_add_task_option_is_a_scheduling_error(self, option: str, value: Any) -> None:
        """Whatever value an add_task option gets, it is added or refused with SchedulingError."""
        scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0))
        options: dict[str, Any] = {"name": "t", "func": job, "every": "5m"}
        if option in ("cron", "at"):
            del options["every"]
        options[option] = value
        try:
            scheduler.add_task(**options)
        except SchedulingError as exc:
            assert str(exc)
            assert scheduler.list_tasks() == []  # nothing changed
        else:
            assert len(scheduler.list_tasks()) == 1

    def test_duplicate_name_unknown_task_and_missing_plugin(self, fresh: AutoCron) -> None:
        """A taken name, a task that does not exist and a store nobody provides are SchedulingErrors."""
        fresh.add_task(name="t", func=job, every="5m")
        with pytest.raises(SchedulingError, match="name='t'"):
            fresh.add_task(name="t", func=job, every="5m")
        with pytest.raises(SchedulingError, match="nope"):
            fresh.run_task(name="nope")
        with pytest.raises(SchedulingError, match="task_id"):
            fresh.remove_task()
        with pytest.raises(SchedulingError, match="nosuchscheme"):
            AutoCron(store="nosuchscheme://x")

    @pytest.mark.parametrize(
        "options",
        [
            {"every": "5 parsecs"},
            {"every": -3},
            {"cron": "61 * * * *"},
            {"every": "5m", "timezone": "Mars/Base"},
        ],
        ids=["interval", "negative", "cron", "zone"],
    )
    def test_bad_interval_cron_or_zone_is_a_time_parse_error(
        self, fresh: AutoCron, options: dict[str, Any]
    ) -> None:
        """A bad interval, cron expression or time zone raises TimeParseError, still a ValueError."""
        with pytest.raises(TimeParseError) as info:
            fresh.add_task(name="t", func=job, **options)
        assert isinstance(info.value, ValueError) and isinstance(info.value, ScheduleError)

    def test_every_input_error_is_a_scheduling_error_and_run_failures_are_not(self) -> None:
        """Errors about what was asked are SchedulingErrors; failures of a run are TaskExecutionErrors."""
        for cls in (TaskError, ScheduleError, ConfigError, StoreError, PluginNotFoundError, OSAdapterError,
                    NotificationError):  # fmt: skip
            assert issubclass(cls, SchedulingError), cls
            assert not issubclass(cls, TaskExecutionError), cls
        timeout = TaskTimeoutError("t", 1.5)
        failed = CommandFailedError("backup.sh", 2, "no space")
        assert isinstance(timeout, TaskExecutionError) and isinstance(timeout, TimeoutError)
        assert isinstance(failed, TaskExecutionError) and isinstance(failed, RuntimeError)
        assert not isinstance(timeout, SchedulingError)


# -- notifier= ---------------------------------------------------------------


class TestCustomNotifier:
    """An object with ``notify(message)`` passed as ``notifier=`` is told, as the original design says."""

    @pytest.mark.realtime
    def test_failure_message_is_the_originals(self) -> None:
        """notifier= receives "Task 'x' failed (attempt 2/2)." and the error, as the original sent."""
        box = MessageBox()
        scheduler = AutoCron(timezone="UTC")  # the real clock: the retry waits 10 ms of it
        scheduler.add_task(name="backup", func=broken, every="1h", retries=1, retry_delay=0.01, notifier=box)
        try:
            assert scheduler.run_task(name="backup", timeout=5) is False
            scheduler.notifications.flush()
        finally:
            scheduler.stop(timeout=5)
        assert box.messages == ["Task 'backup' failed (attempt 2/2).\n\nError: RuntimeError: disk full"]

    def test_success_message_and_notify_channels_both_used(self, fresh: AutoCron) -> None:
        """notifier= is used besides notify=, and a success reads "completed successfully in N seconds"."""
        box = MessageBox()
        events: list[Any] = []

        class EventChannel:
            def notify(self, event: Any) -> None:
                events.append(event)

        fresh.add_task(
            name="sync", func=job, every="1h", notify=EventChannel(), notifier=box, notify_on="success"
        )
        assert fresh.run_task(name="sync", timeout=5) is True
        fresh.notifications.flush()
        assert len(box.messages) == 1
        assert box.messages[0].startswith("Task 'sync' completed successfully in ")
        assert box.messages[0].endswith(" seconds.")
        assert [e.task_name for e in events] == ["sync"]

    def test_raising_notifier_is_logged_and_the_run_and_others_go_on(
        self, fresh: AutoCron, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A notifier that raises is logged; the run's outcome and the other notifiers are untouched."""
        box = MessageBox()
        fresh.add_task(name="t", func=broken, every="1h", notifier=[Exploding(), box])
        with caplog.at_level(logging.ERROR, logger="autocron.notify"):
            assert fresh.run_task(name="t", timeout=5) is False
            fresh.notifications.flush()
        assert len(box.messages) == 1
        assert "smtp down" in caplog.text
        assert "through Exploding raised" in caplog.text  # the user's class, not the wrapper's
        assert fresh.history("t")[0].status.value == "failed"
        assert fresh.run_task(name="t", timeout=5) is False  # the scheduler still runs the task

    def test_works_through_the_schedule_decorator(self) -> None:
        """@schedule(..., notifier=obj) delivers to obj like add_task does."""
        box = MessageBox()
        reset_global_scheduler()
        try:

            @schedule(every="1h", name="decorated", notifier=box)
            def decorated() -> None:
                raise ValueError("bad row")

            scheduler = get_global_scheduler()
            assert scheduler.run_task(name="decorated", timeout=5) is False
            scheduler.notifications.flush()
        finally:
            reset_global_scheduler()
        assert box.messages == ["Task 'decorated' failed (attempt 1/1).\n\nError: ValueError: bad row"]

    def test_object_without_notify_is_refused(self, fresh: AutoCron) -> None:
        """notifier= an object without notify() fails at add_task, naming the field."""
        with pytest.raises(TaskError, match=r"notifier=.*notify\(message\)") as info:
            fresh.add_task(name="t", func=job, every="1h", notifier=object())
        assert info.value.field == "notifier"
        assert fresh.list_tasks() == []


# -- AutoCron(...) -------------------------------------------------------------


class TestConstructor:
    """Every argument the original's ``AutoCron()`` took is accepted."""

    def test_every_original_argument_is_accepted(self, tmp_path: Path) -> None:
        """AutoCron(log_path=, log_level=, max_workers=, use_os_scheduler=, timezone=, poll_interval=,
        shutdown_timeout=) builds a scheduler."""
        root = logging.getLogger("autocron")
        level = root.level
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                scheduler = AutoCron(
                    log_path=str(tmp_path / "autocron.log"),
                    log_level="WARNING",
                    max_workers=2,
                    use_os_scheduler=False,
                    timezone="UTC",
                    poll_interval=0.25,
                    shutdown_timeout=5.0,
                )
            assert scheduler.max_workers == 2 and scheduler.shutdown_timeout == 5.0
            assert (tmp_path / "autocron.log").exists()
        finally:  # leave logging as the other tests expect it
            for handler in list(root.handlers):
                if str(getattr(handler, "baseFilename", "")).startswith(str(tmp_path)):
                    root.removeHandler(handler)
                    handler.close()
            root.setLevel(level)

    def test_poll_interval_warns_that_it_is_ignored(self) -> None:
        """poll_interval= gives a DeprecationWarning saying the scheduler does not poll."""
        with pytest.warns(DeprecationWarning, match="does not poll"):
            AutoCron(poll_interval=1)

    def test_no_warning_without_poll_interval(self) -> None:
        """A scheduler built without poll_interval warns nothing."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            AutoCron(shutdown_timeout=1)

    @pytest.mark.parametrize("field", ["shutdown_timeout", "poll_interval"])
    @pytest.mark.parametrize("value", [-1, math.nan, math.inf, "5", True, [1]])
    def test_bad_seconds_are_refused(self, field: str, value: Any) -> None:
        """A negative, infinite, NaN or non-number value fails with a TaskError naming the field."""
        with pytest.raises(TaskError) as info:
            AutoCron(**{field: value})
        assert info.value.field == field and f"{field}=" in str(info.value)

    @pytest.mark.realtime
    def test_shutdown_timeout_bounds_stop(self) -> None:
        """stop() with no timeout returns after shutdown_timeout while a task still runs."""
        release = threading.Event()
        started = threading.Event()

        def hang() -> None:
            started.set()
            release.wait(10)

        scheduler = AutoCron(timezone="UTC", shutdown_timeout=0.2)
        scheduler.add_task(name="hang", func=hang, every="1h")
        try:
            scheduler.run_task(name="hang", wait=False)
            assert started.wait(5)
            begin = time.monotonic()
            assert scheduler.stop() is False  # not every attempt finished in time
            assert time.monotonic() - begin < 2
        finally:
            release.set()


# -- start after stop ------------------------------------------------------------


class TestRestart:
    """A stopped scheduler starts again and fires its tasks again."""

    def test_fires_again_after_stop_and_start(self) -> None:
        """start(), stop(), start() again: the task keeps firing on schedule."""
        clock = FakeClock(T0)
        scheduler = AutoCron(timezone="UTC", clock=clock)
        hits: list[int] = []
        scheduler.add_task(name="tick", func=lambda: hits.append(1), every="1m")
        scheduler.start(blocking=False)
        clock.advance(60)
        assert scheduler.settle()
        assert scheduler.stop(timeout=5)
        scheduler.start(blocking=False)
        try:
            clock.advance(60)
            assert scheduler.settle()
            assert len(hits) == 2
            assert scheduler.running
        finally:
            scheduler.stop(timeout=5)

    def test_run_task_after_stop(self, fresh: AutoCron) -> None:
        """run_task() still runs a task once the scheduler was stopped."""
        fresh.add_task(name="t", func=job, every="1h")
        fresh.start(blocking=False)
        fresh.stop(timeout=5)
        assert fresh.run_task(name="t", timeout=5) is True

    def test_blocking_start_twice_in_one_thread(self) -> None:
        """start(blocking=True) again in the thread whose first blocking start() ended works."""
        scheduler = AutoCron(timezone="UTC", clock=FakeClock(T0))
        errors: list[BaseException] = []
        rounds = threading.Semaphore(0)

        def main() -> None:
            try:
                for _ in range(2):
                    scheduler.start(blocking=True)
                    rounds.release()
            except BaseException as exc:  # reported to the test thread
                errors.append(exc)
                rounds.release()

        thread = threading.Thread(target=main, daemon=True)
        thread.start()
        for _ in range(2):
            deadline = time.monotonic() + 5
            while not scheduler.running and time.monotonic() < deadline and not errors:
                time.sleep(0.01)
            assert not errors, errors
            scheduler.stop(timeout=5)
            assert rounds.acquire(timeout=5)
        thread.join(5)
        assert not errors, errors


class TestSeedPositionalOrder:
    """Calls written for the original AutoCron by position keep their meaning."""

    def test_autocron_takes_the_originals_positional_order(self, tmp_path: Path) -> None:
        """AutoCron(log_path, log_level, max_workers, use_os_scheduler, timezone) in the original order."""
        log = tmp_path / "logs" / "autocron.log"
        scheduler = AutoCron(str(log), "DEBUG", 2, False, "Asia/Kolkata", store="memory://")
        try:
            assert scheduler.max_workers == 2
            assert str(scheduler.timezone) == "Asia/Kolkata"
            assert log.exists()
        finally:
            scheduler.close()
            logging.getLogger("autocron").handlers.clear()

    def test_autocron_store_is_keyword_only(self) -> None:
        """Only the original's seven arguments go by position; an eighth is a clear TypeError."""
        with pytest.raises(TypeError):
            AutoCron(None, "INFO", 4, False, None, None, None, "memory://")  # type: ignore[misc]

    def test_add_task_takes_the_originals_positional_order(self) -> None:
        """add_task(name, func, script, every, cron, retries, retry_delay, timeout, ...) by position."""
        scheduler = AutoCron(clock=FakeClock(T0))
        scheduler.add_task("sync", job, None, "5m", None, 3, 10, 30)
        task = scheduler.get_task(name="sync")
        assert task is not None
        assert (task.policy.retries, task.policy.retry_delay, task.policy.timeout) == (3, 10.0, 30.0)
        assert task.schedule.describe() == "every 5m"

    def test_add_task_refuses_an_option_given_twice(self) -> None:
        """An option given by position and by name is refused, naming it; nothing is added."""
        scheduler = AutoCron(clock=FakeClock(T0))
        with pytest.raises(TaskError, match="retries"):
            scheduler.add_task("sync", job, None, "5m", None, 3, retries=4)
        assert scheduler.list_tasks() == []

    def test_schedule_decorator_takes_the_originals_positional_order(self) -> None:
        """@schedule(every, cron, retries, retry_delay, timeout) by position, as the original read it."""
        reset_global_scheduler()
        try:
            get_global_scheduler(clock=FakeClock(T0))

            @schedule("15m", None, 2, 5, 60)
            def refresh() -> None:
                """A decorated task."""

            task = get_global_scheduler().get_task(name="refresh")
            assert task is not None
            assert (task.policy.retries, task.policy.retry_delay, task.policy.timeout) == (2, 5.0, 60.0)
        finally:
            reset_global_scheduler()


def test_tasks_maps_ids_to_tasks_as_the_original_did() -> None:
    """scheduler.tasks is the original's dict of task id to Task; editing the copy changes nothing."""
    scheduler = AutoCron(clock=FakeClock(T0))
    first = scheduler.add_task("a", job, every="5m")
    second = scheduler.add_task("b", job, every="1h")
    assert list(scheduler.tasks) == [first, second]
    assert [t.name for t in scheduler.tasks.values()] == ["a", "b"]
    scheduler.tasks.clear()
    assert len(scheduler.tasks) == 2


def test_tags_that_are_not_a_list_name_the_field() -> None:
    """add_task(tags=5) is a TaskError naming tags, not a stray TypeError."""
    scheduler = AutoCron(clock=FakeClock(T0))
    with pytest.raises(TaskError) as caught:
        scheduler.add_task("a", job, every="5m", tags=5)
    assert caught.value.field == "tags"
    assert scheduler.list_tasks() == []


def test_a_missing_config_file_is_also_a_file_not_found_error(tmp_path: Path) -> None:
    """from_config on a missing file raises what the original's users catch (FileNotFoundError), naming it."""
    missing = tmp_path / "autocron.yaml"
    with pytest.raises(FileNotFoundError) as caught:
        AutoCron.from_config(missing)
    assert isinstance(caught.value, ConfigError)
    assert str(missing) in str(caught.value)


def test_ctrl_c_stops_gracefully_then_reaches_the_caller() -> None:
    """Ctrl-C in a blocking start() waits for the running task, stops, then raises KeyboardInterrupt."""
    import _thread

    scheduler = AutoCron()
    started, finished = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.3)
        finished.set()

    scheduler.add_task("slow", slow, every="1h")

    def interrupt_when_running() -> None:
        deadline = time.monotonic() + 10
        while not scheduler.running and time.monotonic() < deadline:  # start() has begun
            time.sleep(0.01)
        scheduler.run_task(name="slow", wait=False)
        if started.wait(10):
            _thread.interrupt_main()

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        scheduler.start(blocking=True)
    assert finished.is_set()  # the graceful stop waited for it
    assert not scheduler.running
