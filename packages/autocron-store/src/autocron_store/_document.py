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
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from autocron_core.config import load_config, tasks_from_config
from autocron_core.errors import AutoCronError, ConfigError, TaskError
from autocron_core.schedules import to_utc_us
from autocron_core.task import SECRET_KEYS, Task, build_task

__all__ = [
    "FORMAT_VERSION",
    "TaskFileWarning",
    "check_moments",
    "check_writable",
    "document_format",
    "dump_document",
    "entries_of",
    "read_document",
    "scrub_notifier_secrets",
    "scrub_secrets",
]

logger = logging.getLogger("autocron.store.files")

#: The document version this code writes (and the newest it reads).
FORMAT_VERSION = 2
_LEGACY_VERSIONS = ("1.0", "1", 1, 1.0)


class TaskFileWarning(UserWarning):
    """A field of a task file that could not be carried over; the message names it and its task."""


# The fields the original AutoCron's ``Task.to_dict`` wrote (v1.0 to its last
# release), by what becomes of them here.
_SEED_SCHEDULE = frozenset({"schedule_type", "schedule_value", "every", "cron"})
_SEED_STATE = frozenset({"enabled", "last_run", "next_run", "run_count", "fail_count"})
#: Options with the same name and meaning here; ``None`` means the default.
_SEED_OPTIONS = ("retries", "retry_delay", "timeout", "notify", "email_config", "timezone",
                 "overlap_policy", "max_instances", "coalesce")  # fmt: skip
#: Resource options; ``False``/``None`` means off, which is the default here too.
_SEED_LIMITS = ("safe_mode", "clean_env", "max_memory_mb", "max_cpu_percent", "max_output_bytes")
#: Counters this version does not keep per task (run history counts skips and misses instead).
_SEED_COUNTERS = ("skipped_count", "misfire_count")
_SEED_KEYS = frozenset({"task_id", "name", "script", "misfire_grace_time", *_SEED_OPTIONS,
                        *_SEED_LIMITS, *_SEED_COUNTERS}) | _SEED_SCHEDULE | _SEED_STATE  # fmt: skip


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


#: Task fields holding notifier settings: their secrets are never written (a ``<key>_env``
#: names the environment variable instead). A task's own ``args``/``kwargs`` are not among them.
NOTIFIER_FIELDS = ("email_config", "notify", "webhook", "notifications")

_MAX_US = to_utc_us(_dt.datetime.max.replace(tzinfo=_dt.timezone.utc))
_MIN_US = to_utc_us(_dt.datetime.min.replace(tzinfo=_dt.timezone.utc))


def scrub_notifier_secrets(entry: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``entry`` with secret keys removed from its notifier settings; everything else as it is.

    Only notifier settings are scrubbed: a function's ``kwargs`` named
    ``token`` or ``password`` are its arguments, and dropping them would make
    the task fail after a reload (see ``check_writable`` for what happens to them).
    """
    if not any(field in entry for field in NOTIFIER_FIELDS):
        return dict(entry)
    return {k: scrub_secrets(v, where) if k in NOTIFIER_FIELDS else v for k, v in entry.items()}


def _secret_keys(value: Any) -> list[str]:
    """Secret-named mapping keys anywhere inside ``value`` (a task's args or kwargs)."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            found.extend(str(key) for key in item if key in SECRET_KEYS)
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return sorted(found)


def check_moments(task: Task) -> None:
    """Refuse a task whose next or last run ``datetime`` could not hold (checked before ``to_dict``).

    Raises:
        TaskError: naming ``next_run`` or ``last_run``.
    """
    for field in ("next_run_us", "last_run_us"):
        us = getattr(task, field)
        if us is not None and not _MIN_US <= us <= _MAX_US:
            raise TaskError(field[:-3], us, "a time within years 1 to 9999 in UTC (microseconds since 1970)")


def check_writable(task: Task, data: Mapping[str, Any]) -> None:
    """Refuse to store a task that could not be read back as it is, or would write a secret.

    Checked on every ``save_task`` (never per run): the name and definition
    must be valid UTF-8 text, the next and last run must lie within years 1 to
    9999, and no argument may be named like a secret (``password``, ``token``,
    ``secret``, ``api_key``, ``smtp_password``): a task file or database never
    holds a literal secret, and dropping the argument silently would break
    the task, so the save is refused instead.

    Raises:
        TaskError: naming the field (for a secret, the argument's name, never its value).
    """
    try:
        task.name.encode("utf-8")
    except UnicodeEncodeError:
        raise TaskError(
            "name", task.name, "text that can be stored as UTF-8 (it holds an unpaired surrogate)"
        ) from None
    check_moments(task)
    secrets = _secret_keys(data.get("kwargs")) + _secret_keys(data.get("args"))
    if secrets:
        raise TaskError(
            "kwargs",
            secrets[0],
            "no literal secret among a stored task's arguments",
            detail="read it inside the function, e.g. os.environ['API_TOKEN'], or keep the task in memory",
        )
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise TaskError(
            "definition", task.name, "text that can be stored as UTF-8 (an unpaired surrogate in an option)"
        ) from None


def entries_of(tasks: Iterable[Task]) -> list[dict[str, Any]]:
    """Each task's ``to_dict()`` without notifier secrets, checked to be plain JSON data.

    Raises:
        TaskError: listing every task that cannot be written (a function that
            is not importable as ``module:qualname``, arguments that are not
            plain data, or any reason of ``check_writable``); nothing is written then.
    """
    tasks = list(tasks)
    entries: list[dict[str, Any]] = []
    bad: list[str] = []
    reasons: list[str] = []
    for task in tasks:
        try:
            check_moments(task)
            entry = scrub_notifier_secrets(task.to_dict(), f"task {task.name!r}")
            json.dumps(entry, allow_nan=False)
            check_writable(task, entry)
        except TaskError as exc:
            if len(tasks) == 1:  # one task saved: its own error names the field
                raise
            bad.append(task.name)
            reasons.append(f"{task.name}: {exc}")
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


def _warn(path: str, line: int | None, name: Any, text: str) -> None:
    where = f"{path}:{line}" if line else path
    warnings.warn(f"{where}: task {name!r}: {text}", TaskFileWarning, stacklevel=4)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _legacy_moment(entry: Mapping[str, Any], key: str, path: str, line: int | None) -> str | None:
    # Later versions of the original wrote aware times; up to 1.2 naive local ones (datetime.now()).
    value = entry.get(key)
    if not value:
        return None
    try:
        moment = value if isinstance(value, _dt.datetime) else _dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"task {entry.get('name')!r}: {key}={value!r}: expected an ISO 8601 time",
            path=path,
            line=line,
            field=key,
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.isoformat()


def _legacy_count(entry: Mapping[str, Any], key: str, path: str, line: int | None) -> int:
    value = entry.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"task {entry.get('name')!r}: {key}={value!r}: expected a whole number of at least 0",
            path=path,
            line=line,
            field=key,
        )
    return value


def _legacy_schedule(entry: Mapping[str, Any], path: str, line: int | None) -> tuple[str, Any]:
    """``("every" | "cron", value)``, read as the original read it: ``schedule_type`` and
    ``schedule_value`` first, its later ``every``/``cron`` copies when those are missing."""
    kind = entry.get("schedule_type")
    if kind not in ("interval", "cron"):
        if entry.get("every") is not None:
            kind = "interval"
        elif entry.get("cron") is not None:
            kind = "cron"
        else:
            raise ConfigError(
                f"task {entry.get('name')!r}: schedule_type={kind!r}: expected 'interval' or 'cron'",
                path=path,
                line=line,
                field="schedule_type",
            )
    key = "every" if kind == "interval" else "cron"
    value = entry.get("schedule_value")
    if value is None:
        value = entry.get(key)
    elif entry.get(key) is not None and entry[key] != value:
        text = f"{key}={entry[key]!r} differs from schedule_value={value!r}; schedule_value is used"
        _warn(path, line, entry.get("name"), text + ", as the original did")
    return key, value


def _drop_refused_limits(converted: dict[str, Any], carried: list[str], path: str, line: int | None) -> None:
    """Leave out each resource option that ``build_task`` refuses here, naming it in a warning.

    The original stored these options without always honouring them (it
    ignored ``max_cpu_percent``); here a task that asks for one gets it or is
    refused, for instance ``max_memory_mb`` where no limit can be enforced, or
    ``max_cpu_percent`` without a ``timeout``. Loading a file keeps every task
    and says which limit it could not keep. Other problems are left for the
    task to report when it is built.
    """
    options = {k: v for k, v in converted.items() if k not in ("state", "task_id")}
    while carried:
        try:
            build_task(**options)
        except TaskError as exc:
            if exc.field not in carried:
                return
            reason = exc.expected + (f"; {exc.detail}" if exc.detail else "")
            text = f"{exc.field}={_short(options[exc.field])} cannot be kept here (expected {reason})"
            _warn(path, line, converted.get("name"), text + " and was not loaded")
            carried.remove(exc.field)
            del options[exc.field], converted[exc.field]
        except AutoCronError:
            return
        else:
            return


def _from_legacy(entry: Any, path: str, line: int | None) -> Any:
    """One task of the original AutoCron's document, as an entry of the current format.

    Every field its ``Task.to_dict`` wrote is carried over. What cannot be
    (an unknown field, a non-zero ``skipped_count``/``misfire_count``, a
    resource option refused here) is named in a ``TaskFileWarning``; nothing
    is dropped silently.
    """
    if not isinstance(entry, Mapping):
        return entry
    name = entry.get("name")
    converted: dict[str, Any] = {"name": name}
    script = entry.get("script")
    if isinstance(script, str) and script.strip():
        # The original ran a relative script from its working directory; so does this.
        converted["script"] = os.path.abspath(os.path.expanduser(script.strip()))
    else:
        converted["script"] = script
    if entry.get("task_id"):
        converted["task_id"] = str(entry["task_id"])
    key, value = _legacy_schedule(entry, path, line)
    converted[key] = value
    for option in _SEED_OPTIONS:
        if entry.get(option) is not None:
            converted[option] = entry[option]
    if "misfire_grace_time" in entry:  # None is meaningful: however late
        converted["misfire_grace_time"] = entry["misfire_grace_time"]
    limits = [k for k in _SEED_LIMITS if entry.get(k) not in (None, False)]
    for option in limits:
        converted[option] = entry[option]
    for counter in _SEED_COUNTERS:
        if entry.get(counter):
            text = f"{counter}={_short(entry[counter])} has no counterpart here"
            _warn(path, line, name, text + " (run history counts skipped and missed runs) and was not loaded")
    for field in entry:
        if field not in _SEED_KEYS:
            _warn(path, line, name, f"unknown field {field!r} (= {_short(entry[field])}) was not loaded")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(
            f"task {name!r}: enabled={enabled!r}: expected true or false",
            path=path,
            line=line,
            field="enabled",
        )
    if limits:  # rare: only tasks that set one pay for a trial build
        _drop_refused_limits(converted, limits, path, line)
    converted["state"] = {
        "next_run": _legacy_moment(entry, "next_run", path, line),
        "last_run": _legacy_moment(entry, "last_run", path, line),
        "run_count": _legacy_count(entry, "run_count", path, line),
        "fail_count": _legacy_count(entry, "fail_count", path, line),
        "paused": not enabled,
    }
    return converted


def read_document(path: str) -> tuple[list[Any], list[Task]]:
    """Parse a task document; returns its raw entries (in the current format) and their tasks.

    A document of the original AutoCron (``version: "1.0"``) is converted
    entry by entry: every field its ``Task.to_dict`` wrote is carried over
    (``enabled: false`` becomes a paused task; a relative ``script`` is read
    from the working directory, as the original ran it). Each field that
    cannot be carried over is named, with its task, in a ``TaskFileWarning``
    issued through ``warnings.warn`` (catch them with
    ``warnings.catch_warnings(record=True)``); an unknown field is one of
    them, never an error.

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
