"""How the CLI shows a task's flow options and pause note (issue 17)."""

from __future__ import annotations

from typing import Any

from autocron_cli._common import fmt_time, task_status

__all__ = ["flow_rows", "os_user", "pause_marker"]


def os_user() -> str | None:
    """The OS user name, recorded as who paused a task (``None`` when it cannot be known)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        return None


def pause_marker(task: Any) -> str:
    """The ``list`` status cell: ``paused``, ``paused by alice (note)``, or the last status."""
    status = task_status(task)
    if not task.paused:
        return status
    if task.paused_by:
        status += f" by {task.paused_by}"
    if task.pause_note:
        status += " (note)"
    return status


def flow_rows(task: Any) -> list[tuple[str, Any]]:
    """``show`` rows for dependencies, the condition, pause-on-failure and the pause note."""
    rows: list[tuple[str, Any]] = []
    flow = task.flow
    if flow is not None:
        if flow.after:
            policy = "all of" if flow.after_policy == "all" else "any of"
            rows.append(("after", f"{policy} {', '.join(flow.after)}"))
        if flow.when is not None:
            rows.append(("when", flow.when_ref or getattr(flow.when, "__qualname__", repr(flow.when))))
        if flow.pause_after_failures is not None:
            rows.append(("pause after", f"{flow.pause_after_failures} consecutive failure(s)"))
    if task.paused:
        if task.paused_by:
            rows.append(("paused by", task.paused_by))
        if task.paused_at is not None:
            rows.append(("paused at", fmt_time(task.paused_at.astimezone(task.timezone))))
        if task.pause_note:
            rows.append(("pause note", task.pause_note))
    return rows
