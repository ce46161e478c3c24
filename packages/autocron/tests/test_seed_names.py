"""Every top-level name of the original AutoCron's ``autocron`` package (1.2.0 and 1.3)
is importable from this ``autocron`` and is the object it stands for here."""

from __future__ import annotations

import importlib
from importlib.metadata import metadata

import pytest

import autocron

# The union of the original's __all__ in v1.2.0 and in its newest release,
# and the module each name is defined in here.
SEED_NAMES = {
    "AutoCron": "autocron_core",
    "Task": "autocron_core",
    "schedule": "autocron_core",
    "start_scheduler": "autocron_core",
    "get_global_scheduler": "autocron_core",
    "reset_global_scheduler": "autocron_core",
    "SchedulingError": "autocron_core",
    "TaskExecutionError": "autocron_core",
    "TimeParseError": "autocron_core",  # autocron.utils.TimeParseError, named by issue 14
    "Dashboard": "autocron_dash",
    "TaskAnalytics": "autocron_dash",
    "live_monitor": "autocron_dash",
    "show_dashboard": "autocron_dash",
    "show_task": "autocron_dash",
}
ABOUT = ("__author__", "__email__", "__license__", "__version__")


def test_each_seed_name_is_importable_and_the_right_object() -> None:
    """`from autocron import X` works for each name the original exported, giving this project's X."""
    wrong = []
    for name, module in SEED_NAMES.items():
        namespace: dict[str, object] = {}
        try:
            exec(f"from autocron import {name}", namespace)  # noqa: S102 - the import itself is tested
        except ImportError:
            wrong.append(f"{name}: not importable")
            continue
        if namespace[name] is not getattr(importlib.import_module(module), name):
            wrong.append(f"{name}: not {module}.{name}")
    assert wrong == []


def test_star_import_gives_every_seed_name() -> None:
    """`from autocron import *` defines every name the original's star import did."""
    namespace: dict[str, object] = {}
    exec("from autocron import *", namespace)  # noqa: S102
    missing = [n for n in [*SEED_NAMES, *ABOUT] if n not in namespace]
    assert missing == []


def test_author_email_and_license_come_from_the_package_metadata() -> None:
    """autocron.__author__, __email__, __license__ and __version__ match the distribution's metadata."""
    meta = metadata("autocron")
    people = " ".join((meta.get_all("Author-email") or []) + (meta.get_all("Author") or []))
    assert autocron.__author__ == "The AutoCron developers"
    assert autocron.__author__ in people
    # The project publishes no address; the name exists as a string, as it did.
    assert isinstance(autocron.__email__, str) and autocron.__email__ in people
    assert autocron.__license__ == "MIT"
    assert autocron.__version__ == meta["Version"]


def test_seed_error_names_keep_their_meaning() -> None:
    """SchedulingError catches a bad schedule; TaskExecutionError is a failed run, not bad input."""
    from autocron import AutoCron, SchedulingError, TaskExecutionError, TimeParseError

    scheduler = AutoCron(timezone="UTC")
    with pytest.raises(SchedulingError):
        scheduler.add_task(name="t", command="true", every="often")
    with pytest.raises(TimeParseError):
        scheduler.add_task(name="t", command="true", cron="not a cron")
    assert not issubclass(TaskExecutionError, SchedulingError)
