"""What a notification says: one event turned into a title, a summary and fields.

Every channel renders through here, so a desktop popup, an email and a
webhook say the same thing. User templates are ``str.format`` strings limited
to plain placeholders (``{task}``, not ``{task.__class__}``), checked when the
notifier is built.
"""

from __future__ import annotations

import html
import socket
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autocron_core.errors import ConfigError
from autocron_core.events import Event, EventKind
from autocron_core.notifications import Notice, format_event, notice_of

__all__ = ["PLACEHOLDERS", "Rendered", "check_template", "fill", "html_body", "render", "text_body"]

#: Lines of a script's or command's output kept in a notification.
OUTPUT_LINES = 20
#: Characters of error text kept (a traceback can be long).
ERROR_CHARS = 4000

PLACEHOLDERS = (
    "task", "status", "category", "kind", "attempt", "scheduled_for", "time", "duration", "error",
    "error_line", "node", "output", "summary", "host", "failures", "suppressed",
)  # fmt: skip

_STATUS = {
    EventKind.FAILED: "failed",
    EventKind.TIMED_OUT: "timed out",
    EventKind.SUCCEEDED: "succeeded",
    EventKind.RETRY_SCHEDULED: "failed, retrying",
    EventKind.MISSED: "missed",
    EventKind.SKIPPED: "skipped",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """One event, ready for a channel.

    Attributes:
        category: ``failure``, ``recovery``, ``success``, ``retry`` or ``missed``.
        status: the status in words (``failed``, ``recovered``, ``still failing``...).
        title: ``AutoCron: backup failed``.
        summary: one line with the first line of the error.
        fields: label -> value, in display order, empty values left out.
        values: every template placeholder -> its text.
    """

    category: str
    status: str
    title: str
    summary: str
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    @property
    def bad(self) -> bool:
        """Whether this is news someone should act on."""
        return self.category in ("failure", "retry", "missed", "paused")  # paused: after failures


def _tail(text: str | None, lines: int = OUTPUT_LINES) -> str:
    if not text:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _status(event: Event, notice: Notice) -> str:
    if notice.category == "recovery":
        return "recovered"
    if notice.reminder:
        return "still failing"
    return _STATUS.get(event.kind, event.kind.value.replace("_", " "))


def render(event: Event, notice: Notice | None = None) -> Rendered:
    """Turn ``event`` (and noise control's ``notice``) into what channels display."""
    notice = notice or notice_of(event)
    record = event.record
    status = _status(event, notice)
    error = (event.error or (record.error if record else None) or "")[:ERROR_CHARS]
    duration = record.duration if record is not None else None
    scheduled = event.scheduled_for or (record.scheduled_for if record else None)
    values = {
        "task": event.task_name,
        "status": status,
        "category": notice.category,
        "kind": event.kind.value,
        "attempt": str(event.attempt or (record.attempt if record else "") or ""),
        "scheduled_for": scheduled.isoformat() if scheduled else "",
        "time": event.time.isoformat(),
        "duration": f"{duration:.3f} s" if duration is not None else "",
        "error": error,
        "error_line": error.strip().splitlines()[0] if error.strip() else "",
        "node": (record.node_id if record else None) or "",
        "output": _tail(record.output if record else None),
        "summary": format_event(event, notice),
        "host": socket.gethostname(),
        "failures": str(notice.failures or ""),
        "suppressed": str(notice.suppressed or ""),
    }
    fields = {
        "Task": values["task"],
        "Status": status,
        "Attempt": values["attempt"],
        "Scheduled for": values["scheduled_for"],
        "Duration": values["duration"],
        "Node": values["node"],
    }
    if (
        notice.failing_since is not None
        and notice.category in ("failure", "recovery")
        and notice.failures > 1
    ):
        fields["Failing since"] = notice.failing_since.isoformat()
        fields["Failures"] = str(notice.failures)
    if notice.suppressed:
        fields["Not notified"] = f"{notice.suppressed} failure(s) since the last message"
    if event.retry_in is not None:
        fields["Retry in"] = f"{event.retry_in:g} s"
    fields = {k: v for k, v in fields.items() if v}
    return Rendered(
        notice.category, status, f"AutoCron: {event.task_name} {status}", values["summary"], fields, values
    )


def text_body(rendered: Rendered) -> str:
    """A plain-text body: the summary, the fields, the error and the output tail."""
    width = max((len(k) for k in rendered.fields), default=0) + 1
    lines = [rendered.summary, ""]
    lines += [f"{(label + ':').ljust(width)} {value}" for label, value in rendered.fields.items()]
    for label, key in (("Error", "error"), ("Output (last lines)", "output")):
        if rendered.values[key]:
            lines += ["", f"{label}:", *("    " + line for line in rendered.values[key].splitlines())]
    return "\n".join(lines) + "\n"


def html_body(rendered: Rendered) -> str:
    """A small HTML body with the same content; every value is escaped."""
    esc = html.escape
    colour = "#b00020" if rendered.bad else "#1b5e20"
    rows = "".join(
        f'<tr><th align="left" style="padding-right:1em">{esc(k)}</th><td>{esc(v)}</td></tr>'
        for k, v in rendered.fields.items()
    )
    parts = [
        f'<html><body style="font-family:sans-serif"><h2 style="color:{colour}">{esc(rendered.title)}</h2>',
        f"<p>{esc(rendered.summary)}</p><table>{rows}</table>",
    ]
    for label, key in (("Error", "error"), ("Output (last lines)", "output")):
        if rendered.values[key]:
            parts.append(f"<h3>{esc(label)}</h3><pre>{esc(rendered.values[key])}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


class _PlainFormatter(string.Formatter):
    """``str.format`` without attribute or index access: templates cannot reach objects."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not field_name.isidentifier():
            raise KeyError(field_name)
        return super().get_field(field_name, args, kwargs)


_FORMATTER = _PlainFormatter()


def check_template(name: str, template: Any) -> str:
    """Validate a template setting; returns it.

    Raises:
        ConfigError: not a string, a bad format string or an unknown placeholder.
    """
    if not isinstance(template, str):
        raise ConfigError(
            f"{name}={template!r}: expected a text template such as '{{task}} {{status}}'", field=name
        )
    try:
        _FORMATTER.vformat(template, (), {key: "" for key in PLACEHOLDERS})
    except KeyError as exc:
        raise ConfigError(
            f"{name}={template!r}: unknown placeholder {{{exc.args[0]}}}; expected any of "
            + ", ".join("{" + p + "}" for p in PLACEHOLDERS),
            field=name,
        ) from None
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"{name}={template!r}: expected a valid template ({exc})", field=name) from None
    return template


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders replaced (checked by ``check_template`` first)."""
    return _FORMATTER.vformat(template, (), dict(values))
