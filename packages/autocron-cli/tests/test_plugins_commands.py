"""os, notify test and dashboard, against fake adapters and notifiers (no real crontab)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_os_install_list_remove(autocron, store, fake_os, script: Path) -> None:
    """os install hands tasks to the adapter and pauses them here; list and remove follow."""
    autocron("schedule", str(script), "--every", "5m")
    autocron("schedule", "--command", "true", "--name", "noop", "--cron", "0 * * * *")
    result = autocron("os", "install", "--all", "--adapter", "fake")
    assert result.exit_code == 0, result.stderr
    assert set(fake_os.entries) == {"hello", "noop"}
    assert all(task.paused for task in store.load_tasks())
    listed = json.loads(autocron("os", "list", "--json").stdout)
    assert {e["name"] for e in listed} == {"hello", "noop"}
    assert "fake:hello" in autocron("os", "list").stdout
    assert autocron("os", "remove", "hello").exit_code == 0
    assert set(fake_os.entries) == {"noop"}
    missing = autocron("os", "remove", "hello")
    assert missing.exit_code == 2
    assert "no fake entry" in missing.stderr


def test_os_install_refuses_what_the_os_cannot_express(autocron, fake_os) -> None:
    """A schedule the adapter cannot express is refused before anything is installed."""
    autocron("schedule", "--command", "true", "--name", "once", "--at", "2099-01-01T00:00")
    result = autocron("os", "install", "once")
    assert result.exit_code == 2
    assert "not supported" in result.stderr
    assert fake_os.entries == {}


def test_os_install_needs_names(autocron, fake_os) -> None:
    """os install without names or --all is a usage error; an unknown name is bad input."""
    assert autocron("os", "install").exit_code == 2
    assert autocron("os", "install", "ghost").exit_code == 2


def test_schedule_with_os_flag(autocron, store, fake_os, script: Path) -> None:
    """schedule --os installs the task in the OS scheduler and keeps it paused in the store."""
    result = autocron("schedule", str(script), "--every", "5m", "--os")
    assert result.exit_code == 0, result.stderr
    assert "operating system" in result.stdout
    assert set(fake_os.entries) == {"hello"}
    (task,) = store.load_tasks()
    assert task.paused
    assert autocron("remove", "hello", "--os").exit_code == 0
    assert fake_os.entries == {}


def test_os_unknown_adapter(autocron) -> None:
    """An adapter name nobody provides exits 2 naming what is installed."""
    result = autocron("os", "list", "--adapter", "amiga")
    assert result.exit_code == 2
    assert "amiga" in result.stderr


def test_notify_test_delivers_one_event(autocron, notifiers, tmp_path: Path) -> None:
    """notify test sends one test event through the channel, with the config's settings."""
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"notifications": {"recording": {"to": "ops@example.org"}}}))
    result = autocron("notify", "test", "recording", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    ((event, settings),) = notifiers.sent
    assert event.kind.value == "failed"
    assert "test notification" in event.error
    assert settings == {"to": "ops@example.org"}


def test_notify_test_builtin_log_channel(autocron) -> None:
    """The built-in log channel works without any settings."""
    result = autocron("notify", "test", "log", "--kind", "succeeded")
    assert result.exit_code == 0
    assert "Sent a test succeeded event" in result.stdout


def test_notify_test_failure_exits_1(autocron, notifiers) -> None:
    """A delivery failure exits 1 with the reason in one line."""
    result = autocron("notify", "test", "broken")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "autocron: error: could not notify through 'broken': ConnectionRefusedError: "
        "connection refused by 127.0.0.1:25"
    )


def test_notify_test_unknown_channel_exits_2(autocron) -> None:
    """A channel no package provides is bad input."""
    result = autocron("notify", "test", "smoke-signals")
    assert result.exit_code == 2
    assert "smoke-signals" in result.stderr


def test_dashboard_static(autocron, script: Path) -> None:
    """dashboard renders the static overview from the store's history."""
    pytest.importorskip("autocron_dash")
    autocron("schedule", str(script), "--every", "1h")
    autocron("run", "-q", "hello")
    result = autocron("dashboard")
    assert result.exit_code == 0, result.stderr
    assert "hello" in result.stdout


def test_dashboard_task_and_json(autocron, script: Path) -> None:
    """dashboard --task shows one task; --json gives numbers; an unknown task exits 2."""
    pytest.importorskip("autocron_dash")
    autocron("schedule", str(script), "--every", "1h")
    autocron("run", "-q", "hello")
    assert "hello" in autocron("dashboard", "--task", "hello").stdout
    data = json.loads(autocron("dashboard", "--json").stdout)
    assert "hello" in json.dumps(data)
    assert autocron("dashboard", "--task", "ghost").exit_code == 2
    assert autocron("dashboard", "--live", "--json").exit_code == 2


def test_dashboard_live_passes_refresh_and_store(autocron, monkeypatch) -> None:
    """dashboard --live hands the refresh interval and the store to live_monitor."""
    dash = pytest.importorskip("autocron_dash")
    calls: list[dict] = []
    monkeypatch.setattr(dash, "live_monitor", lambda **kw: calls.append(kw))
    assert autocron("dashboard", "--live", "--refresh", "5", "--days", "7").exit_code == 0
    ((call,),) = [calls]
    assert call["refresh"] == 5.0
    assert call["days"] == 7.0
    assert call["source"] is not None
