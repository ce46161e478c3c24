"""``NotificationManager``: several channels behind one ``notify(event)``.

It is itself a notifier, so ``AutoCron(notify=manager)`` or
``add_task(..., notify=manager)`` sends every event to all of its channels.
Channels are names (resolved through the ``autocron.notifiers`` entry points,
with per-channel settings), notifier objects, or older objects whose
``notify`` takes a message string. One failing channel never stops the others
and never raises out of ``notify``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from autocron_core.errors import NotificationError
from autocron_core.events import Event
from autocron_core.notifications import NoiseControl, build_notifier, format_event, notice_of, takes_message

__all__ = ["NotificationManager"]

logger = logging.getLogger("autocron.notify")


class NotificationManager:
    """Holds notification channels and dispatches each event to all of them.

    Args:
        channels: names (``"email"``), notifier objects, or message-style objects.
        settings: per-name settings, e.g. ``{"email": {"smtp_server": ...}}``.
        noise: optional noise control for events sent straight to this manager
            (the scheduler's dispatcher already applies its own).

    Attributes:
        delivered, failures, suppressed: counts over all channels.
    """

    def __init__(
        self,
        channels: Iterable[Any] | Any = (),
        *,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        noise: NoiseControl | None = None,
    ) -> None:
        self.settings = {name: dict(config) for name, config in (settings or {}).items()}
        self.noise = noise
        self.delivered = 0
        self.failures = 0
        self.suppressed = 0
        self._lock = threading.Lock()
        self._channels: list[Any] = []
        if isinstance(channels, str) or hasattr(channels, "notify"):
            channels = [channels]
        for channel in channels:
            self.add(channel)

    @property
    def channels(self) -> list[Any]:
        """The channel objects, in the order they were added."""
        with self._lock:
            return list(self._channels)

    def add(self, channel: Any, **settings: Any) -> Any:
        """Add a channel by name (with optional settings) or as an object; returns the object.

        Raises:
            PluginNotFoundError: no installed package provides that name.
            ConfigError: the channel's settings are not valid.
            TypeError: the object has no ``notify`` method.
        """
        if isinstance(channel, str):
            channel = build_notifier(channel, {**self.settings.get(channel, {}), **settings})
        elif not callable(getattr(channel, "notify", None)):
            raise TypeError(
                f"channel={channel!r}: expected a channel name or an object with a notify() method"
            )
        with self._lock:
            self._channels.append(channel)
        return channel

    def remove(self, channel: Any) -> bool:
        """Remove a channel object; whether it was there."""
        with self._lock:
            for index, held in enumerate(self._channels):
                if held is channel:
                    del self._channels[index]
                    return True
        return False

    def notify(self, event: Event) -> None:
        """Send ``event`` to every channel; failures are logged and counted, never raised."""
        self.dispatch(event)

    def dispatch(self, event: Event) -> int:
        """Send ``event`` to every channel; returns how many delivered it."""
        notice = notice_of(event)
        if self.noise is not None:
            admitted = self.noise.admit(event)
            if admitted is None:
                with self._lock:
                    self.suppressed += 1
                return 0
            notice = admitted
        ok = 0
        for channel in self.channels:
            label = getattr(channel, "name", None) or type(channel).__name__
            try:
                if takes_message(channel):
                    channel.notify(format_event(event, notice))
                else:
                    channel.notify(event)
                ok += 1
            except NotificationError as exc:
                self._failed()
                logger.warning(
                    "%s notification for task %r through %s was not delivered: %s",
                    notice.category,
                    event.task_name,
                    label,
                    exc,
                )
            except Exception:
                self._failed()
                logger.exception(
                    "%s notification for task %r through %s raised", notice.category, event.task_name, label
                )
        with self._lock:
            self.delivered += ok
        return ok

    def _failed(self) -> None:
        with self._lock:
            self.failures += 1

    def __repr__(self) -> str:
        return f"NotificationManager({self.channels!r})"
