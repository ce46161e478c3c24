"""Test helpers for AutoCron and for packages that implement its contracts.

``FakeClock`` moves time by hand. The contract suites (``StoreContract``,
``ClusterContract``, ``NotifierContract``, ``OSAdapterContract``,
``ExecutorContract``) are pytest classes: a package's tests subclass one
and provide the fixture that builds its implementation.
They import pytest, so import them only from tests.
"""

from __future__ import annotations

from typing import Any

from .clock import FakeClock

__all__ = [
    "ClusterContract",
    "ExecutorContract",
    "FakeClock",
    "NotifierContract",
    "OSAdapterContract",
    "StoreContract",
    "contract_event",
]


def __getattr__(name: str) -> Any:
    if name == "StoreContract":
        from .store_contract import StoreContract

        return StoreContract
    if name == "ClusterContract":
        from .cluster_contract import ClusterContract

        return ClusterContract
    if name in ("NotifierContract", "contract_event"):
        from . import notifier_contract

        return getattr(notifier_contract, name)
    if name == "ExecutorContract":
        from .executor_contract import ExecutorContract

        return ExecutorContract
    if name == "OSAdapterContract":
        from .os_contract import OSAdapterContract

        return OSAdapterContract
    raise AttributeError(name)
