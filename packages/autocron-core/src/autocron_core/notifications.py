"""Turning task events into notifications, off the worker that ran the task.

A task names its channels (``notify="email"``, a list, or notifier objects)
and what to be told about (``notify_on``: failure, success, retry, recovery,
missed). Names resolve through the ``autocron.notifiers`` entry points; the
built-in ``log`` channel writes to the ``autocron.notify`` logger. Delivery
happens on one background thread, so a slow SMTP server never delays a task,
and a notifier that raises is logged and counted, never propagated.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .events import Event, EventKind
from .registry import NOTIFIERS

if TYPE_CHECKING:
    from .task import Task

__all__ = ["LogNotifier", "NotificationDispatcher", "category_of", "format_event"]

logger = logging.getLogger("autocron.notify")


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


def format_event(event: Event) -> str:
    """One line for humans: ``task 'backup' failed (attempt 2): ValueError: disk full``."""
    category = category_of(event.kind, event.recovered) or event.kind.value
    text = f"task {event.task_name!r} {'recovered' if category == 'recovery' else event.kind.value}"
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
        pass

    def notify(self, event: Event) -> None:
        level = logging.INFO if event.kind is EventKind.SUCCEEDED else logging.WARNING
        logger.log(level, "%s", format_event(event))


def _takes_message(notifier: Any) -> bool:
    """Whether a custom notifier has the older ``notify(message: str)`` form."""
    import inspect

    try:
        params = list(inspect.signature(notifier.notify).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0].name in ("message", "msg", "text")


class NotificationDispatcher:
    """Resolves channels and delivers events on a background thread.

    Args:
        defaults: channels used by tasks that name none (``AutoCron(notify=...)``).
        settings: per-channel settings, e.g. ``{"email": {...}, "webhook": {...}}``
            (the config file's ``notifications`` section).
    """

    def __init__(self, defaults: Any = None, settings: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        from .task import _channels

        self.defaults = _channels(defaults)
        self.settings = {k: dict(v) for k, v in (settings or {}).items()}
        self.delivered = 0
        self.failures = 0
        self._queue: queue.SimpleQueue[tuple[Task, Event] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._instances: dict[tuple[str, str], Any] = {}

    def wants(self, task: Task, kind: EventKind, recovered: bool = False) -> bool:
        """Whether ``task`` has a channel that wants events of ``kind``."""
        if not (task.notify or self.defaults):
            return False
        category = category_of(kind, recovered)
        return category is not None and category in task.notify_on

    def dispatch(self, task: Task, event: Event) -> None:
        """Queue ``event`` for delivery to the task's channels."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._deliver_forever, name="autocron-notify", daemon=True)
                self._thread.start()
        self._queue.put((task, event))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until what was queued so far has been delivered (or ``timeout``)."""
        done = threading.Event()
        self._queue.put((None, done))  # type: ignore[arg-type]
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
        if alive:
            done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, then stop the thread."""
        self.flush(timeout)
        self._queue.put(None)

    def resolve(self, channel: Any, task: Task) -> Any:
        """The notifier object for a channel name or object."""
        if not isinstance(channel, str):
            return channel
        config = dict(self.settings.get(channel, {}))
        if channel == "email" and task.email_config:
            config.update(task.email_config)
        import json

        key = (channel, json.dumps(config, sort_keys=True, default=str))
        with self._lock:
            instance = self._instances.get(key)
            if instance is None:
                factory = NOTIFIERS.get(channel)
                from_config = getattr(factory, "from_config", None)
                instance = from_config(config) if from_config is not None else factory(**config)
                self._instances[key] = instance
        return instance

    def deliver(self, task: Task, event: Event) -> None:
        """Deliver one event to every channel of ``task`` now, in this thread."""
        for channel in task.notify or self.defaults:
            try:
                notifier = self.resolve(channel, task)
                if _takes_message(notifier):
                    notifier.notify(format_event(event))
                else:
                    notifier.notify(event)
                self.delivered += 1
            except Exception:
                self.failures += 1
                logger.exception("notification of %s for task %r through %r failed", event.kind.value,
                                 task.name, channel)

    def _deliver_forever(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            task, event = item
            if task is None:  # a flush marker
                event.set()  # type: ignore[attr-defined]
                continue
            self.deliver(task, event)
