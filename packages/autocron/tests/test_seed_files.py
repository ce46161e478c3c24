"""``save_tasks()`` and ``load_tasks()`` as the original AutoCron's users call them:
the default file, skipping what cannot be written, merging by name."""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

import pytest

from autocron import AutoCron


def _in_main() -> object:
    """A function whose module is ``__main__``, as one defined in a script run directly."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec("def report():\n    pass\n", namespace)  # noqa: S102 - builds a function that lives in __main__
    return namespace["report"]


def test_save_and_load_without_a_path_use_autocron_home(autocron_home: Path) -> None:
    """save_tasks() writes $AUTOCRON_HOME/tasks.yaml and returns that path; load_tasks() reads it."""
    first = AutoCron(timezone="UTC")
    first.add_task(name="backup", command="true", every="5m", retries=2)
    written = first.save_tasks()
    assert written == str(autocron_home / "tasks.yaml")
    assert Path(written).is_file()
    second = AutoCron(timezone="UTC")
    assert second.load_tasks() == 1
    loaded = second.get_task(name="backup")
    assert loaded is not None and loaded.policy.retries == 2


def test_save_returns_the_absolute_path_with_home_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """save_tasks("~/tasks.json") expands ~ and returns the absolute path it wrote."""
    monkeypatch.setenv("HOME", str(tmp_path))
    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task(name="backup", command="true", every="5m")
    assert scheduler.save_tasks("~/tasks.json") == str(tmp_path / "tasks.json")
    assert (tmp_path / "tasks.json").is_file()


def test_save_skips_unwritable_tasks_with_one_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lambda, a closure, a __main__ function and non-data arguments are left out with one
    warning naming each; the other tasks are written."""

    def closure() -> None:
        pass

    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task(name="lambda-task", func=lambda: None, every="5m")
    scheduler.add_task(name="closure-task", func=closure, every="5m")
    scheduler.add_task(name="main-task", func=_in_main(), every="5m")  # type: ignore[arg-type]
    scheduler.add_task(name="object-args", func=time.monotonic, args=(object(),), every="5m")
    scheduler.add_task(name="clock", func=time.monotonic, every="5m")
    scheduler.add_task(name="shell", command="true", every="5m")
    path = tmp_path / "tasks.yaml"
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, "autocron"):
        warnings.simplefilter("always")
        assert scheduler.save_tasks(path) == str(path)
    assert len(caught) == 1
    message = str(caught[0].message)
    for name, reason in [
        ("lambda-task", "a lambda"),
        ("closure-task", "a function defined inside another function"),
        ("main-task", "a function in __main__"),
        ("object-args", "arguments that are not plain data"),
    ]:
        assert f"'{name}' ({reason})" in message
    assert "'clock'" not in message and "'shell'" not in message
    assert message in caplog.text
    reloaded = AutoCron(timezone="UTC")
    assert reloaded.load_tasks(path) == 2
    assert sorted(reloaded.task_names()) == ["clock", "shell"]


def test_load_merges_keeping_current_tasks_and_replace_replaces(tmp_path: Path) -> None:
    """load_tasks() keeps a task whose name is taken (with a warning naming it);
    load_tasks(replace=True) replaces every task."""
    path = tmp_path / "tasks.yaml"
    saved = AutoCron(timezone="UTC")
    saved.add_task(name="backup", command="true", every="5m")
    saved.add_task(name="report", command="true", every="1d")
    saved.save_tasks(path)

    scheduler = AutoCron(timezone="UTC")
    scheduler.add_task(name="backup", command="echo mine", every="1h")
    scheduler.add_task(name="local", command="true", every="1h")
    mine = scheduler.get_task(name="backup")
    with pytest.warns(UserWarning, match="'backup'") as caught:
        assert scheduler.load_tasks(path) == 1
    assert len(caught) == 1 and "replace=True" in str(caught[0].message)
    assert scheduler.get_task(name="backup") is mine
    assert sorted(scheduler.task_names()) == ["backup", "local", "report"]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scheduler.load_tasks(path, replace=True) == 2
    assert sorted(scheduler.task_names()) == ["backup", "report"]
    replaced = scheduler.get_task(name="backup")
    assert replaced is not None and replaced is not mine and replaced.target == ("true",)
