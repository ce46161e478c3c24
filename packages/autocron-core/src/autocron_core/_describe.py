"""Plain-language descriptions of cron expressions, for ``autocron next`` and listings."""

from __future__ import annotations

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_MONTHS = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]  # fmt: skip
_NAMES = {name[:3].lower(): str(i) for i, name in enumerate(_DAYS)} | {
    name[:3].lower(): str(i) for i, name in enumerate(_MONTHS) if name
}
_ORDINALS = {"1": "first", "2": "second", "3": "third", "4": "fourth", "5": "fifth"}


def _plain(field: str) -> str:
    return _NAMES.get(field.lower(), field)


def _list(field: str, names: list[str] | None = None) -> str:
    parts = []
    for part in field.split(","):
        ends = [_plain(p) for p in part.split("-")]
        if names is not None:
            ends = [names[int(e) % len(names)] if e.isascii() and e.isdigit() else e for e in ends]
        parts.append(" to ".join(ends))
    return ", ".join(parts)


def _dom(item: str) -> str:
    upper = item.upper()
    if upper == "L":
        return "the last day of the month"
    if upper == "LW":
        return "the last weekday of the month"
    if upper.endswith("W"):
        return f"the weekday nearest day {item[:-1]} of the month"
    if upper.endswith("-L"):
        return f"days {item[:-2]} to the last of the month"
    return f"day {item} of the month"


def _dow(item: str) -> str:
    upper = item.upper()
    if item in ("*", "?"):
        return "every day"
    if "#" in item:
        day, nth = item.split("#", 1)
        return f"the {_ORDINALS.get(nth, nth + '.')} {_list(day, _DAYS)} of the month"
    if upper.endswith("L") or upper.startswith("L"):
        day = item[:-1] if upper.endswith("L") else item[1:]
        return f"the last {_list(day, _DAYS)} of the month"
    return _list(item, _DAYS)


def describe_cron(texts: tuple[str | None, str, str, str, str, str, str | None], zone: str) -> str:
    """Describe a parsed expression's fields (seconds, the five classic fields, year).

    ``"0 9 * * 1-5"`` → ``"at 09:00 on Monday to Friday (Europe/London)"``.
    """
    sec, minute, hour, dom, month, dow, year = texts
    sec = sec or "0"
    if minute.isascii() and minute.isdigit() and hour.isascii() and hour.isdigit():
        when = f"at {int(hour):02d}:{int(minute):02d}" + (
            f":{int(sec):02d}" if sec.isascii() and sec.isdigit() and int(sec) else ""
        )
    else:
        pieces = []
        if sec != "0":
            pieces.append("every second" if sec == "*" else f"at second {sec}")
        if minute == "*":
            pieces.append("every minute")
        elif minute.startswith("*/"):
            pieces.append(f"every {minute[2:]} minutes")
        else:
            pieces.append(f"at minute {minute}")
        if hour == "*":
            pieces.append("of every hour" if minute != "*" else "")
        elif hour.startswith("*/"):
            pieces.append(f"of every {hour[2:]} hours")
        else:
            pieces.append(f"during hour {hour}" if hour.isdigit() else f"during hours {_list(hour)}")
        when = " ".join(p for p in pieces if p)
    days = []
    if dom not in ("*", "?"):
        days.append("on " + ", ".join(_dom(item) for item in dom.split(",")))
    if dow not in ("*", "?"):
        days.append("on " + ", ".join(_dow(item) for item in dow.split(",")))
    joiner = " or " if len(days) == 2 and not dom.startswith("*") and not dow.startswith("*") else " and "
    description = when + (" " + joiner.join(days) if days else "")
    if month not in ("*", "?"):
        description += f" in {_list(month, _MONTHS)}"
    if year not in (None, "*", "?"):
        description += f" in {year.replace(',', ', ')}"
    return f"{description} ({zone})"
