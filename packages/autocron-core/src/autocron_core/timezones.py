"""Turning what users write for a time zone into a ``tzinfo``.

``"local"`` means the host's *named* zone (``Europe/Paris``), not today's UTC
offset: a ``0 9 * * *`` task must stay at 09:00 on the wall clock across DST.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os

from .errors import ScheduleError

__all__ = ["local_zone", "resolve_timezone", "zone_name"]

UTC = _dt.timezone.utc


@functools.lru_cache(maxsize=1)
def local_zone() -> _dt.tzinfo:
    """The host's named time zone, found the way the C library finds it.

    Order: ``$TZ`` (an IANA name, with or without a leading ``:``), the target
    of ``/etc/localtime``, ``/etc/timezone``. Where none names a zone (Windows,
    a bare container) the current fixed offset is used, and DST is not followed.
    """
    candidates: list[str] = []
    tz_env = os.environ.get("TZ", "").lstrip(":")
    if tz_env:
        candidates.append(tz_env)
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        with open("/etc/timezone", encoding="utf-8") as handle:
            candidates.append(handle.read().strip())
    except OSError:
        pass
    from zoneinfo import ZoneInfo

    for name in candidates:
        try:
            return ZoneInfo(name)
        except (LookupError, ValueError):  # ZoneInfoNotFoundError is a KeyError
            continue
    fallback = _dt.datetime.now().astimezone().tzinfo
    return fallback if fallback is not None else UTC


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> _dt.tzinfo:
    if name.lower() == "local":
        return local_zone()
    if name.upper() in ("UTC", "Z"):
        return UTC
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except (LookupError, ValueError, OSError) as exc:
        raise ScheduleError(
            "timezone",
            name,
            'an IANA time zone name such as "Europe/London", "UTC" or "local"',
            detail=str(exc),
        ) from None


def resolve_timezone(value: str | _dt.tzinfo | None, *, field: str = "timezone") -> _dt.tzinfo:
    """Return the ``tzinfo`` for an IANA name, ``"local"``, a ``tzinfo`` or ``None`` (local).

    Raises:
        ScheduleError: the name is not a known IANA zone.
    """
    if value is None:
        return local_zone()
    if isinstance(value, _dt.tzinfo):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return _zone(value.strip())
        except ScheduleError as exc:
            raise ScheduleError(field, value, exc.expected, detail=exc.detail) from None
    raise ScheduleError(field, value, 'an IANA time zone name such as "Europe/London", "UTC" or "local"')


def zone_name(tz: _dt.tzinfo) -> str:
    """A name that ``resolve_timezone`` turns back into the same zone, for persisting."""
    if tz is UTC:
        return "UTC"
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key
    name = tz.tzname(None)
    return name or "UTC"
