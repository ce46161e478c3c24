"""Turning task events into notifications, off the worker that ran the task.

A task names its channels (``notify="email"``, a list, or notifier objects)
and what to be told about (``notify_on``: failure, success, retry, recovery,
missed). Names resolve through the ``autocron.notifiers`` entry points; the
built-in ``log`` channel writes to the ``autocron.notify`` logger. Delivery
happens on one background thread, so a slow SMTP server never delays a task,
and a notifier that raises is logged and counted, never propagated.

Each send has a deadline (``send_timeout``, 60 seconds by default): a notifier
still busy after it is logged as timed out and left behind on its own thread,
and later notifications go out on a fresh one. While a channel's send hangs,
that channel's later sends are skipped (logged), so a dead server costs one
thread, not one per notification.

Noise control sits in front of every channel: the first failure of a task
notifies, further failures are collapsed into at most one reminder per
``remind_every`` (one hour by default), and the first success afterwards sends
one ``recovery``.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import json
import logging
import queue
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import ConfigError, NotificationError, PluginNotFoundError, TaskError
from .events import Event, EventKind
from .registry import NOTIFIERS
from .schedules import from_utc_us, parse_interval

if TYPE_CHECKING:
    from .clock import Clock
    from .task import Task

__all__ = [
    "DEFAULT_REMIND_EVERY",
    "DEFAULT_SEND_TIMEOUT",
    "LogNotifier",
    "NoiseControl",
    "Notice",
    "NotificationDispatcher",
    "SendTimedOut",
    "build_notifier",
    "category_of",
    "format_event",
    "notice_of",
    "takes_message",
]

logger = logging.getLogger("autocron.notify")

#: Seconds between reminders while a task keeps failing.
DEFAULT_REMIND_EVERY = 3600.0
#: Seconds one channel's send may take before it is logged as timed out and left
#: behind; above the webhook notifier's worst case with its defaults (4 attempts of
#: 10 s and 7 s of waits between them).
DEFAULT_SEND_TIMEOUT = 60.0
#: Keys of the ``notifications`` settings that configure the dispatcher, not a channel.
_DISPATCHER_KEYS = ("remind_every", "send_timeout")


def category_of(kind: EventKind, recovered: bool) -> str | None:
    """The ``notify_on`` category of an event kind, or ``None`` if it never notifies."""
    if kind in (EventKind.FAILED, EventKind.TIMED_OUT):
        return "failure"
    if kind is EventKind.SUCCEEDED:
        return "recovery" if recovered else "success"
    if kind is EventKind.RETRY_SCHEDULED:
        return "retry"
    if kind is EventKind.MISSED:
        return "missed"
    return None


class Notice(NamedTuple):
    """What noise control decided about one event, for notifiers that want to say more.

    Attributes:
        category: the ``notify_on`` category (``failure``, ``recovery``, ...).
        reminder: a repeated failure let through because ``remind_every`` passed.
        suppressed: failures collapsed since the previous message about the task.
        failing_since: when the current run of failures began (failures and recovery).
        failures: failures in the current run of failures, this one included.
    """

    category: str
    reminder: bool = False
    suppressed: int = 0
    failing_since: _dt.datetime | None = None
    failures: int = 0


_CURRENT: contextvars.ContextVar[tuple[Event, Notice] | None] = contextvars.ContextVar(
    "autocron_notice", default=None
)


def notice_of(event: Event) -> Notice:
    """The noise-control verdict for ``event`` while it is being delivered.

    Outside a delivery (a notifier called directly) it is derived from the
    event alone: no reminder, nothing suppressed.
    """
    current = _CURRENT.get()
    if current is not None and current[0] is event:
        return current[1]
    return Notice(category_of(event.kind, event.recovered) or event.kind.value)


def format_event(event: Event, notice: Notice | None = None) -> str:
    """One line for humans: ``task 'backup' failed (attempt 2): ValueError: disk full``."""
    notice = notice or notice_of(event)
    if notice.category == "recovery":
        verb = "recovered"
        if notice.failures:
            verb += f" after {notice.failures} failure(s)"
    elif notice.reminder:
        verb = f"is still failing ({notice.failures} failure(s)"
        if notice.failing_since is not None:
            verb += f" since {notice.failing_since.isoformat(timespec='seconds')}"
        verb += ")"
    else:
        verb = event.kind.value.replace("_", " ")
    text = f"task {event.task_name!r} {verb}"
    if event.attempt and event.attempt > 1:
        text += f" (attempt {event.attempt})"
    if event.error:
        text += f": {event.error.splitlines()[0] if event.error.strip() else event.error}"
    if event.retry_in is not None:
        text += f"; retrying in {event.retry_in:g}s"
    return text


class LogNotifier:
    """The built-in channel: writes each notification to the ``autocron.notify`` logger."""

    name = "log"

    def __init__(self, **_: Any) -> None:
        self.delivered = 0

    def notify(self, event: Event) -> None:
        """Log ``event`` as one line (warning for failures, info otherwise)."""
        good = event.kind is EventKind.SUCCEEDED
        logger.log(logging.INFO if good else logging.WARNING, "%s", format_event(event))
        self.delivered += 1


def takes_message(notifier: Any) -> bool:
    """Whether a custom notifier has the older ``notify(message: str)`` form."""
    import inspect

    try:
        params = list(inspect.signature(notifier.notify).parameters.values())
    except (TypeError, ValueError, AttributeError):
        return False
    return bool(params) and params[0].name in ("message", "msg", "text")


def build_notifier(name: str, config: Mapping[str, Any] | None = None) -> Any:
    """A notifier for a registered channel name, built from its settings.

    Uses the class's ``from_config(config)`` when it has one, else ``factory(**config)``.

    Raises:
        PluginNotFoundError: no installed package provides ``name``.
        ConfigError: the settings are not valid (raised by the notifier).
    """
    factory = NOTIFIERS.get(name)
    from_config = getattr(factory, "from_config", None)
    return from_config(dict(config or {})) if from_config is not None else factory(**dict(config or {}))


class _Failing:
    __slots__ = ("failures", "key", "last_sent_us", "since", "suppressed")

    def __init__(self, since: _dt.datetime, now_us: int, key: Any) -> None:
        self.key = key
        self.since = since
        self.last_sent_us = now_us
        self.failures = 1
        self.suppressed = 0


class NoiseControl:
    """Collapses repeated failures of a task into one message, reminders and a recovery.

    The first failure passes; later ones pass only as a reminder once
    ``remind_every`` seconds have gone by since the last message about that task;
    the next success passes as ``recovery`` and clears the state. ``missed``
    events pass at most once per period per task. Other categories pass.

    Args:
        remind_every: seconds (or an interval such as ``"30m"``) between reminders;
            ``0`` notifies every failure, ``None`` the default of one hour.
        clock: where "now" comes from; by default the event's own time, which
            the scheduler stamps from its clock (so a ``FakeClock`` drives it).

    Raises:
        ScheduleError: ``remind_every`` is not a duration.
    """

    def __init__(
        self, remind_every: float | str | _dt.timedelta | None = None, clock: Clock | None = None
    ) -> None:
        if remind_every is None:
            seconds = DEFAULT_REMIND_EVERY
        elif remind_every in (0, "0"):  # parse_interval wants a positive duration; 0 means "never collapse"
            seconds = 0.0
        else:
            seconds = parse_interval(remind_every, field="remind_every")
        self.remind_every = float(seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._failing: dict[str, _Failing] = {}
        self._missed: dict[str, int] = {}

    def _now_us(self, event: Event) -> int:
        if self._clock is not None:
            return self._clock.now_us()
        return int(event.time.timestamp() * 1_000_000)

    def is_failing(self, task_name: str) -> bool:
        """Whether a failure of ``task_name`` was seen and no success since."""
        return task_name in self._failing

    def admit(self, event: Event) -> Notice | None:
        """The notice to send for ``event``, or ``None`` when it is collapsed."""
        category = category_of(event.kind, event.recovered) or event.kind.value
        now = self._now_us(event)
        period = int(self.remind_every * 1_000_000)
        name = event.task_name
        with self._lock:
            if category == "failure":
                state = self._failing.get(name)
                key = event.record.key if event.record is not None else None
                if state is None:
                    self._failing[name] = _Failing(from_utc_us(now), now, key)
                    return Notice("failure", failures=1, failing_since=from_utc_us(now))
                if key is not None and key == state.key:  # timed_out and failed for one attempt
                    return None
                state.key = key
                state.failures += 1
                if now - state.last_sent_us >= period:
                    notice = Notice("failure", True, state.suppressed, state.since, state.failures)
                    state.last_sent_us, state.suppressed = now, 0
                    return notice
                state.suppressed += 1
                return None
            if event.kind is EventKind.SUCCEEDED:
                state = self._failing.pop(name, None)
                if state is None:
                    return Notice(category)
                return Notice("recovery", False, state.suppressed, state.since, state.failures)
            if category == "missed":
                last = self._missed.get(name)
                if last is not None and now - last < period:
                    return None
                self._missed[name] = now
            return Notice(category)

    def reset(self, task_name: str | None = None) -> None:
        """Forget the state of one task, or of all."""
        with self._lock:
            if task_name is None:
                self._failing.clear()
                self._missed.clear()
            else:
                self._failing.pop(task_name, None)
                self._missed.pop(task_name, None)


class _Sender:
    """A thread that makes sends for the delivery thread, so that one that hangs
    can be left behind (Python cannot stop a thread) while delivery goes on."""

    __slots__ = ("_jobs",)

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="autocron-notify", daemon=True).start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def submit(self, job: Any) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        """End the thread after its current send (at once when idle)."""
        self._jobs.put(None)


class SendTimedOut(NotificationError, TimeoutError):
    """A notifier's send passed the dispatcher's ``send_timeout``."""


class NotificationDispatcher:
    """Resolves channels, applies noise control and delivers events on a background thread.

    Args:
        defaults: channels used by tasks that name none (``AutoCron(notify=...)``).
        settings: per-channel settings, e.g. ``{"email": {...}, "webhook": {...}}``
            (the config file's ``notifications`` section); its ``remind_every``
            key, if any, sets the reminder period, and its ``send_timeout`` key
            the deadline of each send.
        noise: the noise control to use (default: one with ``remind_every``).
        clock: the clock noise control reads (default: each event's own time).
        send_timeout: seconds one channel's send may take (default
            ``DEFAULT_SEND_TIMEOUT``, or the settings' ``send_timeout``); a send
            past it is logged as timed out and later notifications still go out.

    Raises:
        TaskError: ``send_timeout`` is not a finite duration of at most 100 years.

    Attributes:
        delivered: channel deliveries that succeeded.
        failures: channel deliveries that failed (logged with the reason).
        suppressed: events collapsed by noise control.
        failures_by_channel: ``failures`` split by channel name (or class name).
    """

    def __init__(
        self,
        defaults: Any = None,
        settings: Mapping[str, Any] | None = None,
        *,
        noise: NoiseControl | None = None,
        clock: Clock | None = None,
        send_timeout: float | str | _dt.timedelta | None = None,
    ) -> None:
        from .task import _channels

        raw = dict(settings or {})
        remind_every = raw.pop("remind_every", None)
        if send_timeout is None:
            send_timeout = raw.pop("send_timeout", None)
        self.send_timeout = (
            DEFAULT_SEND_TIMEOUT
            if send_timeout is None
            else parse_interval(send_timeout, field="send_timeout", error=TaskError)
        )
        self.defaults = _channels(defaults)
        self.settings: dict[str, dict[str, Any]] = {
            k: dict(v) for k, v in raw.items() if k not in _DISPATCHER_KEYS
        }
        self.noise = noise or NoiseControl(remind_every, clock)
        self.delivered = 0
        self.failures = 0
        self.suppressed = 0
        self.failures_by_channel: dict[str, int] = {}
        self._queue: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._instances: dict[tuple[str, str], Any] = {}
        self._sender: _Sender | None = None  # made on the first send
        self._hung: dict[str, threading.Event] = {}  # channel -> its send past the deadline

    def wants(self, task: Task, kind: EventKind, recovered: bool = False) -> bool:
        """Whether the dispatcher must see this event of ``task`` (to send it or to
        clear noise-control state on a success)."""
        if not (task.notify or self.defaults):
            return False
        if kind is EventKind.SUCCEEDED and (recovered or self.noise.is_failing(task.name)):
            return True
        category = category_of(kind, recovered)
        return category is not None and category in task.notify_on

    def dispatch(self, task: Task, event: Event) -> None:
        """Queue ``event`` for delivery to the task's channels."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._deliver_forever, name="autocron-notify", daemon=True
                )
                self._thread.start()
        self._queue.put((task, event))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was queued so far has been delivered; whether it was in time."""
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
        if not alive:
            return True
        done = threading.Event()
        self._queue.put((None, done))
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, then stop the thread (a later dispatch restarts it)."""
        self.flush(timeout)
        self._queue.put(None)
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.close()

    def check(self, task: Task) -> None:
        """Build ``task``'s named channels now, so settings that cannot send fail at
        ``add_task`` rather than at the first failure at 2 a.m. (the instances are
        kept for delivery, so this costs nothing later).

        Raises:
            TaskError: a channel is not installed or its settings are not valid
                (the message names the setting; secrets are never in it).
        """
        for channel in task.notify or self.defaults:
            if isinstance(channel, str):
                try:
                    self.resolve(channel, task)
                except (ConfigError, PluginNotFoundError) as exc:
                    raise TaskError("notify", channel, "a channel that can send", detail=str(exc)) from exc

    def resolve(self, channel: Any, task: Task) -> Any:
        """The notifier object for a channel name or object (built once per settings)."""
        if not isinstance(channel, str):
            return channel
        config = dict(self.settings.get(channel, {}))
        if channel == "email" and task.email_config:
            config.update(task.email_config)
        key = (channel, json.dumps(config, sort_keys=True, default=repr))
        with self._lock:
            instance = self._instances.get(key)
            if instance is None:
                instance = build_notifier(channel, config)
                self._instances[key] = instance
        return instance

    def deliver(self, task: Task, event: Event) -> None:
        """Apply noise control, then deliver to every channel of ``task`` now, in this thread."""
        notice = self.noise.admit(event)
        if notice is None:
            self.suppressed += 1
            logger.debug("task %r: %s notification collapsed (still failing)", task.name, event.kind.value)
            return
        # A pause after failures (pause_after_failures) is failure news: it goes where failures go.
        if notice.category not in task.notify_on and not (
            notice.category == "paused" and "failure" in task.notify_on
        ):
            return
        token = _CURRENT.set((event, notice))
        try:
            for channel in task.notify or self.defaults:
                self._deliver_one(channel, task, event, notice)
        finally:
            _CURRENT.reset(token)

    def _deliver_one(self, channel: Any, task: Task, event: Event, notice: Notice) -> None:
        # A wrapped object (notifier=) names itself by what it wraps.
        label = (
            channel
            if isinstance(channel, str)
            else str(getattr(channel, "name", "") or type(channel).__name__)
        )
        hung = self._hung.get(label)
        if hung is not None:
            if not hung.is_set():
                self._count_failure(label)
                logger.warning(
                    "%s notification for task %r through %s skipped: an earlier send through it "
                    "is still running past send_timeout (%gs)",
                    notice.category,
                    task.name,
                    label,
                    self.send_timeout,
                )
                return
            del self._hung[label]
        try:
            notifier = self.resolve(channel, task)
            message = format_event(event, notice) if takes_message(notifier) else event
            self._send(label, notifier.notify, message)
            self.delivered += 1
        except NotificationError as exc:
            self._count_failure(label)
            logger.warning(
                "%s notification for task %r through %s was not delivered: %s",
                notice.category,
                task.name,
                label,
                exc,
            )
        except Exception:
            self._count_failure(label)
            logger.exception(
                "%s notification for task %r through %s raised", notice.category, task.name, label
            )

    def _send(self, label: str, send: Any, message: Any) -> None:
        """Call ``send(message)`` on the sender thread, waiting at most ``send_timeout``.

        Raises:
            SendTimedOut: the send is still running; it is left behind and its
                channel skipped until it returns.
            Exception: whatever the send raised.
        """
        sender = self._sender
        if sender is None:
            sender = self._sender = _Sender()
        done = threading.Event()
        outcome: list[BaseException] = []
        context = contextvars.copy_context()  # notice_of() reads this thread's delivery context

        def job() -> None:
            try:
                context.run(send, message)
            except BaseException as exc:  # handed back to the delivery thread, which logs it
                outcome.append(exc)
            finally:
                done.set()

        sender.submit(job)
        if not done.wait(min(self.send_timeout, threading.TIMEOUT_MAX)):
            # Leave that thread to finish on its own (it ends after this send) and
            # send later notifications from a fresh one.
            sender.close()
            self._sender = None
            self._hung[label] = done
            raise SendTimedOut(f"timed out after {self.send_timeout:g}s (send_timeout); left running")
        if outcome:
            error = outcome[0]
            if not isinstance(error, Exception):  # SystemExit and kin must not end delivery
                raise NotificationError(f"{type(error).__name__}: {error}") from error
            raise error

    def _count_failure(self, label: str) -> None:
        self.failures += 1
        self.failures_by_channel[label] = self.failures_by_channel.get(label, 0) + 1

    def _deliver_forever(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            task, payload = item
            if task is None:  # a flush marker
                payload.set()
                continue
            try:
                self.deliver(task, payload)
            except Exception:  # noise control or settings gone wrong: never kill the thread
                logger.exception("notifications for task %r could not be processed", task.name)
