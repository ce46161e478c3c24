"""The plugin registry: how core finds stores, notifiers and OS adapters by name.

Packages register names through entry points (``autocron.stores``,
``autocron.notifiers``, ``autocron.os_adapters``, ``autocron.executors``). Built-ins come first;
entry points are scanned once, on the first lookup, and cached; nothing is
scanned at import. Two packages claiming one name is an error naming both.
"""

from __future__ import annotations

import threading

from .errors import AutoCronError, PluginNotFoundError

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["EXECUTORS", "NOTIFIERS", "OS_ADAPTERS", "STORES", "Registry", "store_scheme"]


class PluginConflictError(AutoCronError, LookupError):
    """Two installed packages register the same plugin name."""


class Registry:
    """Names of one entry-point group, resolved lazily to the objects they point at."""

    def __init__(self, group: str, builtins: dict[str, str], packages: dict[str, str]) -> None:
        self.group = group
        self._builtins = dict(builtins)
        self._packages = packages
        self._targets: dict[str, tuple[str, str]] | None = None  # name -> (target, distribution)
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _scan(self) -> dict[str, tuple[str, str]]:
        if self._targets is not None:
            return self._targets
        from importlib.metadata import entry_points

        targets = {name: (target, "autocron-core") for name, target in self._builtins.items()}
        for ep in entry_points(group=self.group):
            dist = getattr(getattr(ep, "dist", None), "name", None) or "an unknown package"
            seen = targets.get(ep.name)
            if seen is not None and seen[0] != ep.value:
                raise PluginConflictError(
                    f"{self.group} plugin {ep.name!r} is registered by both {seen[1]} ({seen[0]}) "
                    f"and {dist} ({ep.value}); uninstall one of them"
                )
            targets[ep.name] = (ep.value, dist)
        self._targets = targets
        return targets

    def names(self) -> list[str]:
        """Every name available now, sorted."""
        with self._lock:
            return sorted(set(self._scan()) | set(self._loaded))

    def providers(self) -> dict[str, str]:
        """Name → the distribution that provides it, for ``autocron plugins``."""
        with self._lock:
            found = {name: dist for name, (_, dist) in self._scan().items()}
        found.update({name: "registered at run time" for name in self._loaded if name not in found})
        return found

    def register(self, name: str, obj: Any) -> None:
        """Provide ``name`` from code (tests, applications) without an entry point."""
        with self._lock:
            self._loaded[name] = obj

    def unregister(self, name: str) -> None:
        """Forget a name given with ``register`` (tests, applications); entry points stay."""
        with self._lock:
            self._loaded.pop(name, None)

    def get(self, name: str) -> Any:
        """The object registered as ``name``.

        Raises:
            PluginNotFoundError: no installed package provides ``name``.
        """
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            targets = self._scan()
            if name not in targets:
                raise PluginNotFoundError(self.group, name, sorted(targets), self._packages.get(name))
            module_name, _, attr = targets[name][0].partition(":")
            from importlib import import_module  # here: importlib brings warnings at import

            obj: Any = import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
            self._loaded[name] = obj
            return obj


STORES = Registry(
    "autocron.stores",
    {"memory": "autocron_core.memory_store:open_memory_store"},
    {
        "sqlite": "autocron-store",
        "postgresql": "'autocron-store[postgres]'",
        "mysql": "'autocron-store[mysql]'",
        "yaml": "autocron-store",
        "json": "autocron-store",
    },
)
NOTIFIERS = Registry(
    "autocron.notifiers",
    {"log": "autocron_core.notifications:LogNotifier"},
    {"desktop": "autocron-notify", "email": "autocron-notify", "webhook": "autocron-notify"},
)
OS_ADAPTERS = Registry(
    "autocron.os_adapters",
    {},
    {"cron": "autocron-os", "systemd": "autocron-os", "launchd": "autocron-os", "windows": "autocron-os"},
)

#: Executors (``protocols.Executor``): each name maps to a factory called with the
#: scheduler's setting for that name (``celery`` gets ``celery_app``, possibly ``None``).
EXECUTORS = Registry("autocron.executors", {}, {"celery": "'autocron[celery]'"})


def store_scheme(url: str) -> str:
    """The registry name for a store URL or path.

    ``sqlite:///x.db`` → ``sqlite``; ``postgresql+psycopg://…`` → ``postgresql``;
    ``mysql+pymysql://…`` and ``mariadb://…`` → ``mysql``; ``tasks.yaml`` → ``yaml``;
    ``tasks.json`` → ``json``; any other bare path → ``sqlite``.
    """
    if "://" in url or url.startswith("memory:"):
        scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
        return {"postgres": "postgresql", "mariadb": "mysql"}.get(scheme, scheme)
    lowered = url.lower()
    if lowered.endswith((".yaml", ".yml")):
        return "yaml"
    if lowered.endswith(".json"):
        return "json"
    return "sqlite"


def open_store(store: Any) -> Any:
    """A ``Store`` from an object, a URL or path, or ``None`` (memory)."""
    if store is None:
        store = "memory://"
    if not isinstance(store, str):
        return store
    factory = STORES.get(store_scheme(store))
    return factory(store)
