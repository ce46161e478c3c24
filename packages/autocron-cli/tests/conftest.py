"""Fixtures for the CLI tests: a persistent in-process store and a runner.

Each CliRunner invocation builds a fresh ``AutoCron``, so the store must outlive
it, as a database does. ``RoundTripStore`` keeps task definitions as
``to_dict`` documents (so every load rebuilds them, like the SQL store) and is
registered under the ``clitest://`` scheme for one test at a time. This keeps
the CLI tests independent of autocron-store; the end-to-end tests in
tests-integration use the real SQLite store.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from autocron_cli.main import cli
from autocron_core import MemoryStore, Task
from autocron_core.registry import NOTIFIERS, OS_ADAPTERS, STORES


class RoundTripStore(MemoryStore):
    """A memory store that persists tasks as documents, shared by every scheduler of a test."""

    persistent = True

    def __init__(self) -> None:
        super().__init__()
        self._docs: dict[str, dict[str, Any]] = {}
        self.closed = 0

    def load_tasks(self) -> list[Task]:
        with self._lock:
            docs = [copy.deepcopy(doc) for doc in self._docs.values()]
        return [Task.from_dict(doc) for doc in docs]

    def save_task(self, task: Task) -> None:
        doc = task.to_dict()
        with self._lock:
            self._docs[task.name] = doc

    def save_state(self, task: Task) -> None:
        doc = task.to_dict()
        with self._lock:
            if task.name in self._docs:
                self._docs[task.name]["state"] = doc["state"]

    def delete_task(self, name: str) -> bool:
        with self._lock:
            return self._docs.pop(name, None) is not None

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> RoundTripStore:
    """The store every command of this test sees (AUTOCRON_DATABASE=clitest://)."""
    instance = RoundTripStore()
    STORES.names()  # scan entry points first, so the registration below is not shadowed
    monkeypatch.setitem(STORES._loaded, "clitest", lambda url: instance)
    monkeypatch.setenv("AUTOCRON_DATABASE", "clitest://")
    return instance


class Invoker:
    """Runs ``autocron ARGS`` through click's CliRunner with stdout and stderr apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(cli, list(args), prog_name="autocron", input=input, terminal_width=80)


@pytest.fixture
def autocron(store: RoundTripStore) -> Invoker:
    """Invoke the CLI against the test's store."""
    return Invoker()


@pytest.fixture
def script(tmp_path: Path) -> Path:
    """A Python script that prints a line and succeeds."""
    path = tmp_path / "hello.py"
    path.write_text("print('hello from the script')\n")
    return path


@pytest.fixture
def failing_script(tmp_path: Path) -> Path:
    """A Python script that exits with code 3."""
    path = tmp_path / "broken.py"
    path.write_text("import sys\nprint('about to fail')\nsys.exit(3)\n")
    return path


class FakeAdapter:
    """An OS adapter that keeps entries in a dict: no real crontab is touched."""

    name = "fake"
    entries: dict[str, Any] = {}  # noqa: RUF012 - shared on purpose: the CLI builds a new instance per call

    def is_supported(self) -> bool:
        return True

    def supports(self, schedule: Any) -> Any:
        from autocron_core import Cron, Support

        if isinstance(schedule, Cron) or schedule.kind == "interval":
            return Support(True)
        return Support(False, "one-off times are not supported by the fake adapter")

    def install(self, task: Task) -> Any:
        from autocron_core import InstalledEntry

        entry = InstalledEntry(task.name, task.schedule.describe(), f"fake:{task.name}")
        FakeAdapter.entries[task.name] = entry
        return entry

    def remove(self, name: str) -> bool:
        return FakeAdapter.entries.pop(name, None) is not None

    def list(self) -> list[Any]:
        return list(FakeAdapter.entries.values())


@pytest.fixture
def fake_os(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeAdapter]]:
    """Registers ``FakeAdapter`` as the ``fake`` and the ``default`` OS adapter."""
    OS_ADAPTERS.names()
    FakeAdapter.entries = {}
    monkeypatch.setitem(OS_ADAPTERS._loaded, "fake", FakeAdapter)
    monkeypatch.setitem(OS_ADAPTERS._loaded, "default", FakeAdapter)
    yield FakeAdapter
    FakeAdapter.entries = {}


class RecordingNotifier:
    """A notifier that keeps what it was sent."""

    sent: list[Any] = []  # noqa: RUF012 - shared on purpose, see FakeAdapter

    def __init__(self, **settings: Any) -> None:
        self.settings = settings

    def notify(self, event: Any) -> None:
        RecordingNotifier.sent.append((event, self.settings))


class BrokenNotifier:
    """A notifier whose delivery always fails."""

    def __init__(self, **settings: Any) -> None:
        pass

    def notify(self, event: Any) -> None:
        raise ConnectionRefusedError("connection refused by 127.0.0.1:25")


@pytest.fixture
def notifiers(monkeypatch: pytest.MonkeyPatch) -> type[RecordingNotifier]:
    """Registers ``recording`` and ``broken`` notification channels."""
    NOTIFIERS.names()
    RecordingNotifier.sent = []
    monkeypatch.setitem(NOTIFIERS._loaded, "recording", RecordingNotifier)
    monkeypatch.setitem(NOTIFIERS._loaded, "broken", BrokenNotifier)
    return RecordingNotifier
