"""Where a time zone's UTC offset changes: spans of constant offset, found once per zone and year.

``Cron`` walks wall time field by field and needs the zone only to turn the
answer into an instant; the DST rules apply only where the offset changes.
``segment`` says which constant-offset span an instant lies in, and what the
offsets on either side of it are, so the walk knows where a gap or a repeated
hour begins.

The changes are found by asking the zone for its offset every 12 hours of a
year and bisecting to the second where it differs. In the whole tz database
since 1900 no two offset changes of one zone are closer than four days, so
sampling every 12 hours sees every change; each zone-year costs about 0.5 ms,
once per process.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import threading

__all__ = ["Segment", "segment"]

_UTC = _dt.timezone.utc
_STEP = _dt.timedelta(hours=12)
_ONE_SECOND = _dt.timedelta(seconds=1)
_TWO_DAYS = _dt.timedelta(days=2)

#: ``(start, offset before start, offset, end, offset from end)``; instants are
#: naive UTC. ``start`` is ``None`` when no change lies within two days before.
#: ``end`` is the next change, or the first instant of the next year when the
#: year holds no more (its offset may then equal ``offset``), or ``None`` at the
#: end of year 9999.
Segment = tuple[_dt.datetime | None, _dt.timedelta, _dt.timedelta, _dt.datetime | None, _dt.timedelta]

# (changes, offsets, offset at the next year's first instant): offsets[i] holds
# from changes[i - 1] (or the year's start) until changes[i].
_Table = tuple[list[_dt.datetime], list[_dt.timedelta], _dt.timedelta]
_TABLES: dict[tuple[_dt.tzinfo, int], _Table] = {}
_LOCK = threading.Lock()


def _offset(tz: _dt.tzinfo, instant: _dt.datetime) -> _dt.timedelta:
    offset = instant.replace(tzinfo=_UTC).astimezone(tz).utcoffset()
    return offset if offset is not None else _dt.timedelta(0)


def _build(tz: _dt.tzinfo, year: int) -> _Table:
    # A day inside datetime's range at both ends, so local time never leaves it.
    start = _dt.datetime(year, 1, 1) if year > 1 else _dt.datetime(1, 1, 2)
    stop = _dt.datetime(year + 1, 1, 1) if year < 9999 else _dt.datetime(9999, 12, 30)
    changes: list[_dt.datetime] = []
    before = _offset(tz, start)
    offsets = [before]
    low = start
    while low < stop:
        high = min(low + _STEP, stop)
        after = _offset(tz, high)
        if after == before:
            low = high
            continue
        while high - low > _ONE_SECOND:  # bisect to the first second of the new offset
            middle = low + _dt.timedelta(seconds=int((high - low).total_seconds()) // 2)
            if _offset(tz, middle) == before:
                low = middle
            else:
                high = middle
        if high == stop:  # a change at the year's end belongs to the next year's table
            break
        before = _offset(tz, high)
        changes.append(high)
        offsets.append(before)
        low = high
    return changes, offsets, _offset(tz, stop)


def _table(tz: _dt.tzinfo, year: int) -> _Table:
    key = (tz, year)
    table = _TABLES.get(key)
    if table is None:
        table = _build(tz, year)
        with _LOCK:
            if len(_TABLES) > 4096:  # bound memory for processes that visit many zones and years
                _TABLES.clear()
            _TABLES[key] = table
    return table


def segment(tz: _dt.tzinfo, instant: _dt.datetime) -> Segment:
    """The constant-offset span of ``tz`` holding ``instant`` (naive UTC); see ``Segment``."""
    year = instant.year
    changes, offsets, end_offset = _table(tz, year)
    i = bisect.bisect_right(changes, instant)
    offset = offsets[i]
    if i < len(changes):
        end: _dt.datetime | None = changes[i]
        next_offset = offsets[i + 1]
    else:
        end = _dt.datetime(year + 1, 1, 1) if year < 9999 else None
        next_offset = end_offset
    if i > 0:
        return changes[i - 1], offsets[i - 1], offset, end, next_offset
    # The span began last year. Only a change within two days matters to the
    # caller (a repeated hour right behind the instant), so look no further.
    year_start = _dt.datetime(year, 1, 1)
    if year > 1 and instant - year_start < _TWO_DAYS:
        last_changes, last_offsets, _ = _table(tz, year - 1)
        if last_offsets[-1] != offset:  # the offset changed exactly at the year's start
            return year_start, last_offsets[-1], offset, end, next_offset
        if last_changes and instant - last_changes[-1] < _TWO_DAYS:
            return last_changes[-1], last_offsets[-2], offset, end, next_offset
    return None, offset, offset, end, next_offset
