"""The cron field grammar: Debian cron's, widened to croniter's dialect.

A field is a comma list of items; an item is ``*``, a number, a name
(``JAN``, ``MON``), or a range ``a-b``, each optionally followed by ``/step``;
``a/step`` means ``a-max/step``. ``?`` is read as ``*``. Day-of-month also
takes ``L`` (the last day), ``a-L`` (to the last day), ``nW`` (the weekday
nearest day n) and ``LW`` (the last weekday). Day-of-week takes ``7`` for
Sunday, ``DAY#n`` (the n-th such weekday of the month), ``nL`` or croniter's
``Ln`` (the last such weekday), and a range ending in Sunday (``FRI-SUN``).

Where croniter (below 5) and Debian differ the meaning is croniter's, except
that equal ranges are POSIX's (``1-1`` is Monday; croniter reads it as every
day) and a weekday given both plainly and with ``#n`` fires on every such day.
Only ASCII is read: ``٣`` or ``²`` is refused, not taken as a digit.
"""

from __future__ import annotations

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

# name: (low, high, names, first name's value)
FIELDS = {
    "second": (0, 59, None, 0),
    "minute": (0, 59, None, 0),
    "hour": (0, 23, None, 0),
    "day-of-month": (1, 31, None, 0),
    "month": (1, 12, _MONTHS, 1),
    "day-of-week": (0, 7, _DAYS, 0),
    "year": (1970, 2099, None, 0),  # croniter's span
}


class FieldError(ValueError):
    """One field is not valid; the message says which and why."""


def _number(token: str, field: str) -> int:
    low, high, names, base = FIELDS[field]
    # str.isdigit() is true for "²" and "٣" too, and int() reads "٣": ASCII only.
    if token.isascii() and token.isdigit():
        value = int(token)
    elif names is not None and token.lower() in names:
        value = names.index(token.lower()) + base
    else:
        raise FieldError(
            f"the {field} field has {token!r}, which is not a number" + (" or a name" if names else "")
        )
    if not low <= value <= high:
        raise FieldError(f"the {field} field has {value}, outside {low}-{high}")
    return value


def _check_text(text: str, field: str) -> None:
    if not text:
        raise FieldError(f"the {field} field is empty")
    if not text.isascii():
        raise FieldError(
            f"the {field} field has {text!r}: only ASCII is read "
            "(digits 0-9, names such as MON, and * , - / ? # L W)"
        )
    head = text[0].upper()
    if head in "HR" and (len(text) == 1 or text[1] in "(/,"):
        raise FieldError(
            f"the {field} field has {text!r}: "
            "hashed (H) and random (R) values are not supported; write the value"
        )


def _item(item: str, field: str, step_high: int) -> list[int]:
    """The values of one item (``*``, ``a``, ``a-b``, each with an optional ``/step``)."""
    low, high, _, _ = FIELDS[field]
    body, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not (step_text.isascii() and step_text.isdigit()) or int(step_text) == 0:
            raise FieldError(f"the {field} field has {item!r}: the step must be a whole number above 0")
        step = int(step_text)
    if body in ("*", "?"):
        return list(range(low, step_high + 1, step))
    if "-" in body:
        a, _, b = body.partition("-")
        start = _number(a, field)
        # croniter's a-L runs to the last day; days a month lacks never match.
        end = high if field == "day-of-month" and b.upper() == "L" else _number(b, field)
        if field == "day-of-week" and end == 0 and start > 0:
            # croniter's FRI-SUN: the days up to Saturday, then Sunday.
            return [*range(start, 7, step), 0]
        if start > end:
            raise FieldError(f"the {field} field has the range {body!r}, which runs backwards")
        return list(range(start, end + 1, step))
    start = _number(body, field)
    return list(range(start, step_high + 1, step)) if slash else [start]


def parse_field(text: str, field: str) -> set[int]:
    """Expand a field without special forms: second, minute, hour, month or year."""
    _check_text(text, field)
    high = FIELDS[field][1]
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise FieldError(f"the {field} field {text!r} has an empty list item")
        values.update(_item(item, field, high))
    return values


def parse_dom(text: str) -> tuple[set[int], bool, bool, set[int]]:
    """Expand a day-of-month field.

    Returns:
        The days, whether ``L`` (last day) was given, whether ``LW`` (last
        weekday) was given, and the n of each ``nW`` (weekday nearest day n).
    """
    field = "day-of-month"
    _check_text(text, field)
    days: set[int] = set()
    last = last_weekday = False
    nearest: set[int] = set()
    for item in text.split(","):
        upper = item.upper()
        if not item:
            raise FieldError(f"the {field} field {text!r} has an empty list item")
        if upper == "L":
            last = True
        elif upper == "LW":
            last_weekday = True
        elif upper.endswith("W"):
            day = item[:-1]
            if not (day.isascii() and day.isdigit()):
                raise FieldError(
                    f"the {field} field has {item!r}: "
                    "W takes one day (15W: the weekday nearest the 15th) or L (LW)"
                )
            nearest.add(_number(day, field))
        else:
            days.update(_item(item, field, 31))
    return days, last, last_weekday, nearest


def _weekday_with_suffix(item: str, field: str) -> list[int]:
    """The weekdays of the part before ``#n`` (one day or a range of days, no step)."""
    if "/" in item:
        raise FieldError(
            f"the {field} field has {item!r}: #n and L take a day or a range of days, not a step"
        )
    return [v % 7 for v in _item(item, field, 6)]


def parse_dow(text: str) -> tuple[set[int], dict[int, set[int]], set[int]]:
    """Expand a day-of-week field (0 = Sunday; 7 is Sunday too).

    Returns:
        The weekdays given plainly, the ``#n`` restrictions by weekday, and the
        weekdays given as the last of the month (``5L`` or ``L5``). A weekday
        given plainly fires every week, so its ``#n`` and ``L`` forms add
        nothing and are dropped (``6,6#3`` is every Saturday).
    """
    field = "day-of-week"
    _check_text(text, field)
    plain: set[int] = set()
    nth: dict[int, set[int]] = {}
    last: set[int] = set()
    for item in text.split(","):
        if not item:
            raise FieldError(f"the {field} field {text!r} has an empty list item")
        upper = item.upper()
        if "#" in item:
            days_text, _, n_text = item.partition("#")
            if not (n_text.isascii() and n_text.isdigit()) or not 1 <= int(n_text) <= 5:
                raise FieldError(f"the {field} field has {item!r}: #n takes n from 1 to 5")
            for day in _weekday_with_suffix(days_text, field):
                nth.setdefault(day, set()).add(int(n_text))
        elif upper == "L":
            raise FieldError(
                f"the {field} field has 'L' alone: "
                "write 5L (or croniter's L5) for the last Friday of the month"
            )
        elif upper.endswith("L"):
            last.update(_weekday_with_suffix(item[:-1], field))
        elif upper.startswith("L"):
            last.update(_weekday_with_suffix(item[1:], field))
        else:
            plain.update(v % 7 for v in _item(item, field, 6))
    for day in plain:
        nth.pop(day, None)
    return plain, nth, last - plain
