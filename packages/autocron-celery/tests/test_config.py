"""Celery settings from config files and the environment."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import celeryapp
import pytest

from autocron_celery import CeleryExecutor
from autocron_celery.testing import CeleryWorker, wait_for
from autocron_core import AutoCron, ConfigError, RunStatus, TaskError
from autocron_core.config import validate_config


def test_a_config_file_names_the_app_and_its_celery_tasks(
    tmp_path: Path, workers: Callable[..., CeleryWorker], celery_queue: str
) -> None:
    """celery_app: "module:attr" in scheduler:, celery:/queue:/args: in a task entry: it runs."""
    workers()
    name = f"from-config-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "autocron.json"  # JSON: core reads it without PyYAML
    config.write_text(
        json.dumps(
            {
                "scheduler": {"celery_app": "celeryapp:app", "timezone": "UTC"},
                "tasks": [
                    {
                        "name": name,
                        "celery": "tests.add",
                        "args": [20, 22],
                        "queue": celery_queue,
                        "every": "1s",
                    }
                ],
            },
            indent=2,
        )
    )
    assert validate_config(config) == []
    s = AutoCron.from_config(config)
    try:
        s.start(blocking=False)
        wait_for(lambda: any(r.status is RunStatus.SUCCEEDED for r in s.history(name)), what="a run")
    finally:
        s.stop(timeout=30)


@pytest.mark.parametrize("value", ["celeryapp", "celery app:x", "-m:app", 42, "pkg.:app"])
def test_a_bad_celery_app_in_a_config_is_a_problem_naming_file_and_field(
    tmp_path: Path, value: object
) -> None:
    """validate_config reports a celery_app: that is not "module:attr", naming the file, field and value."""
    config = tmp_path / "bad.json"
    config.write_text('{\n  "scheduler": {\n    "celery_app": ' + json.dumps(value) + "\n  }\n}\n")
    (problem,) = validate_config(config)
    assert isinstance(problem, ConfigError)
    assert problem.field == "celery_app"
    assert str(config) in str(problem) and repr(value) in str(problem)


def test_the_app_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, services: object) -> None:
    """$AUTOCRON_CELERY_APP names the app when nothing else does; a wrong one says so."""
    monkeypatch.setenv("AUTOCRON_CELERY_APP", "celeryapp:app")
    assert CeleryExecutor().app is celeryapp.app
    monkeypatch.setenv("AUTOCRON_CELERY_APP", "celeryapp:add")
    with pytest.raises(TaskError) as caught:
        CeleryExecutor()
    assert caught.value.field == "celery_app" and "a Celery app, not" in caught.value.expected
    monkeypatch.delenv("AUTOCRON_CELERY_APP")
    with pytest.raises(TaskError, match="AUTOCRON_CELERY_APP"):
        CeleryExecutor()


def test_an_app_without_a_result_backend_is_refused(services: object) -> None:
    """Outcomes come back through the result backend: an app without one fails fast."""
    from celery import Celery

    with pytest.raises(TaskError, match="result backend"):
        AutoCron(celery_app=Celery("nobackend", broker="amqp://guest:guest@127.0.0.1:5672//"))
