"""Plain-language descriptions of cron expressions, for ``autocron next`` and listings."""

from __future__ import annotations

from .cron import ALIASES

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_MONTHS = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]  # fmt: skip
_NAMES = {name[:3].lower(): str(i) for i, name in enumerate(_DAYS)} | {
    name[:3].lower(): str(i) for i, name in enumerate(_MONTHS) if name
}


def _plain(field: str) -> str:
    return _NAMES.get(field.lower(), field)


def _list(field: str, names: list[str] | None = None) -> str:
    parts = []
    for part in field.split(","):
        ends = [_plain(p) for p in part.split("-")]
        if names is not None:
            ends = [names[int(e) % len(names)] if e.isdigit() else e for e in ends]
        parts.append(" to ".join(ends))
    return ", ".join(parts)


def describe_cron(expr: str, seconds: bool, zone: str) -> str:
    """Describe a cron expression: ``"0 9 * * 1-5"`` → ``"at 09:00 on Monday to Friday (Europe/London)"``."""
    text = " ".join(expr.split())
    alias = ALIASES.get(text.lower())
    fields = (alias or text).split(" ")
    sec = fields.pop(0) if seconds and not alias else "0"
    minute, hour, dom, month, dow = fields
    if minute.isdigit() and hour.isdigit():
        when = f"at {int(hour):02d}:{int(minute):02d}" + (
            f":{int(sec):02d}" if sec.isdigit() and sec != "0" else ""
        )
    else:
        pieces = []
        if seconds and sec != "0":
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
        days.append("on the last day of the month" if dom.upper() == "L" else f"on day {dom} of the month")
    if dow not in ("*", "?"):
        if "#" in dow:
            day, nth = dow.split("#", 1)
            days.append(f"on the {nth}. {_list(day, _DAYS)} of the month")
        else:
            days.append(f"on {_list(dow, _DAYS)}")
    joiner = " or " if len(days) == 2 and not dom.startswith("*") and not dow.startswith("*") else " and "
    description = when + (" " + joiner.join(days) if days else "")
    if month not in ("*", "?"):
        description += f" in {_list(month, _MONTHS)}"
    return f"{description} ({zone})"
