"""Reading a Celery result's meta-data as an AutoCron ``Outcome``."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from autocron_core.protocols import Outcome
from autocron_core.records import RunStatus

__all__ = ["OUTPUT_LIMIT", "outcome_from_meta"]

#: Characters of a string result kept as the run record's ``output`` (as a command's tail).
OUTPUT_LIMIT = 8192
_TIME_LIMITS = ("TimeLimitExceeded", "SoftTimeLimitExceeded")


def outcome_from_meta(
    meta: dict[str, Any], timeout: float | None, started_at: _dt.datetime | None
) -> Outcome | None:
    """The outcome a final result state means, or ``None`` while the attempt is not over.

    ``SUCCESS`` → succeeded (a string result is kept as output); ``FAILURE`` →
    failed, or timed_out for Celery's time limits; ``REVOKED`` because the
    message expired → missed; any other revocation → failed.
    """
    status = meta.get("status")
    result = meta.get("result")
    if status == "SUCCESS":
        output = result[-OUTPUT_LIMIT:] if isinstance(result, str) else None
        return Outcome(RunStatus.SUCCEEDED, None, output, started_at)
    if status == "FAILURE":
        kind = type(result).__name__ if isinstance(result, BaseException) else str(result)
        if kind in _TIME_LIMITS:
            limit = f"{timeout:g}s" if timeout is not None else "its time limit"
            return Outcome(
                RunStatus.TIMED_OUT, f"timed out after {limit} ({kind} on the worker)", None, started_at
            )
        text = f"{kind}: {result}" if isinstance(result, BaseException) else f"failed: {result}"
        return Outcome(RunStatus.FAILED, text, getattr(result, "output", None), started_at)
    if status == "REVOKED":
        if "expired" in str(result):
            return Outcome(RunStatus.MISSED, "expired: a worker received it after its misfire_grace_time")
        return Outcome(RunStatus.FAILED, f"revoked on the Celery side: {result}", None, started_at)
    return None
