"""Every environment variable autocron-celery reads, in one place."""

from __future__ import annotations

__all__ = ["AUTOCRON_CELERY_APP"]

#: The Celery app for ``celery=`` tasks when none is given: a ``"module:attr"``
#: reference such as ``proj.celery:app`` (``AutoCron(celery_app=...)``, the
#: config's ``celery_app:`` and ``autocron start --celery-app`` win over it).
AUTOCRON_CELERY_APP = "AUTOCRON_CELERY_APP"
