"""Finding the Celery app: an object, a ``"module:attr"`` reference, or ``$AUTOCRON_CELERY_APP``."""

from __future__ import annotations

import importlib
import os
from typing import Any

from celery import Celery

from autocron_core.errors import TaskError

from .env import AUTOCRON_CELERY_APP

__all__ = ["resolve_app"]

_EXPECTED = 'a Celery app or a "module:attr" reference such as "proj.celery:app"'


def resolve_app(app: Any) -> Celery:
    """The Celery app ``app`` names; ``None`` reads ``$AUTOCRON_CELERY_APP``.

    Raises:
        TaskError: nothing names an app, the reference does not import, or it
            is not a Celery app (the field is ``celery_app``).
    """
    if app is None:
        app = os.environ.get(AUTOCRON_CELERY_APP) or None
        if app is None:
            raise TaskError(
                "celery_app",
                None,
                f"{_EXPECTED}: give AutoCron(celery_app=...), the config's celery_app:, "
                f"--celery-app or ${AUTOCRON_CELERY_APP}",
            )
    if isinstance(app, Celery):
        return app
    if not isinstance(app, str):
        raise TaskError("celery_app", app, _EXPECTED)
    module_name, sep, attr = app.partition(":")
    if not sep or not all(p.isidentifier() for p in [*module_name.split("."), *attr.split(".")]):
        raise TaskError("celery_app", app, _EXPECTED)
    try:
        found: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise TaskError("celery_app", app, "an importable Celery app", detail=str(exc)) from None
    if not isinstance(found, Celery):
        raise TaskError("celery_app", app, f"a Celery app, not {type(found).__name__}")
    return found
