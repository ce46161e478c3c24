"""Configuration files and mappings: scheduler, logging, notifications and tasks.

JSON is always readable; YAML when PyYAML is importable (autocron-store
depends on it). Every problem is reported as a ``ConfigError`` naming the file,
the line and the field. Relative ``script:`` paths are read from the config
file's own folder, so a config works from any working directory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from ._readers import MAX_DOCUMENT_BYTES, Lines, read_json, read_yaml
from .errors import AutoCronError, ConfigError, ConfigFileNotFoundError, TaskError
from .task import SECRET_KEYS, Task, build_task

__all__ = [
    "STORE_OPTIONS",
    "TASK_KEYS",
    "TASK_KEY_ALIASES",
    "check_store_option",
    "is_reference",
    "load_config",
    "notification_defaults",
    "scheduler_from_config",
    "store_from_config",
    "task_kwargs_from_config",
    "tasks_from_config",
    "validate_config",
]

logger = logging.getLogger("autocron.config")

SECTIONS = ("version", "scheduler", "logging", "notifications", "store", "tasks")
SCHEDULER_KEYS = ("timezone", "max_workers", "store", "node_id", "use_os_scheduler", "celery_app")
LOGGING_KEYS = ("path", "level")
STORE_KEYS = ("url", "keep_runs", "keep_days", "prefix")
TASK_KEYS = (
    "name", "func", "script", "command", "every", "cron", "at", "schedule", "args", "kwargs", "retries",
    "retry_delay", "backoff", "max_retry_delay", "timeout", "notify", "notify_on", "email_config", "timezone",
    "overlap_policy", "max_instances", "misfire_grace_time", "coalesce", "jitter", "start_at", "end_at",
    "safe_mode", "max_memory_mb", "max_cpu_percent", "clean_env", "max_output_bytes",
    "tags", "cron_seconds",
    "after", "after_policy", "when", "pause_after_failures",  # issue 17: dependencies, conditions, pausing
    "task_id", "state", "anchor", "pause",
    "exclude", "business_days",  # issue 17: exclusion calendars
    "celery", "queue", "executor",  # executors (docs/celery.md)
)  # fmt: skip
#: Task keys the original AutoCron's config files used, and the key each means here.
TASK_KEY_ALIASES = {"email": "email_config"}


_Lines = Lines  # the older private name, read by autocron-store


def load_config(source: Any) -> tuple[dict[str, Any], str | None, _Lines]:
    """Read a config mapping or file; returns the mapping, its path and its line table.

    Raises:
        ConfigError: unreadable file, bad syntax, or not a mapping at the top;
            also a key repeated in one mapping, a list or mapping used as a
            key, nesting deeper than 64 levels, YAML aliases that expand the
            document by more than 100,000 values, or a file over 32 MB.
    """
    lines = _Lines()
    if isinstance(source, Mapping):
        return dict(source), None, lines
    path = os.fspath(source)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigFileNotFoundError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ConfigError(f"the file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB", path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", path=path) from None
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".json":
        data = read_json(text, path, lines)
    elif suffix in (".yaml", ".yml"):
        data = read_yaml(text, path, lines)
    else:
        raise ConfigError("expected a .yaml, .yml or .json file", path=path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"the top level must be a mapping, not {type(data).__name__}", path=path, line=1)
    return data, path, lines


def task_kwargs_from_config(
    entry: Mapping[str, Any], *, path: str | None = None, line: int | None = None, warn: bool = True
) -> dict[str, Any]:
    """Map a config task entry to ``add_task`` keywords.

    Besides every ``add_task`` key, an entry may give its schedule as one
    ``schedule:`` key whose kind is recognised from its text: ``"*/30 * * * *"``
    and ``"@daily"`` are cron, ``"5m"`` and ``"1h30m"`` are intervals. The
    original AutoCron's ``email:`` is read as ``email_config:``.

    Args:
        warn: log a warning for a literal secret in ``email_config`` (off when
            the same entry was already checked, so it is said once).

    Raises:
        ConfigError: not a mapping, an unknown key, a key given under both its
            old and its new name, or a doubled schedule.
    """
    from .schedules import looks_like_cron

    if not isinstance(entry, Mapping):
        raise ConfigError(f"a task entry must be a mapping, not {type(entry).__name__}", path=path, line=line)
    unknown = [k for k in entry if k not in TASK_KEYS and k not in TASK_KEY_ALIASES]
    if unknown:
        raise ConfigError(
            f"unknown task key {unknown[0]!r} (known: {', '.join(TASK_KEYS[:-4])})",
            path=path,
            line=line,
            field=str(unknown[0]),
        )
    options = dict(entry)
    for old, new in TASK_KEY_ALIASES.items():
        if old in options:
            if new in options:
                raise ConfigError(
                    f"give either {old}: (the original AutoCron's name) or {new}:, not both",
                    path=path,
                    line=line,
                    field=old,
                )
            options[new] = options.pop(old)
    text = options.pop("schedule", None)
    if text is not None:
        if any(options.get(k) is not None for k in ("every", "cron", "at")):
            raise ConfigError(
                "give either schedule: or one of every:/cron:/at:, not both",
                path=path,
                line=line,
                field="schedule",
            )
        options["cron" if isinstance(text, str) and looks_like_cron(text) else "every"] = text
    config = options.get("email_config")
    if warn and isinstance(config, Mapping):
        for key in SECRET_KEYS & set(config):
            logger.warning(
                "%s: task %r has a literal %s in email_config; use %s_env with an environment "
                "variable instead (it will not be saved)",
                path or "config",
                options.get("name"),
                key,
                key,
            )
    if path and isinstance(options.get("script"), str) and not os.path.isabs(options["script"]):
        options["script"] = os.path.join(os.path.dirname(os.path.abspath(path)), options["script"])
    return options


def tasks_from_config(
    data: Mapping[str, Any],
    path: str | None = None,
    lines: _Lines | None = None,
    *,
    timezone: Any = None,
    collect: list[ConfigError] | None = None,
    warn: bool = True,
) -> list[Task]:
    """Build the ``tasks:`` section's tasks.

    Args:
        collect: when given, problems are appended to it and the valid tasks
            returned; otherwise the first problem is raised.
        warn: warn about literal secrets (see ``task_kwargs_from_config``).
    """
    lines = lines or _Lines()
    entries = data.get("tasks") or []
    if not isinstance(entries, list):
        error = ConfigError(
            "tasks: must be a list of task entries", path=path, line=lines.line(data, "tasks"), field="tasks"
        )
        if collect is None:
            raise error
        collect.append(error)
        return []
    tasks: list[Task] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        line = lines.line(entry)
        try:
            options = task_kwargs_from_config(entry, path=path, line=line, warn=warn)
            options.setdefault("timezone", timezone)
            state = options.pop("state", None)
            _check_state(state, options.get("anchor"), path, lines.line(entry, "state") or line)
            if state is not None or "task_id" in options or "anchor" in options or "pause" in options:
                task = Task.from_dict({**options, **({"state": state} if state else {})})
            else:
                task = build_task(**options)
            if task.name in names:
                raise ConfigError(
                    f"task name {task.name!r} is used twice", path=path, line=line, field="name"
                )
            names.add(task.name)
            tasks.append(task)
        except ConfigError as exc:
            if collect is None:
                raise
            collect.append(exc)
        except (AutoCronError, TypeError, ValueError, OverflowError) as exc:
            field = getattr(exc, "field", None)
            where = lines.line(entry, field) if field and isinstance(entry, Mapping) else line
            label = entry.get("name", f"#{index + 1}") if isinstance(entry, Mapping) else f"#{index + 1}"
            error = ConfigError(f"task {label!r}: {exc}", path=path, line=where, field=field)
            if collect is None:
                raise error from None
            collect.append(error)
    return tasks


_STATE_KEYS = ("next_run", "last_run", "run_count", "fail_count", "paused", "last_status")
_STATUSES = ("succeeded", "failed", "timed_out", "skipped", "missed", "abandoned", "running", "cancelled")


def _moment_problem(value: Any) -> str | None:
    """Why ``value`` is not an aware ISO 8601 time a task can hold (``None`` when it is)."""
    import datetime as _dt

    from .schedules import from_utc_us, to_utc_us

    if not isinstance(value, str):
        return "an ISO 8601 time with a UTC offset"
    try:
        moment = _dt.datetime.fromisoformat(value)
    except ValueError:
        return "an ISO 8601 time with a UTC offset"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return "an ISO 8601 time with a UTC offset"
    try:
        from_utc_us(to_utc_us(moment))  # 9999-12-31T23:00-05:00 is beyond year 9999 in UTC
    except OverflowError:
        return "a time up to 9999-12-31 in UTC"
    return None


def _check_state(state: Any, anchor: Any, path: str | None, line: int | None) -> None:
    """Refuse a task entry's ``state:`` or ``anchor:`` that ``Task.from_dict`` could not read.

    Task files carry both; a hand edit or a corrupt copy must name the field,
    not fail deep inside with a bare ``ValueError``.

    Raises:
        ConfigError: naming ``state.<key>`` or ``anchor``, its value and what was expected.
    """

    def fail(field: str, value: Any, expected: str) -> ConfigError:
        return ConfigError(f"{field}={value!r}: expected {expected}", path=path, line=line, field=field)

    if anchor is not None:
        problem = _moment_problem(anchor)
        if problem:
            raise fail("anchor", anchor, problem)
    if state is None:
        return
    if not isinstance(state, Mapping):
        raise fail("state", state, f"a mapping of {', '.join(_STATE_KEYS)}")
    for key, value in state.items():
        field = f"state.{key}"
        if key not in _STATE_KEYS:
            raise fail(field, value, f"one of the keys {', '.join(_STATE_KEYS)}")
        if value is None:
            continue
        if key in ("next_run", "last_run"):
            problem = _moment_problem(value)
            if problem:
                raise fail(field, value, problem)
        elif key in ("run_count", "fail_count"):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                raise fail(field, value, "a whole number of at least 0")
        elif key == "paused" and not isinstance(value, bool):
            raise fail(field, value, "true or false")
        elif key == "last_status" and value not in _STATUSES:
            raise fail(field, value, f"one of {', '.join(_STATUSES)}")


def _default_names(value: Any) -> list[str] | None:
    """``notifications.default`` as a list of channel names, or ``None`` when it is not one."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return names


def notification_defaults(section: Mapping[str, Any]) -> tuple[list[str] | None, dict[str, Any]]:
    """Split a valid ``notifications`` section into default channels and channel settings.

    The default channels are those listed in ``default`` followed by every
    channel set to ``true`` (the original AutoCron's ``desktop: true``); a
    channel set to ``false`` is simply not a default. Defaults only apply to
    tasks that name no channel of their own: a task's ``notify`` replaces them.

    Returns:
        The default channel names (``None`` when there are none) and the
        remaining settings (``remind_every`` and one mapping per channel).
    """
    names = list(_default_names(section.get("default")) or [])
    names += [str(k) for k, v in section.items() if v is True and k not in names]
    settings = {k: v for k, v in section.items() if k != "default" and not isinstance(v, bool)}
    return names or None, settings


def _notification_problems(section: Any, path: str | None, lines: _Lines, data: Any) -> list[ConfigError]:
    """Check the notifications section: ``default`` channels, ``remind_every``, one mapping
    (or ``true``/``false``, the original AutoCron's switches) per channel."""
    if section is None:
        return []
    if not isinstance(section, Mapping):
        return [
            ConfigError(
                "notifications: must be a mapping of channel settings",
                path=path,
                line=lines.line(data, "notifications"),
                field="notifications",
            )
        ]
    problems = []
    for key, value in section.items():
        line = lines.line(section, key)
        if key == "default":
            if _default_names(value) is None:
                problems.append(
                    ConfigError(
                        "notifications.default: expected a channel name or a list of them",
                        path=path,
                        line=line,
                        field="default",
                    )
                )
        elif key in ("remind_every", "send_timeout"):
            from .schedules import parse_interval

            try:
                if value != 0 or key == "send_timeout":
                    parse_interval(value, field=key)
            except AutoCronError as exc:
                problems.append(ConfigError(f"notifications.{exc}", path=path, line=line, field=key))
        elif value is False and key in (_default_names(section.get("default")) or ()):
            problems.append(
                ConfigError(
                    f"notifications.{key}=false: the channel is also listed in notifications.default",
                    path=path,
                    line=line,
                    field=str(key),
                )
            )
        elif not isinstance(value, (Mapping, bool)):
            problems.append(
                ConfigError(
                    f"notifications.{key}={value!r}: expected a mapping of that channel's settings, "
                    "or true/false to make it a default channel or not",
                    path=path,
                    line=line,
                    field=str(key),
                )
            )
    return problems


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _logging_problems(log: Mapping[str, Any], path: str | None, lines: _Lines) -> list[ConfigError]:
    """Check the logging section: known keys, a level name or number, a path string."""
    problems = []
    for key, value in log.items():
        line = lines.line(log, key)
        if key not in LOGGING_KEYS:
            problems.append(
                ConfigError(
                    f"unknown logging key {key!r} (known: {', '.join(LOGGING_KEYS)})",
                    path=path,
                    line=line,
                    field=key,
                )
            )
        elif key == "level" and value is not None:
            named = isinstance(value, str) and value.strip().upper() in _LEVELS
            if not named and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                problems.append(
                    ConfigError(
                        f"logging.level={value!r}: expected one of {', '.join(_LEVELS)}",
                        path=path,
                        line=line,
                        field="level",
                    )
                )
        elif key == "path" and value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(
                ConfigError(
                    f"logging.path={value!r}: expected the path of a log file",
                    path=path,
                    line=line,
                    field="path",
                )
            )
    return problems


def _log_path(value: str | None, path: str | None) -> str | None:
    """The log file, a relative one read from the config file's folder (like scripts)."""
    if value is None:
        return None
    value = os.path.expanduser(value)
    if path and not os.path.isabs(value):
        value = os.path.join(os.path.dirname(os.path.abspath(path)), value)
    return value


def is_reference(text: str) -> bool:
    """Whether ``text`` reads as ``"package.module:attribute"`` (dotted identifiers on both sides),
    the form of ``celery_app:`` and ``--celery-app``."""
    module, sep, attr = text.partition(":")
    parts = [*module.split("."), *attr.split(".")]
    return bool(sep) and all(part.isidentifier() for part in parts)


def validate_config(source: Any) -> list[ConfigError]:
    """Every problem in a config file or mapping (an empty list when it is valid)."""
    problems: list[ConfigError] = []
    try:
        data, path, lines = load_config(source)
    except ConfigError as exc:
        return [exc]
    for key in data:
        if key not in SECTIONS:
            problems.append(
                ConfigError(
                    f"unknown section {key!r} (known: {', '.join(SECTIONS)})",
                    path=path,
                    line=lines.line(data, key),
                    field=key,
                )
            )
    scheduler = data.get("scheduler") or {}
    if not isinstance(scheduler, Mapping):
        problems.append(
            ConfigError("scheduler: must be a mapping", path=path, line=lines.line(data, "scheduler"))
        )
        scheduler = {}
    for key in scheduler:
        if key not in SCHEDULER_KEYS:
            problems.append(
                ConfigError(
                    f"unknown scheduler key {key!r} (known: {', '.join(SCHEDULER_KEYS)})",
                    path=path,
                    line=lines.line(scheduler, key),
                    field=key,
                )
            )
    try:
        from .timezones import resolve_timezone

        tz = resolve_timezone(scheduler.get("timezone"))
    except AutoCronError as exc:
        problems.append(
            ConfigError(str(exc), path=path, line=lines.line(scheduler, "timezone"), field="timezone")
        )
        tz = None
    app = scheduler.get("celery_app")
    if app is not None and (not isinstance(app, str) or not is_reference(app)):
        problems.append(
            ConfigError(
                f'celery_app: {app!r} is not a "module:attribute" reference such as "proj.celery:app"',
                path=path,
                line=lines.line(scheduler, "celery_app"),
                field="celery_app",
            )
        )
    problems.extend(_notification_problems(data.get("notifications"), path, lines, data))
    if "store" in data or "store" in scheduler:
        try:
            store_from_config(
                scheduler.get("store", data.get("store")), path=path, line=lines.line(data, "store")
            )
        except ConfigError as exc:
            problems.append(exc)
    log = data.get("logging")
    if log is not None and not isinstance(log, Mapping):
        problems.append(
            ConfigError(
                "logging: must be a mapping", path=path, line=lines.line(data, "logging"), field="logging"
            )
        )
    elif isinstance(log, Mapping):
        problems.extend(_logging_problems(log, path, lines))
    built = tasks_from_config(data, path, lines, timezone=tz, collect=problems)
    from ._dependencies import cycle_path

    edges = {task.name: task.flow.after if task.flow is not None else () for task in built}
    for task in built:  # one report per cycle: from its first task in the file
        found = cycle_path(edges, task.name)
        if found is not None and task.name == next(t.name for t in built if t.name in found):
            problems.append(
                ConfigError(
                    f"task {task.name!r}: after= makes a cycle of dependencies ({' -> '.join(found)})",
                    path=path,
                    field="after",
                )
            )
    return problems


#: Options a store URL's query may carry, with what each must be.
STORE_OPTIONS = {
    "keep_runs": "a whole number of runs (0 keeps all)",
    "keep_days": "a number of days (0 keeps all)",
    "busy_timeout": "a whole number of milliseconds",
    "lease": "a number of seconds above 0",
    "prefix": "letters, digits and _ for a table name prefix",
}


def check_store_option(key: str, value: Any) -> Any:
    """One store option as the store uses it: from a URL query (text) or a config (a number).

    ``keep_runs`` and ``busy_timeout`` become ``int``, ``keep_days`` and
    ``lease`` ``float``, ``prefix`` stays text.

    Raises:
        ConfigError: naming the option, its value and what was expected.
    """
    import math

    expected = STORE_OPTIONS.get(key)
    if expected is None:
        raise ConfigError(f"unknown store option {key!r} (known: {', '.join(STORE_OPTIONS)})", field=key)
    error = ConfigError(f"{key}={value!r}: expected {expected}", field=key)
    if key == "prefix":
        if (
            not isinstance(value, str)
            or len(value) > 32
            or not all(c.isascii() and (c.isalnum() or c == "_") for c in value)
        ):
            raise error
        return value
    if isinstance(value, bool):
        raise error
    if key in ("keep_runs", "busy_timeout"):
        if isinstance(value, str):
            text = value.strip()
            if not (text.isascii() and text.isdigit()):
                raise error
            value = int(text)
        if not isinstance(value, int) or not 0 <= value < 2**31:
            raise error
        return value
    try:
        number = float(value) if isinstance(value, (str, int, float)) else math.nan
    except (ValueError, OverflowError):
        raise error from None
    if not math.isfinite(number) or number < 0 or (key == "lease" and number == 0) or number > 1e9:
        raise error
    return number


def store_from_config(value: Any, *, path: str | None = None, line: int | None = None) -> Any:
    """The ``store:`` section as ``AutoCron(store=...)`` takes it.

    A string is a URL or path; a mapping has ``url`` plus the store's options
    (``keep_runs``, ``keep_days``, ``prefix``), which are appended to the URL's
    query. A relative SQLite or task-file path is read from the config's folder.

    Raises:
        ConfigError: neither a string nor a mapping with ``url``.
    """
    if value is None:
        return None
    options: dict[str, Any] = {}
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in STORE_KEYS]
        if unknown:
            raise ConfigError(
                f"unknown store key {unknown[0]!r} (known: {', '.join(STORE_KEYS)})",
                path=path,
                line=line,
                field=str(unknown[0]),
            )
        options = {k: v for k, v in value.items() if k != "url" and v is not None}
        for key, option in options.items():
            try:
                check_store_option(key, option)
            except ConfigError as exc:
                raise ConfigError(f"store.{exc.reason}", path=path, line=line, field=key) from None
        value = value.get("url")
    if not isinstance(value, str) or not value:
        raise ConfigError(
            "store: expected a URL or path, or a mapping with url:", path=path, line=line, field="store"
        )
    _check_url_options(value, path, line)
    if path and "://" not in value and not os.path.isabs(os.path.expanduser(value)):
        value = os.path.join(os.path.dirname(os.path.abspath(path)), value)
    elif path and value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        relative = value[len("sqlite:///") :]
        if relative and not relative.startswith(":"):
            value = "sqlite:///" + os.path.join(os.path.dirname(os.path.abspath(path)), relative)
    if options:
        from urllib.parse import urlencode

        if "://" not in value:
            value = f"sqlite:///{value}" if not value.lower().endswith((".yaml", ".yml", ".json")) else value
        value += ("&" if "?" in value else "?") + urlencode(options)
    return value


def _check_url_options(url: str, path: str | None, line: int | None) -> None:
    """Check the store options in a URL's query (``?keep_runs=lots`` is refused here, not at start)."""
    from urllib.parse import parse_qsl, urlsplit

    if "?" not in url:
        return
    query = urlsplit(url).query if "://" in url else url.split("?", 1)[1]
    for key, option in parse_qsl(query, keep_blank_values=True):
        if key in STORE_OPTIONS:
            try:
                check_store_option(key, option)
            except ConfigError as exc:
                raise ConfigError(f"store: {exc.reason}", path=path, line=line, field=key) from None


def _warn_literal_secrets(section: Any, where: str, path: str | None) -> None:
    if isinstance(section, Mapping):
        for key, item in section.items():
            if key in SECRET_KEYS:
                logger.warning(
                    "%s: %s has a literal %s; use %s_env naming an environment variable instead "
                    "(it is never written back)",
                    path or "config",
                    where,
                    key,
                    key,
                )
            else:
                _warn_literal_secrets(item, f"{where}.{key}", path)


def scheduler_from_config(cls: Any, source: Any, **overrides: Any) -> Any:
    """Build ``cls`` (``AutoCron``) from a config and add its tasks."""
    problems = validate_config(source)
    if problems:
        raise problems[0]
    data, path, lines = load_config(source)
    scheduler = dict(data.get("scheduler") or {})
    if "store" in data and "store" not in scheduler:
        scheduler["store"] = data["store"]
    if "store" in scheduler:
        scheduler["store"] = store_from_config(scheduler["store"], path=path, line=lines.line(data, "store"))
    _warn_literal_secrets(data.get("notifications"), "notifications", path)
    log = data.get("logging") or {}
    defaults, notifications = notification_defaults(data.get("notifications") or {})
    kwargs: dict[str, Any] = {k: scheduler[k] for k in SCHEDULER_KEYS if k in scheduler}
    if log:
        kwargs["log_path"] = _log_path(log.get("path"), path)
        level = log.get("level") or "INFO"
        kwargs["log_level"] = level.strip().upper() if isinstance(level, str) else level
    kwargs.update(notify=defaults, notifications=notifications)
    kwargs.update(overrides)
    instance = cls(**kwargs)
    # validate_config above already warned about literal secrets.
    from ._dependencies import cycle_path, upstream_first

    tasks = upstream_first(tasks_from_config(data, path, lines, timezone=instance.timezone, warn=False))
    edges = {task.name: task.flow.after if task.flow is not None else () for task in tasks}
    for task in tasks:  # a cycle within the file is named as one, not as a missing task
        found = cycle_path(edges, task.name)
        if found is not None:
            raise ConfigError(
                f"task {task.name!r}: after= makes a cycle of dependencies ({' -> '.join(found)})",
                path=path,
                field="after",
            )
    stored = {task.name: instance.get_task(name=task.name) for task in tasks}
    for task in reversed(tasks):  # dependants first: a task others wait for cannot go before them
        if stored[task.name] is not None:
            instance.remove_task(name=task.name)
    for task in tasks:
        existing = stored[task.name]
        if existing is not None:  # a persistent store already holds it: the file's definition wins
            task.run_count, task.fail_count = existing.run_count, existing.fail_count
            task.last_run_us, task.last_status = existing.last_run_us, existing.last_status
        try:
            instance.add(task)
        except TaskError as exc:
            if exc.field != "after":
                raise
            raise ConfigError(f"task {task.name!r}: {exc}", path=path, field="after") from None
    return instance
