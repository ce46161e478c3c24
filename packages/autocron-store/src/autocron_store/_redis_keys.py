"""How the Redis store lays out its keys, and how a ``RunRecord`` becomes a Redis hash and back.

Every key starts with the store's prefix (default ``autocron:``), so several
deployments, or several tests, share one Redis database without meeting.
Under the prefix ``P``:

==========================  =====================================================================
``P version``               the layout version (a string)
``P task`` / ``P state``    hashes, task name → definition JSON / runtime state JSON
``P anchor``                hash, function task name → its shared interval anchor (ISO text)
``P run:<task>:<sk>``       one run record: a hash of the record's fields, each JSON-encoded
``P hist:<task>``           sorted set of the task's sort keys (all scores 0: ordered by text)
``P hist``                  sorted set of ``<sk>:<task>`` over every task (the same ordering)
``P runtasks``              set of the task names that have run records
``P running``               sorted set of ``<sk>:<task>``, scored by lease expiry (server ms)
``P owned:<node JSON>``     set of ``<sk>:<task>`` a node holds running (renewed by heartbeat)
``P agg:<task>``            hash of the task's counts (``n:<status>``, ``started``), last run/success
``P dur:<task>``            sorted set, sort key → duration in µs (succeeded runs)
``P late:<task>``           sorted set, sort key → lateness in µs (started runs)
``P nodes``                 sorted set, node id → last heartbeat (server ms)
``P node_started``          hash, node id → start (server ms)
``P fence``                 the fencing counter: each claim takes the next value
``P changes``               the pub/sub channel that announces changed definitions
==========================  =====================================================================

The sort key ``sk`` of ``(scheduled_for, attempt)`` is fixed-width text
whose byte order is the records' order, so sorted sets of equal scores keep
history ordered without floating-point scores (a double cannot hold
microseconds of year 9999 exactly).

A record is stored field by field, each value JSON-encoded (times as integer
microseconds since 1970 UTC), from ``RunRecord._fields``: a field added to
``RunRecord`` later is stored and read back without a change here. The Lua
scripts only ever compare those texts or write whole new ones, never parse
numbers out of them, so no precision is lost on the way.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import json
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us

__all__ = [
    "SK_LEN",
    "decode_record",
    "encode_record",
    "member_parts",
    "pairs_to_dict",
    "sort_key",
    "sort_key_of",
]

#: Added to microseconds before formatting so that year 1 (about -6.2e16 µs) is positive.
_OFFSET = 10**17
#: Length of a sort key: 19 digits of time, ``:``, 10 digits of attempt.
SK_LEN = 30
#: Fields the store keeps next to a record's own (never part of ``RunRecord``).
_INTERNAL_PREFIX = "_"


def sort_key(scheduled_us: int, attempt: int) -> str:
    """The fixed-width text that orders records by occurrence, then attempt."""
    return f"{scheduled_us + _OFFSET:019d}:{attempt:010d}"


def sort_key_of(record: RunRecord) -> str:
    """A record's sort key."""
    return sort_key(to_utc_us(record.scheduled_for), record.attempt)


def member_parts(member: str) -> tuple[str, str]:
    """``(sk, task)`` of a ``<sk>:<task>`` member."""
    return member[:SK_LEN], member[SK_LEN + 1 :]


def _encode_value(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return str(to_utc_us(value))
    if isinstance(value, enum.Enum):
        value = value.value
    # ASCII only: a stray surrogate in command output must not make the write fail.
    return json.dumps(value)


def encode_record(record: RunRecord) -> list[str]:
    """The record as a flat ``[field, JSON value, ...]`` list, every field of ``RunRecord``."""
    flat: list[str] = []
    for field, value in zip(record._fields, record, strict=True):
        flat.append(field)
        flat.append(_encode_value(value))
    return flat


@functools.cache
def _field_types() -> dict[str, Any]:
    """What each ``RunRecord`` field holds, as the class declares it (read once)."""
    try:
        return typing.get_type_hints(RunRecord)
    except Exception:  # an annotation this interpreter cannot evaluate: decode by value instead
        return {}


def _decoder(hint: Any) -> Any:
    """A function from the JSON value to the field's type: datetimes and enums need one."""
    options = typing.get_args(hint) or (hint,)
    for option in options:
        if option is _dt.datetime:
            return lambda v: from_utc_us(int(v))
        if isinstance(option, type) and issubclass(option, enum.Enum):
            return option
    return None


@functools.cache
def _decoders() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for field, hint in _field_types().items():
        decoder = _decoder(hint)
        if decoder is not None:
            found[field] = decoder
    return found


def decode_record(data: Mapping[str, str]) -> RunRecord:
    """A ``RunRecord`` from a run hash (fields it does not know are left out, missing ones default)."""
    decoders = _decoders()
    values: dict[str, Any] = {}
    for field in RunRecord._fields:
        raw = data.get(field)
        if raw is None:
            continue
        value = json.loads(raw)
        decoder = decoders.get(field)
        if value is not None and decoder is not None:
            value = decoder(value)
        values[field] = value
    if not isinstance(values.get("status"), RunStatus):
        values["status"] = RunStatus(values.get("status", RunStatus.RUNNING.value))
    return RunRecord(**values)


def pairs_to_dict(flat: Iterable[Any]) -> dict[str, str]:
    """``{field: value}`` from a flat ``[field, value, ...]`` reply, without the store's own fields."""
    items = list(flat)
    return {
        str(items[i]): str(items[i + 1])
        for i in range(0, len(items) - 1, 2)
        if not str(items[i]).startswith(_INTERNAL_PREFIX)
    }
