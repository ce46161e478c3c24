"""The original AutoCron's configuration file loads as written (issue 14).

The fixture ``fixtures/seed/autocron.yaml`` is the original's
``examples/autocron.yaml`` as released, with stand-ins for its four scripts.
Each test copies it into a temporary folder, so relative paths (scripts, the
log file) land there and never in the source tree.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron
from autocron_core.config import validate_config
from autocron_core.errors import ConfigError
from autocron_core.registry import NOTIFIERS

SEED = Path(__file__).parent / "fixtures" / "seed"
# The original's config is YAML; core reads it when PyYAML is there (autocron-store
# brings it), so core's tests alone skip these.
pytest.importorskip("yaml", reason="the original's autocron.yaml needs PyYAML, which autocron-store brings")


@pytest.fixture
def seed_config(tmp_path: Path) -> Path:
    """The original example config and its scripts, copied into a temporary folder."""
    shutil.copytree(SEED, tmp_path / "seed")
    return tmp_path / "seed" / "autocron.yaml"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo what configure_logging installs on the ``autocron`` logger."""
    root = logging.getLogger("autocron")
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


class Recording:
    """A notification channel that remembers which task each event was about."""

    sent: ClassVar[dict[str, list[str]]] = {}

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def notify(self, event: Any) -> None:
        """Record the task's name under this channel."""
        Recording.sent.setdefault(self.channel, []).append(event.task_name)


@pytest.fixture
def channels() -> Iterator[dict[str, list[str]]]:
    """Two recording channels, ``seed_a`` and ``seed_b``, registered for one test."""
    Recording.sent = {}
    for name in ("seed_a", "seed_b"):
        NOTIFIERS.register(name, lambda name=name, **_: Recording(name))
    yield Recording.sent
    for name in ("seed_a", "seed_b"):
        NOTIFIERS.unregister(name)


def test_seed_example_config_validates(seed_config: Path) -> None:
    """The original example autocron.yaml has no problems for validate_config."""
    assert validate_config(seed_config) == []


def test_seed_example_config_loads_as_written(seed_config: Path, restore_logging: None) -> None:
    """from_config builds the original example's four tasks with their schedules, retries and channels."""
    scheduler = AutoCron.from_config(seed_config)
    tasks = {t.name: t.to_dict() for t in scheduler.list_tasks()}
    assert sorted(tasks) == ["cleanup", "daily_backup", "data_sync", "weekly_report"]
    scripts = seed_config.parent / "scripts"
    assert tasks["data_sync"]["script"] == str(scripts / "sync_data.py")
    assert (tasks["data_sync"]["cron"], tasks["data_sync"]["retries"]) == ("*/30 * * * *", 3)
    assert tasks["data_sync"]["notify"] == ["desktop"]
    assert (tasks["daily_backup"]["cron"], tasks["daily_backup"]["retries"]) == ("0 2 * * *", 5)
    assert (tasks["cleanup"]["cron"], tasks["cleanup"]["retries"]) == ("0 * * * *", 2)
    assert "notify" not in tasks["cleanup"]
    assert tasks["weekly_report"]["cron"] == "0 9 * * 1"
    assert tasks["weekly_report"]["notify"] == ["email"]


def test_seed_email_key_is_email_config(
    seed_config: Path, restore_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A task's email: section is its email_config; its literal password is used, with one warning."""
    with caplog.at_level(logging.WARNING, logger="autocron.config"):
        scheduler = AutoCron.from_config(seed_config)
    backup = scheduler.get_task(name="daily_backup")
    assert backup is not None and backup.email_config == {
        "smtp_server": "smtp.gmail.com",
        "smtp_port": 587,
        "from_email": "backup@example.com",
        "to_email": "admin@example.com",
        "password": "your_password_here",
        "use_tls": True,
    }
    assert "password" not in backup.to_dict()["email_config"]
    warned = [r.getMessage() for r in caplog.records if "literal password" in r.getMessage()]
    assert len(warned) == 2 and any("'daily_backup'" in m for m in warned)


def test_seed_notifications_switches_set_default_channels(seed_config: Path, restore_logging: None) -> None:
    """notifications: {desktop: true, email: false} makes desktop the default channel, and only it."""
    scheduler = AutoCron.from_config(seed_config)
    assert scheduler.notifications.defaults == ("desktop",)
    assert "desktop" not in scheduler.notifications.settings
    assert "email" not in scheduler.notifications.settings


def test_default_channels_reach_tasks_without_notify_only(channels: dict[str, list[str]]) -> None:
    """A task naming no channel is told through the true ones; a task's own notify replaces them."""
    config = {
        "notifications": {"seed_a": True, "seed_b": False},
        "tasks": [
            {"name": "plain", "command": "false", "every": "1h"},
            {"name": "own", "command": "false", "every": "1h", "notify": "seed_b"},
        ],
    }
    scheduler = AutoCron.from_config(config)
    try:
        assert not scheduler.run_task(name="plain", timeout=30)
        assert not scheduler.run_task(name="own", timeout=30)
        assert scheduler.notifications.flush(10)
    finally:
        scheduler.stop()
    assert channels == {"seed_a": ["plain"], "seed_b": ["own"]}


def test_seed_logging_section_writes_the_log_beside_the_config(
    seed_config: Path, restore_logging: None
) -> None:
    """logging: {level, path: ./logs/autocron.log} logs to that file, read from the config's folder."""
    scheduler = AutoCron.from_config(seed_config)
    logging.getLogger("autocron.test").info("hello from the seed config")
    assert scheduler.list_tasks()
    log = seed_config.parent / "logs" / "autocron.log"
    assert "hello from the seed config" in log.read_text(encoding="utf-8")
    assert logging.getLogger("autocron").level == logging.INFO


@pytest.mark.parametrize(
    ("section", "field", "fragment"),
    [
        ({"logging": {"level": "LOUD"}}, "level", "logging.level='LOUD': expected one of DEBUG"),
        ({"logging": {"path": 3}}, "path", "logging.path=3: expected the path of a log file"),
        ({"notifications": {"email": "yes"}}, "email", "notifications.email='yes': expected a mapping"),
        (
            {"notifications": {"default": ["email"], "email": False}},
            "email",
            "notifications.email=false: the channel is also listed in notifications.default",
        ),
    ],
)
def test_bad_logging_and_notification_values_are_named(
    section: dict[str, Any], field: str, fragment: str
) -> None:
    """A bad level, log path or channel switch is one problem naming the field and the value."""
    (problem,) = validate_config(section)
    assert problem.field == field
    assert fragment in str(problem)


def test_email_and_email_config_together_is_an_error(tmp_path: Path) -> None:
    """A task giving both email: and email_config: is refused, naming email."""
    config = {
        "tasks": [
            {"name": "t", "command": "true", "every": "1h", "email": {"to": "a@b.c"}, "email_config": {}}
        ]
    }
    (problem,) = validate_config(config)
    assert problem.field == "email"
    assert "email_config" in str(problem) and "not both" in str(problem)
    with pytest.raises(ConfigError):
        AutoCron.from_config(config)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8).filter(
            lambda k: k not in ("default", "remind_every")
        ),
        st.booleans(),
        max_size=6,
    )
)
def test_channel_switches_give_exactly_the_true_channels(section: dict[str, bool]) -> None:
    """Any mix of channel: true/false switches is valid and defaults to exactly the true ones, in order."""
    assert validate_config({"notifications": section}) == []
    dispatcher = AutoCron.from_config({"notifications": section}).notifications
    assert dispatcher.defaults == tuple(k for k, v in section.items() if v)
    assert dispatcher.settings == {}
