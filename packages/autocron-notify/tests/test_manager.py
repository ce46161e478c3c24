"""NotificationManager: several channels behind one notify(event)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from autocron_core.errors import NotificationError, PluginNotFoundError
from autocron_core.events import Event, EventKind
from autocron_core.notifications import LogNotifier, NoiseControl
from autocron_core.testing.notifier_contract import contract_event
from autocron_notify import EmailNotifier, NotificationManager


class Recorder:
    """A notifier that keeps the events it got."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def notify(self, event: Event) -> None:
        self.events.append(event)


class OldStyle:
    """The older AutoCron form: notify(message)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def notify(self, message: str) -> None:
        self.messages.append(message)


class Broken:
    """A notifier that always fails."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def notify(self, event: Event) -> None:
        raise self.exc


def test_dispatches_to_objects_and_old_style_notifiers() -> None:
    """Each channel gets the event; a notify(message) object gets one line of text."""
    recorder, old = Recorder(), OldStyle()
    manager = NotificationManager([recorder, old])
    event = contract_event(EventKind.FAILED, "backup")
    assert manager.dispatch(event) == 2
    assert recorder.events == [event]
    assert old.messages == ["task 'backup' failed: ValueError: disk full"]


def test_failing_channel_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    """A channel that raises is logged and counted; the next channel still delivers; nothing escapes."""
    recorder = Recorder()
    manager = NotificationManager(
        [Broken(NotificationError("server down")), Broken(RuntimeError("bug")), recorder]
    )
    with caplog.at_level(logging.WARNING, logger="autocron.notify"):
        manager.notify(contract_event())
    assert len(recorder.events) == 1
    assert manager.failures == 2 and manager.delivered == 1
    assert "server down" in caplog.text and "bug" in caplog.text


def test_names_resolve_through_the_registry_with_settings() -> None:
    """Channel names build notifiers from the entry points, with per-name settings."""
    manager = NotificationManager(
        ["log", "email"],
        settings={"email": {"smtp_server": "mail.example.com", "to_email": "ops@example.com"}},
    )
    log, email = manager.channels
    assert isinstance(log, LogNotifier)
    assert isinstance(email, EmailNotifier) and email.smtp_server == "mail.example.com"


def test_unknown_name_and_bad_object_are_refused() -> None:
    """An uninstalled name raises PluginNotFoundError; an object without notify() a TypeError."""
    with pytest.raises(PluginNotFoundError):
        NotificationManager("pager")
    with pytest.raises(TypeError):
        NotificationManager([object()])


def test_add_and_remove_channels() -> None:
    """Channels can be added with settings and removed again."""
    manager = NotificationManager()
    recorder = manager.add(Recorder())
    assert manager.remove(recorder) is True and manager.remove(recorder) is False
    assert manager.dispatch(contract_event()) == 0


def test_optional_noise_control() -> None:
    """With noise control, a repeated failure inside the period is collapsed."""
    recorder = Recorder()
    manager = NotificationManager(recorder, noise=NoiseControl(remind_every="1h"))
    manager.notify(contract_event())
    manager.notify(contract_event(attempt=2))
    assert len(recorder.events) == 1 and manager.suppressed == 1


def test_manager_is_a_channel_of_the_scheduler() -> None:
    """A manager passed as notify= is treated like any notifier object."""
    from autocron_core.notifications import NotificationDispatcher
    from autocron_core.task import build_task

    recorder = Recorder()
    manager: Any = NotificationManager(recorder)
    dispatcher = NotificationDispatcher(manager)
    task = build_task("t", func=print, every="1h")
    dispatcher.deliver(task, contract_event(EventKind.FAILED, "t"))
    assert len(recorder.events) == 1
