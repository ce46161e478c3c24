"""The task document: ``{version: 2, saved_at, tasks: [...]}`` in YAML or JSON.

Also reads the documents of the older single-package AutoCron (``version:
"1.0"``, one flat mapping per script task) and, without a ``version`` key, the
``tasks:`` section of a configuration file.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from autocron_core.config import load_config, tasks_from_config
from autocron_core.errors import ConfigError, TaskError
from autocron_core.task import SECRET_KEYS, Task

__all__ = [
    "FORMAT_VERSION",
    "document_format",
    "dump_document",
    "entries_of",
    "read_document",
    "scrub_secrets",
]

logger = logging.getLogger("autocron.store.files")

#: The document version this code writes (and the newest it reads).
FORMAT_VERSION = 2
_LEGACY_VERSIONS = ("1.0", "1", 1, 1.0)
_LEGACY_KEYS = frozenset({
    "task_id", "name", "script", "schedule_type", "schedule_value", "retries", "retry_delay", "timeout",
    "notify", "email_config", "enabled", "last_run", "next_run", "run_count", "fail_count",
})  # fmt: skip


def document_format(path: str) -> str:
    """``"yaml"`` or ``"json"`` from the file name.

    Raises:
        ConfigError: the suffix is neither.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    raise ConfigError("a task file name must end in .yaml, .yml or .json", path=path)


def scrub_secrets(value: Any, where: str = "") -> Any:
    """A copy of ``value`` without any mapping key in ``SECRET_KEYS`` (at any depth)."""
    if isinstance(value, Mapping):
        clean = {}
        for key, item in value.items():
            if key in SECRET_KEYS:
                logger.warning(
                    "%s: not writing the secret %r (give %s_env naming an environment variable)",
                    where or "task",
                    key,
                    key,
                )
                continue
            clean[key] = scrub_secrets(item, where)
        return clean
    if isinstance(value, (list, tuple)):
        return [scrub_secrets(item, where) for item in value]
    return value


def entries_of(tasks: Iterable[Task]) -> list[dict[str, Any]]:
    """Each task's ``to_dict()`` without secrets, checked to be plain JSON data.

    Raises:
        TaskError: listing every task that cannot be written (a function that
            is not importable as ``module:qualname``, or arguments that are not
            plain data); nothing is written then.
    """
    entries: list[dict[str, Any]] = []
    bad: list[str] = []
    reasons: list[str] = []
    for task in tasks:
        try:
            entry = scrub_secrets(task.to_dict(), f"task {task.name!r}")
            json.dumps(entry, allow_nan=False)
        except TaskError as exc:
            bad.append(task.name)
            reasons.append(f"{task.name}: {exc.expected}")
            continue
        except (TypeError, ValueError) as exc:
            bad.append(task.name)
            reasons.append(f"{task.name}: arguments are not plain data ({exc})")
            continue
        entries.append(entry)
    if bad:
        raise TaskError("tasks", bad, "tasks that can be written to a file", detail="; ".join(reasons))
    return entries


def dump_document(entries: list[dict[str, Any]], fmt: str, saved_at: _dt.datetime | None = None) -> bytes:
    """The document's bytes in ``fmt`` (``yaml`` or ``json``)."""
    saved = (saved_at or _dt.datetime.now(_dt.timezone.utc)).isoformat()
    document = {"version": FORMAT_VERSION, "saved_at": saved, "tasks": entries}
    if fmt == "json":
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    import yaml

    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)
    return str(text).encode("utf-8")


def _legacy_moment(value: Any) -> str | None:
    # The old AutoCron wrote naive local times (datetime.now()).
    if not value:
        return None
    moment = value if isinstance(value, _dt.datetime) else _dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.isoformat()


def _from_legacy(entry: Any, path: str, line: int | None) -> Any:
    if not isinstance(entry, Mapping):
        return entry
    kind = entry.get("schedule_type")
    if kind not in ("interval", "cron"):
        raise ConfigError(
            f"schedule_type={kind!r}: expected 'interval' or 'cron'",
            path=path,
            line=line,
            field="schedule_type",
        )
    converted: dict[str, Any] = {"name": entry.get("name"), "script": entry.get("script")}
    if entry.get("task_id"):
        converted["task_id"] = str(entry["task_id"])
    converted["every" if kind == "interval" else "cron"] = entry.get("schedule_value")
    for key in ("retries", "retry_delay", "timeout", "notify", "email_config"):
        if entry.get(key) is not None:
            converted[key] = entry[key]
    try:
        converted["state"] = {
            "next_run": _legacy_moment(entry.get("next_run")),
            "last_run": _legacy_moment(entry.get("last_run")),
            "run_count": int(entry.get("run_count") or 0),
            "fail_count": int(entry.get("fail_count") or 0),
            "paused": not entry.get("enabled", True),
        }
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"task {entry.get('name')!r}: bad run state ({exc})", path=path, line=line
        ) from None
    return converted


def read_document(path: str) -> tuple[list[Any], list[Task]]:
    """Parse a task document; returns its raw entries (in the current format) and their tasks.

    Raises:
        ConfigError: unreadable, corrupt or truncated file, a newer format, or
            tasks that cannot be rebuilt (every one is listed, with its line).
    """
    document_format(path)
    data, _, lines = load_config(path)
    version = data.get("version")
    entries = data.get("tasks")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ConfigError(
            "tasks: must be a list of task entries", path=path, line=lines.line(data, "tasks"), field="tasks"
        )
    if version in _LEGACY_VERSIONS:
        converted = []
        for entry in entries:
            line = lines.line(entry)
            new = _from_legacy(entry, path, line)
            if line is not None:
                lines.of[id(new)] = (line, {})
            converted.append(new)
        entries = converted
    elif version is not None and version != FORMAT_VERSION:
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise ConfigError(
                f"version {version} was written by a newer AutoCron (this one reads up to "
                f"{FORMAT_VERSION}); upgrade autocron-store",
                path=path,
                line=lines.line(data, "version"),
                field="version",
            )
        raise ConfigError(
            f"version={version!r}: expected {FORMAT_VERSION} or '1.0'",
            path=path,
            line=lines.line(data, "version"),
            field="version",
        )
    problems: list[ConfigError] = []
    tasks = tasks_from_config({"tasks": entries}, path, lines, collect=problems)
    if problems:
        if len(problems) == 1:
            raise problems[0]
        listed = "; ".join(f"line {p.line}: {p.reason}" if p.line else p.reason for p in problems)
        raise ConfigError(
            f"{len(problems)} task entries are not valid: {listed}",
            path=path,
            line=problems[0].line,
            field=problems[0].field,
        )
    return entries, tasks
