"""Filtered, paged run history from any store, and the filters as they arrive in a URL.

Stores that can seek (``SqlStore`` and the read-only SQLite reader:
``history_page``) answer each page with one index walk. Any other store
(in memory, task files, Redis) is read through its bounded ``history()`` and
filtered here: at most ``FALLBACK_ROWS`` records, never the whole history.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from autocron_core.errors import TaskError
from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us

__all__ = ["FALLBACK_ROWS", "PAGE_SIZE", "Filters", "history_page", "page_key", "parse_filters"]

#: Rows per page of a history table.
PAGE_SIZE = 50
#: Records read from a store without ``history_page`` before filtering in Python.
FALLBACK_ROWS = 5000
_DAY = _dt.timedelta(days=1)
_STATUSES = tuple(s.value for s in RunStatus)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a history table shows: a status, a day range (UTC), and where the page starts."""

    status: RunStatus | None = None
    since: _dt.date | None = None
    until: _dt.date | None = None
    after: tuple[_dt.datetime, int, str] | None = None

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as URL query values (``changes`` override; ``None`` drops one)."""
        values: dict[str, Any] = {
            "status": self.status.value if self.status else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "after": _key(*self.after) if self.after else None,
        }
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value not in (None, "")}


def _key(scheduled_for: _dt.datetime, attempt: int, task: str) -> str:
    return f"{to_utc_us(scheduled_for)}.{attempt}.{task}"


def page_key(record: RunRecord) -> str:
    """The ``after`` value that starts the page following ``record``."""
    return _key(record.scheduled_for, record.attempt, record.task)


def _date(field: str, value: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise TaskError(field, value, "a date as YYYY-MM-DD") from None


def parse_filters(params: Any) -> Filters:
    """Filters from a query string's values.

    Raises:
        TaskError: a value is not valid (names the field, the value and what was expected).
    """
    status_text = (params.get("status") or "").strip()
    status = None
    if status_text:
        if status_text not in _STATUSES:
            raise TaskError("status", status_text, "one of " + ", ".join(_STATUSES))
        status = RunStatus(status_text)
    since = _date("since", params["since"]) if params.get("since") else None
    until = _date("until", params["until"]) if params.get("until") else None
    if since and until and until < since:
        raise TaskError("until", until.isoformat(), f"a day on or after since={since.isoformat()}")
    after = None
    raw = params.get("after")
    if raw:
        micros, _, rest = raw.partition(".")
        attempt, _, task = rest.partition(".")
        try:
            after = (from_utc_us(int(micros)), int(attempt), task)
        except (ValueError, OverflowError, OSError):
            raise TaskError("after", raw, "a page key from a 'next page' link") from None
        if not task or after[1] < 0:
            raise TaskError("after", raw, "a page key from a 'next page' link")
    return Filters(status, since, until, after)


def _start(day: _dt.date | None) -> _dt.datetime | None:
    return None if day is None else _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.timezone.utc)


def _end(day: _dt.date | None) -> _dt.datetime | None:
    if day is None:
        return None
    start = _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.timezone.utc)
    return start + _DAY if day < _dt.date.max else None


def history_page(store: Any, name: str | None, filters: Filters, limit: int = PAGE_SIZE) -> list[RunRecord]:
    """Up to ``limit`` records newest first (occurrence, attempt, task), after ``filters.after``."""
    since, until = _start(filters.since), _end(filters.until)
    seek = getattr(store, "history_page", None)
    if seek is not None:
        records: list[RunRecord] = seek(
            name, status=filters.status, since=since, until=until, after=filters.after, limit=limit
        )
        return records
    rows = store.history(name, FALLBACK_ROWS)
    key = None
    if filters.after is not None:
        moment, attempt, task = filters.after
        key = (to_utc_us(moment), attempt, task)
    out: list[RunRecord] = []
    for record in sorted(rows, key=lambda r: (r.scheduled_for, r.attempt, r.task), reverse=True):
        if filters.status is not None and record.status is not filters.status:
            continue
        if since is not None and record.scheduled_for < since:
            continue
        if until is not None and record.scheduled_for >= until:
            continue
        if key is not None and (to_utc_us(record.scheduled_for), record.attempt, record.task) >= key:
            continue
        out.append(record)
        if len(out) == limit:
            break
    return out
