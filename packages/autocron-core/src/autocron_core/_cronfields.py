"""The cron field grammar, as Debian's cron daemon reads it.

A field is a comma list of items; an item is ``*``, a number, a name
(``JAN``, ``MON``), or a range ``a-b``, each optionally followed by ``/step``;
``a/step`` means ``a-max/step``. Day-of-month also takes ``L`` (the last day);
day-of-week takes ``7`` for Sunday and ``DAY#n`` (the n-th such weekday of the
month). ``?`` is read as ``*`` for users coming from Quartz.
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
}


class FieldError(ValueError):
    """One field is not valid; the message says which and why."""


def _number(token: str, field: str) -> int:
    low, high, names, base = FIELDS[field]
    if token.isdigit():
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


def parse_field(text: str, field: str) -> tuple[set[int], bool, dict[int, set[int]]]:
    """Expand one field.

    Returns:
        The values, whether ``L`` (last day of month) was given, and for
        day-of-week the ``#n`` restrictions by weekday.
    """
    low, high, _, _ = FIELDS[field]
    values: set[int] = set()
    last = False
    nth: dict[int, set[int]] = {}
    if not text:
        raise FieldError(f"the {field} field is empty")
    for item in text.split(","):
        if not item:
            raise FieldError(f"the {field} field {text!r} has an empty list item")
        if field == "day-of-month" and item.upper() == "L":
            last = True
            continue
        if field == "day-of-week" and "#" in item:
            day_text, _, n_text = item.partition("#")
            day = _number(day_text, field) % 7
            if not n_text.isdigit() or not 1 <= int(n_text) <= 5:
                raise FieldError(f"the {field} field has {item!r}: #n takes n from 1 to 5")
            nth.setdefault(day, set()).add(int(n_text))
            values.add(day)
            continue
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise FieldError(f"the {field} field has {item!r}: the step must be a whole number above 0")
            step = int(step_text)
        if body in ("*", "?"):
            start, end = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            start, end = _number(a, field), _number(b, field)
            if start > end:
                raise FieldError(f"the {field} field has the range {body!r}, which runs backwards")
        else:
            start = _number(body, field)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    if field == "day-of-week":
        values = {v % 7 for v in values}
    return values, last, nth
