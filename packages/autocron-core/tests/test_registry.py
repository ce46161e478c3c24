"""The plugin registry: names, lazy loading, clear errors for missing and doubled plugins."""

from __future__ import annotations

from typing import Any

import pytest

from autocron_core import AutoCron, MemoryStore, PluginNotFoundError
from autocron_core.registry import Registry, open_store, store_scheme


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("sqlite:///x.db", "sqlite"),
        ("postgresql+psycopg://h/db", "postgresql"),
        ("postgres://h/db", "postgresql"),
        ("mysql+pymysql://h/db", "mysql"),
        ("mariadb://h/db", "mysql"),
        ("tasks.yaml", "yaml"),
        ("t.YML", "yaml"),
        ("tasks.json", "json"),
        ("state.db", "sqlite"),
        ("memory://", "memory"),
    ],
)
def test_store_scheme_from_urls_and_paths(url: str, scheme: str) -> None:
    """A URL's scheme or a path's suffix names the store plugin."""
    assert store_scheme(url) == scheme


def test_memory_store_is_built_in() -> None:
    """memory:// needs no other package, and is the default."""
    assert isinstance(open_store(None), MemoryStore)
    assert isinstance(open_store("memory://?history_limit=3"), MemoryStore)
    assert open_store("memory://?history_limit=3").history_limit == 3
    assert isinstance(AutoCron().store, MemoryStore)


def test_unknown_name_lists_what_is_installed_and_what_to_install() -> None:
    """A missing plugin names the group, the name, what is installed and the pip line."""
    registry = Registry(
        "autocron.test_group", {"here": "autocron_core.memory_store:MemoryStore"}, {"there": "autocron-there"}
    )
    with pytest.raises(PluginNotFoundError) as info:
        registry.get("there")
    message = str(info.value)
    assert "'there'" in message and "installed: here" in message and "pip install autocron-there" in message
    assert isinstance(info.value, LookupError)


def test_objects_registered_at_run_time_win() -> None:
    """register() provides a name without an entry point; get() returns the same object."""
    registry = Registry("autocron.test_group", {}, {})
    marker: Any = object()
    registry.register("mine", marker)
    assert registry.get("mine") is marker
    assert registry.names() == ["mine"]


def test_two_packages_claiming_one_name_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """When two distributions register the same name differently, the error names both."""
    from importlib import metadata

    class FakeEP:
        def __init__(self, name: str, value: str, dist: str) -> None:
            self.name, self.value = name, value
            self.dist = type("D", (), {"name": dist})()

    eps = [FakeEP("dup", "a.mod:A", "pkg-a"), FakeEP("dup", "b.mod:B", "pkg-b")]
    monkeypatch.setattr(metadata, "entry_points", lambda group: eps)
    registry = Registry("autocron.test_group", {}, {})
    with pytest.raises(LookupError) as info:
        registry.get("dup")
    assert "pkg-a" in str(info.value) and "pkg-b" in str(info.value)


def test_nothing_is_scanned_at_import() -> None:
    """Entry points are read on the first lookup, not when autocron_core is imported."""
    registry = Registry("autocron.test_group", {}, {})
    assert registry._targets is None
    registry.names()
    assert registry._targets is not None
