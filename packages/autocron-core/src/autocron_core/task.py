"""``Task``: what to run, when, and with which policies, plus its runtime state.

Subclass ``Task`` and override ``execute()`` to make a custom task type: the
scheduler calls ``execute()`` inside its retry, timeout and overlap machinery.
"""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import os
import sys
import types
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from ._options import TaskOptions
from ._pausenote import PauseState, apply_pause_block, pause_block
from ._seed_attrs import SeedAttributes
from .errors import ScheduleError, TaskError
from .policy import NOTIFY_ON, Policy, make_policy
from .schedules import _LATEST_US, At, Interval, Schedule, from_utc_us, parse_schedule, to_utc_us
from .timezones import UTC, resolve_timezone, zone_name

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from ._executors import Route
    from ._flow import Flow

__all__ = [
    "SECRET_KEYS",
    "Task",
    "build_task",
    "func_reference",
    "name_problem",
    "resolve_func",
    "sanitize_task_name",
]

MAX_NAME = 200
_NOTIFY_ON_DEFAULT = ("failure", "recovery")
#: Keys never written to a file, a database or a log (their ``*_env`` form names a variable instead).
SECRET_KEYS = frozenset({"password", "token", "secret", "api_key", "smtp_password"})
_KINDS = ("func", "script", "command", "celery")  # celery: a task name sent to Celery workers


def sanitize_task_name(name: str) -> str:
    """A safe identifier derived from a task name: letters, digits, ``_`` and ``-`` only.

    OS adapters use it for file and unit names; the task name itself may hold
    any printable text.
    """
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
    return cleaned.strip("_") or "task"


_CONTROL = frozenset(map(chr, [*range(0x20), 0x7F]))  # a set, not a regex: re costs import time
# Task ids: a random prefix per process (renewed in a forked child) and a counter.
# As unique as a UUID for our purpose, and a fraction of its cost on the add path.
_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


def _new_process_ids() -> None:
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX = os.urandom(6).hex()
    _ID_COUNTER = itertools.count(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_process_ids)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a task name (the one rule core and every OS adapter share), or ``None``.

    Refused: control characters (C0, DEL and C1, category ``Cc``), surrogates
    (``Cs``), the noncharacters U+FDD0-U+FDEF and U+nFFFE/U+nFFFF, and the line
    and paragraph separators U+2028/U+2029. Such names cannot be written into a
    crontab line, a unit file or an XML plist as inert text. Private-use and
    not yet assigned characters are allowed: they are valid text everywhere.
    """
    if not _CONTROL.isdisjoint(name):
        return "no control characters (newlines, tabs, escapes)"
    if name.isascii():  # the common case costs one C-level scan
        return None
    import unicodedata  # only for non-ASCII names; a C module, cheap to import

    for char in name:
        code = ord(char)
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp"):
            return f"no control characters, surrogates or line separators (found U+{code:04X})"
        if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
            return f"no Unicode noncharacters (found U+{code:04X})"
    return None


def _check_name(name: Any) -> str:
    # The common name, printable ASCII without edge spaces, costs three C-level scans.
    if (type(name) is str and name.isascii() and name.isprintable() and 0 < len(name) <= MAX_NAME
            and name[0] != " " and name[-1] != " "):  # fmt: skip
        return name
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise TaskError("name", name, f"a string of 1 to {MAX_NAME} characters")
    problem = name_problem(name)
    if problem is not None:
        raise TaskError("name", name, problem)
    if name != name.strip():
        raise TaskError("name", name, "no leading or trailing spaces")
    return name


def func_reference(func: Callable[..., Any]) -> str | None:
    """``"module:qualname"`` when ``func`` can be imported back by that name, else ``None``."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        return f"{module}:{qualname}" if resolve_func(f"{module}:{qualname}") is func else None
    except TaskError:
        return None


def resolve_func(reference: str, field: str = "func") -> Callable[..., Any]:
    """Import ``"package.module:qualname"`` and return the callable.

    Raises:
        TaskError: the reference is malformed, or nothing callable is there.
    """
    module_name, sep, qualname = reference.partition(":")
    if not sep or not module_name or not qualname:
        raise TaskError(field, reference, 'a function reference "package.module:function"')
    import importlib

    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise TaskError(field, reference, "an importable function", detail=str(exc)) from None
    if not callable(target):
        raise TaskError(field, reference, "a callable")
    return target  # type: ignore[no-any-return]


def _moment(field: str, value: Any, tz: _dt.tzinfo) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise TaskError(field, value, "an ISO 8601 date and time") from None
    if not isinstance(value, _dt.datetime):
        raise TaskError(field, value, "a datetime or an ISO 8601 string")
    moment = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    try:
        to_utc_us(moment)  # next-fire arithmetic reads it in UTC: it must exist there
    except OverflowError:
        raise TaskError(field, value, "a time that exists in UTC (from year 1 to 9999)") from None
    return moment


def _channels(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or hasattr(value, "notify"):
        return (value,)
    if isinstance(value, Iterable):
        items = tuple(value)
        for item in items:
            if not isinstance(item, str) and not hasattr(item, "notify"):
                raise TaskError("notify", value, "channel names or objects with a notify() method")
        return items
    raise TaskError("notify", value, 'a channel name such as "email", a list of them, or a notifier object')


_DEFAULT_OPTIONS = TaskOptions()

_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE
# The last function asked about and the answer, as one tuple so threads swap it whole.
_async_memo: tuple[Any, bool] = (None, False)


def _is_coroutine_function(func: Any) -> bool:
    """``inspect.iscoroutinefunction``, remembering the last answer (tasks made in
    bulk often share one function) and without importing ``inspect``.

    Importing inspect costs about 30 ms, which would land on the first run. When
    it is already imported, it answers (it also knows
    ``inspect.markcoroutinefunction``, which only code that imported it can use).
    """
    global _async_memo
    last = _async_memo
    if last[0] is func:
        return last[1]
    inspect = sys.modules.get("inspect")
    if inspect is not None:
        answer = bool(inspect.iscoroutinefunction(func))
    else:  # the same test inspect makes: unwrap methods and partials, read the code flags
        target = func
        while True:
            target = getattr(target, "__func__", target)
            if isinstance(target, functools.partial):
                target = target.func
            else:
                break
        code = getattr(target, "__code__", None) if isinstance(target, types.FunctionType) else None
        answer = code is not None and bool(code.co_flags & _CO_COROUTINE)
    _async_memo = (func, answer)
    return answer


class Task(SeedAttributes):
    """A scheduled task: its definition and its runtime state.

    Build tasks with ``AutoCron.add_task`` or ``build_task``, which validate
    every option. Times are kept as integer microseconds since the epoch so that
    every node computes identical occurrences; the properties give datetimes.
    The rarely-changed options (``args``, ``kwargs``, ``start_at``, ``end_at``,
    ``tags``, ``notify``, ``notify_on``, ``email_config``, ``on_success``,
    ``on_failure``, ``func_ref``) are read-only attributes backed by ``options``.
    """

    __slots__ = (
        "_async", "_backlog", "_gen", "_pause", "fail_count", "failing", "flow", "kind", "last_run_us",
        "last_status", "name", "next_run_us", "options", "paused", "policy", "route", "run_count", "running",
        "schedule", "target", "task_id", "timezone",
    )  # fmt: skip
    #: Where the task's attempts run when not in this process (``_executors.Route``), or ``None``.
    route: Route | None

    def __init__(
        self,
        name: str,
        kind: str,
        target: Any,
        schedule: Schedule,
        policy: Policy,
        timezone: _dt.tzinfo = UTC,
        options: TaskOptions = _DEFAULT_OPTIONS,
        task_id: str | None = None,
        flow: Flow | None = None,
    ) -> None:
        self.task_id = task_id or f"{_ID_PREFIX}{next(_ID_COUNTER):x}"
        self.name = name
        self.kind = kind
        self.target = target
        self.schedule = schedule
        self.timezone = timezone
        self.policy = policy
        self.options = options
        self.next_run_us: int | None = None
        self.last_run_us: int | None = None
        self.run_count = 0
        self.fail_count = 0
        self.paused = False
        self.last_status: str | None = None
        self.failing = False
        self.running = 0
        self._gen = 0
        # (occurrence, attempt) or, for a run not started by the schedule, (occurrence, attempt, trigger)
        self._backlog: deque[tuple[int, int] | tuple[int, int, str]] | None = None
        #: ``after=``, ``when=`` and ``pause_after_failures=`` (see ``_flow``), or ``None``.
        self.flow = flow
        # The pause note, who paused, when, and the last resume: rarely set, so one
        # slot holds them all (``None`` until one is set; memory per task counts).
        self._pause: PauseState | None = None
        self.route = None
        # Decided here, once: the engine asks on every run, the first one included.
        cls = type(self)
        self._async = (
            _is_coroutine_function(cls.execute)
            if cls.execute is not Task.execute
            else kind == "func" and not options.safe_mode and _is_coroutine_function(target)
        )  # a safe-mode coroutine runs to its end in the child: the worker waits for the child

    # -- options --------------------------------------------------------------
    @property
    def args(self) -> tuple[Any, ...]:
        """Positional arguments for a function, or extra arguments for a script."""
        return self.options.args

    @property
    def kwargs(self) -> dict[str, Any] | None:
        """Keyword arguments for a function."""
        return self.options.kwargs

    @property
    def func_ref(self) -> str | None:
        """The ``"module:qualname"`` a function task was given as, if any."""
        return self.options.func_ref

    @property
    def start_at(self) -> _dt.datetime | None:
        """No occurrence before this moment."""
        return self.options.start_at

    @property
    def end_at(self) -> _dt.datetime | None:
        """No occurrence after this moment."""
        return self.options.end_at

    @property
    def tags(self) -> tuple[str, ...]:
        """The task's tags."""
        return self.options.tags

    @property
    def notify(self) -> tuple[Any, ...]:
        """Notification channels: names or notifier objects."""
        return self.options.notify

    @property
    def notify_on(self) -> frozenset[str]:
        """Which outcomes notify: failure, success, retry, recovery, missed."""
        return self.options.notify_on

    @property
    def email_config(self) -> Mapping[str, Any] | None:
        """Email settings for this task's ``email`` channel."""
        return self.options.email_config

    @property
    def on_success(self) -> Callable[..., Any] | None:
        """Called after each successful occurrence: ``on_success()``, or with the
        run's Event when its first parameter is named ``event`` or annotated ``Event``."""
        return self.options.on_success

    @property
    def on_failure(self) -> Callable[..., Any] | None:
        """Called after each failed occurrence's final attempt: ``on_failure(exc)`` with
        the final exception, or with the run's Event when it declares one (as ``on_success``)."""
        return self.options.on_failure

    @property
    def safe_mode(self) -> bool:
        """Whether a function task runs in a child process (no effect on scripts and commands)."""
        return self.options.safe_mode

    @property
    def max_memory_mb(self) -> int | None:
        """The child process's address-space limit in MiB (RLIMIT_AS), or ``None``."""
        return self.options.max_memory_mb

    @property
    def clean_env(self) -> bool:
        """Whether the child process gets a minimal environment."""
        return self.options.clean_env

    @property
    def max_output_bytes(self) -> int | None:
        """How many bytes of a script's or command's output tail a run record keeps
        (``None``: the default, 8 KiB)."""
        return self.options.max_output_bytes

    @property
    def max_cpu_percent(self) -> float | None:
        """The child's CPU-time budget as a share of the timeout (RLIMIT_CPU), or ``None``."""
        return self.options.max_cpu_percent

    # -- state as datetimes -------------------------------------------------
    @property
    def next_run(self) -> _dt.datetime | None:
        """When the task fires next (in its time zone), or ``None``."""
        return None if self.next_run_us is None else from_utc_us(self.next_run_us, self.timezone)

    @property
    def last_run(self) -> _dt.datetime | None:
        """The occurrence that last started, or ``None``."""
        return None if self.last_run_us is None else from_utc_us(self.last_run_us, self.timezone)

    # -- pause notes (see _pausenote) ----------------------------------------
    def _pause_state(self) -> PauseState:
        if self._pause is None:
            self._pause = PauseState()
        return self._pause

    @property
    def pause_note(self) -> str | None:
        """Why the task was paused, or ``None``."""
        return None if self._pause is None else self._pause.note

    @pause_note.setter
    def pause_note(self, value: str | None) -> None:
        if value is not None or self._pause is not None:
            self._pause_state().note = value

    @property
    def paused_by(self) -> str | None:
        """Who paused the task (``autocron`` for a pause after failures), or ``None``."""
        return None if self._pause is None else self._pause.by

    @paused_by.setter
    def paused_by(self, value: str | None) -> None:
        if value is not None or self._pause is not None:
            self._pause_state().by = value

    @property
    def paused_at(self) -> _dt.datetime | None:
        """When the task was paused, or ``None``."""
        return None if self._pause is None else self._pause.at

    @paused_at.setter
    def paused_at(self, value: _dt.datetime | None) -> None:
        if value is not None or self._pause is not None:
            self._pause_state().at = value

    @property
    def resumed_at(self) -> _dt.datetime | None:
        """The last ``resume_task``: failures before it do not count toward ``pause_after_failures``."""
        return None if self._pause is None else self._pause.resumed_at

    @resumed_at.setter
    def resumed_at(self, value: _dt.datetime | None) -> None:
        if value is not None or self._pause is not None:
            self._pause_state().resumed_at = value

    @property
    def is_async(self) -> bool:
        """Whether ``execute()`` returns an awaitable (runs on the event-loop thread)."""
        return self._async

    # -- scheduling ---------------------------------------------------------
    def next_fire_after_us(self, moment_us: int) -> int | None:
        """The first occurrence strictly after ``moment_us`` within ``start_at``/``end_at``."""
        schedule = self.schedule
        options = self.options
        if options.start_at is not None:
            moment_us = max(moment_us, to_utc_us(options.start_at) - 1)
        if isinstance(schedule, Interval):
            nxt: int | None = schedule.next_after_us(moment_us)
        elif isinstance(schedule, At):
            nxt = schedule.when_us if schedule.when_us > moment_us else None
        else:
            try:
                found = schedule.next_after(from_utc_us(moment_us))
                nxt = None if found is None else to_utc_us(found)
            except OverflowError:  # its next occurrence is past year 9999: it has none
                return None
        if nxt is not None and (
            nxt > _LATEST_US or (options.end_at is not None and nxt > to_utc_us(options.end_at))
        ):
            return None
        return nxt

    # -- running ------------------------------------------------------------
    def execute(self) -> Any:
        """Run the target once, in the calling thread, and return its result.

        For a script or command the result is its output tail; a non-zero exit
        raises ``CommandFailedError``. An async function returns a coroutine,
        which the scheduler awaits on its event-loop thread.
        """
        options = self.options
        if self.kind == "celery":  # only an executor can run it (see _executors.py)
            raise TaskError("celery", self.target, "a scheduler with a Celery app (AutoCron(celery_app=...))")
        if self.kind == "func":
            if options is _DEFAULT_OPTIONS:  # most tasks: no arguments, no option to look at
                return self.target()
            if options.safe_mode:
                from ._isolation import run_isolated

                ref = options.func_ref or ""  # set by build_task for every safe-mode function
                return run_isolated(ref, options, self.policy.timeout, self.name)
            if options.kwargs:
                return self.target(*options.args, **options.kwargs)
            return self.target(*options.args)
        from ._process import run_argv

        if self.kind == "script":
            argv = [sys.executable, self.target, *map(str, self.args)]
            cwd: str | None = os.path.dirname(self.target)
            label = os.path.basename(self.target)
        else:
            argv, cwd, label = list(self.target), None, os.path.basename(self.target[0])
        if options is _DEFAULT_OPTIONS or not (
            options.clean_env
            or options.max_output_bytes is not None
            or options.max_memory_mb is not None
            or options.max_cpu_percent is not None
        ):
            return run_argv(argv, cwd=cwd, label=label)
        from ._limits import child_argv, clean_environment
        from ._process import OUTPUT_TAIL_BYTES

        return run_argv(
            child_argv(argv, options, self.policy.timeout),
            cwd=cwd,
            label=label,
            env=clean_environment() if options.clean_env else None,
            tail_bytes=options.max_output_bytes or OUTPUT_TAIL_BYTES,
        )

    # -- persistence --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The task as ``add_task`` keywords plus its id and state, JSON/YAML-ready.

        Raises:
            TaskError: a function target that cannot be imported by name, or
                callbacks (which cannot be persisted).
        """
        data: dict[str, Any] = {"task_id": self.task_id, "name": self.name}
        if self.kind == "func":
            ref = self.func_ref or func_reference(self.target)
            if ref is None:
                raise TaskError(
                    "func", self.target, 'a module-level function importable as "module:qualname"'
                )
            data["func"] = ref
        elif self.kind == "script":
            data["script"] = self.target
        elif self.kind == "celery":
            data["celery"] = self.target
        else:
            data["command"] = list(self.target)
        if self.route is not None:
            data.update(self.route.to_config())
        if self.args:
            data["args"] = list(self.args)
        if self.kwargs:
            data["kwargs"] = dict(self.kwargs)
        data.update(self.schedule.to_config())
        interval = self.schedule if isinstance(self.schedule, Interval) else _interval_of(self.schedule)
        if interval is not None and interval.anchor is not None:
            data["anchor"] = interval.anchor.isoformat()
        data.setdefault("timezone", zone_name(self.timezone))
        policy = self.policy
        for field in Policy._fields:
            value = getattr(policy, field)
            if value != getattr(_DEFAULT_POLICY, field):
                data[field] = value
        for field in ("start_at", "end_at"):
            moment = getattr(self, field)
            if moment is not None:
                data[field] = moment.isoformat()
        if self.tags:
            data["tags"] = list(self.tags)
        names = [c for c in self.notify if isinstance(c, str)]
        if names:
            data["notify"] = names
        if self.notify_on != _DEFAULT_NOTIFY_ON:
            data["notify_on"] = sorted(self.notify_on)
        if self.email_config:
            data["email_config"] = {k: v for k, v in self.email_config.items() if k not in SECRET_KEYS}
        options = self.options
        for field in _LIMIT_FIELDS:  # written only when set, as the other options
            value = getattr(options, field)
            if value is not None and value is not False:
                data[field] = value
        if self.flow is not None:
            data.update(self.flow.to_config(self.name))
        pause = pause_block(self)
        if pause:
            data["pause"] = pause
        data["state"] = {
            "next_run": None if self.next_run_us is None else from_utc_us(self.next_run_us).isoformat(),
            "last_run": None if self.last_run_us is None else from_utc_us(self.last_run_us).isoformat(),
            "run_count": self.run_count,
            "fail_count": self.fail_count,
            "paused": self.paused,
            "last_status": self.last_status,
        }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, default_timezone: Any = None) -> Task:
        """Rebuild a task from ``to_dict`` output (or a config file's task entry).

        Raises:
            TaskError, ScheduleError: an option is not valid.
        """
        options = dict(data)
        state = options.pop("state", None) or {}
        anchor = options.pop("anchor", None)
        task_id = options.pop("task_id", None)
        pause = options.pop("pause", None)
        options.setdefault("timezone", default_timezone)
        task = build_task(task_id=task_id, **options)
        if pause:
            apply_pause_block(task, pause)
        interval = _interval_of(task.schedule) if anchor else None
        if anchor and interval is not None:
            from .exclusions import with_interval

            task.schedule = with_interval(
                task.schedule, interval.anchored(_dt.datetime.fromisoformat(anchor))
            )
        for field in ("next_run", "last_run"):
            raw = state.get(field)
            setattr(task, f"{field}_us", to_utc_us(_dt.datetime.fromisoformat(raw)) if raw else None)
        task.run_count = int(state.get("run_count", 0))
        task.fail_count = int(state.get("fail_count", 0))
        task.paused = bool(state.get("paused", False))
        task.last_status = state.get("last_status")
        task.failing = task.last_status in ("failed", "timed_out")
        return task

    def __repr__(self) -> str:
        return f"<Task {self.name!r} {self.schedule.describe()} next={self.next_run}>"


_DEFAULT_POLICY = make_policy()


def _interval_of(schedule: Schedule) -> Interval | None:
    """The interval of a schedule, bare or under an exclusion calendar."""
    if isinstance(schedule, Interval):
        return schedule
    if schedule.kind == "excluding":
        from .exclusions import interval_of

        return interval_of(schedule)
    return None


_LIMIT_FIELDS = ("safe_mode", "max_memory_mb", "clean_env", "max_output_bytes", "max_cpu_percent")
_DEFAULT_NOTIFY_ON = frozenset({"failure", "recovery"})
_NOTIFY_ON_ALL = frozenset(NOTIFY_ON)


def build_task(
    name: str | None = None,
    func: Callable[..., Any] | str | None = None,
    script: str | os.PathLike[str] | None = None,
    command: str | Iterable[str] | None = None,
    every: Any = None,
    cron: Any = None,
    at: Any = None,
    *,
    args: Iterable[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    timezone: str | _dt.tzinfo | None = None,
    notify: Any = None,
    notify_on: Iterable[str] = _NOTIFY_ON_DEFAULT,
    email_config: Mapping[str, Any] | None = None,
    on_success: Callable[..., Any] | None = None,
    on_failure: Callable[..., Any] | None = None,
    start_at: Any = None,
    end_at: Any = None,
    tags: Iterable[str] = (),
    task_id: str | None = None,
    cron_seconds: bool = False,
    task_class: type[Task] = Task,
    safe_mode: bool = False,
    max_memory_mb: int | None = None,
    clean_env: bool = False,
    max_output_bytes: int | None = None,
    max_cpu_percent: float | None = None,
    after: Any = None,
    after_policy: Any = "all",
    when: Any = None,
    pause_after_failures: Any = None,
    exclude: Any = None,
    business_days: bool = False,
    celery: str | None = None,
    queue: str | None = None,
    executor: str | None = None,
    **policy: Any,
) -> Task:
    """Validate ``add_task``'s options and return a new ``Task`` (not yet scheduled).

    Raises:
        TaskError: a target or option is missing, doubled or invalid.
        ScheduleError: the schedule is missing, doubled or invalid.
    """
    if policy:
        unknown = sorted(set(policy) - set(Policy._fields))
        if unknown:
            raise TaskError(unknown[0], policy[unknown[0]], "a known add_task option")
    if func is not None and script is None and command is None and celery is None:
        kind = "func"  # the common case, without building a list
    else:
        targets = (("func", func), ("script", script), ("command", command), ("celery", celery))
        given = [k for k, v in targets if v is not None]
        if len(given) != 1:
            raise TaskError(
                "target", ", ".join(given) or "none", "exactly one of func=, script=, command= or celery="
            )
        kind = given[0]
    raw = func if kind == "func" else script if kind == "script" else command
    func_ref = None
    route = None
    if kind == "celery" or queue is not None or executor is not None:
        from ._executors import make_route

        route = make_route(kind, celery, queue, executor)
    if route is not None and kind == "celery":
        target: Any = route.remote
    elif kind == "func":
        if isinstance(raw, str):
            func_ref = raw
            target = resolve_func(raw)
        elif callable(raw):
            target = raw
        else:
            raise TaskError("func", raw, 'a callable or a "module:function" reference')
    elif kind == "script":
        path = os.path.abspath(os.fspath(raw))  # type: ignore[arg-type]
        if not os.path.isfile(path):
            raise TaskError("script", os.fspath(raw), "an existing Python file")  # type: ignore[arg-type]
        target = path
    else:
        if isinstance(raw, str):
            import shlex

            try:
                argv = shlex.split(raw)
            except ValueError as exc:
                raise TaskError(
                    "command", raw, "a command line with balanced quotes", detail=str(exc)
                ) from None
        elif isinstance(raw, Iterable):
            argv = list(raw)
        else:
            raise TaskError("command", raw, "a command line string or a list of arguments")
        if not argv or not all(isinstance(a, str) for a in argv) or not argv[0]:
            raise TaskError("command", raw, "a non-empty command line (a string or a list of strings)")
        target = tuple(argv)
    if name is None:
        if kind == "celery":
            name = target
        elif kind == "func":
            name = getattr(target, "__name__", None) or "task"
        elif kind == "script":
            name = os.path.splitext(os.path.basename(target))[0]
        else:
            name = os.path.basename(target[0])
    _check_name(name)
    tz = timezone if isinstance(timezone, _dt.tzinfo) else resolve_timezone(timezone)
    flow = None
    if after is not None or when is not None or pause_after_failures is not None or after_policy != "all":
        from ._flow import make_flow

        flow = make_flow(after, after_policy, when, pause_after_failures)
    if flow is not None and flow.after and every is None and cron is None and at is None:
        from ._flow import AFTER_UPSTREAM

        schedule: Schedule = AFTER_UPSTREAM  # fired by its upstream tasks alone
    else:
        schedule = parse_schedule(every=every, cron=cron, at=at, timezone=tz)
    if cron_seconds and isinstance(cron, str):
        from .cron import Cron

        schedule = Cron(cron, tz, seconds=True)
    if exclude is not None or business_days is not False:
        from .exclusions import exclude_schedule

        schedule = exclude_schedule(schedule, exclude, business_days, tz)
    # The checks below skip themselves for the defaults: adding a task is on the
    # hot path of applications that register thousands of them.
    start = end = None
    if start_at is not None or end_at is not None:
        start = _moment("start_at", start_at, tz)
        end = _moment("end_at", end_at, tz)
        if start and end and end <= start:
            raise TaskError("end_at", end_at, f"a time after start_at ({start.isoformat()})")
        if isinstance(schedule, At) and end and schedule.when > end:
            raise ScheduleError("at", at, f"a time before end_at ({end.isoformat()})")
    if notify_on is _NOTIFY_ON_DEFAULT:
        wanted = _DEFAULT_NOTIFY_ON
    else:
        if isinstance(notify_on, str):
            notify_on = (notify_on,)
        wanted = frozenset(notify_on)
        if not wanted <= _NOTIFY_ON_ALL:
            raise TaskError("notify_on", sorted(wanted - _NOTIFY_ON_ALL), "any of " + ", ".join(NOTIFY_ON))
    if on_success is not None or on_failure is not None:
        for cb_name, cb in (("on_success", on_success), ("on_failure", on_failure)):
            if cb is not None and not callable(cb):
                raise TaskError(cb_name, cb, "a callable or None")
    tag_tuple: tuple[str, ...] = ()
    if tags:
        if isinstance(tags, str):
            tags = (tags,)
        elif not isinstance(tags, Iterable):
            raise TaskError("tags", tags, "a list of non-empty strings")
        tag_tuple = tuple(tags)
        if not all(isinstance(t, str) and t for t in tag_tuple):
            raise TaskError("tags", tags, "a list of non-empty strings")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise TaskError("kwargs", kwargs, "a mapping of keyword arguments")
    if args and (isinstance(args, (str, bytes)) or not isinstance(args, Iterable)):
        raise TaskError("args", args, "a list or tuple of arguments")
    if email_config is not None and not isinstance(email_config, Mapping):
        raise TaskError("email_config", email_config, "a mapping of email settings")
    made_policy = make_policy(**policy) if policy else _DEFAULT_POLICY
    limits: dict[str, Any] = {}
    if (safe_mode is not False or clean_env is not False or max_memory_mb is not None
            or max_output_bytes is not None or max_cpu_percent is not None):  # fmt: skip
        if kind == "celery":  # the worker runs a Celery task by name: nothing here to limit
            given_limit = next(
                (k, v) for k, v in (("safe_mode", safe_mode), ("clean_env", clean_env),
                                    ("max_memory_mb", max_memory_mb), ("max_output_bytes", max_output_bytes),
                                    ("max_cpu_percent", max_cpu_percent)) if v is not None and v is not False
            )  # fmt: skip
            raise TaskError(given_limit[0], given_limit[1], "nothing for a celery= task (its worker runs it)")
        from ._limits import check_limits

        safe, memory, clean, output, cpu = check_limits(
            kind,
            safe_mode=safe_mode,
            max_memory_mb=max_memory_mb,
            clean_env=clean_env,
            max_output_bytes=max_output_bytes,
            max_cpu_percent=max_cpu_percent,
            timeout=made_policy.timeout,
        )
        if safe and kind == "func":
            from ._isolation import check_picklable, isolated_reference

            if func_ref is None:
                func_ref = isolated_reference(target)
                if func_ref is None:
                    raise TaskError(
                        "func",
                        target,
                        'a module-level function importable as "module:qualname" when safe_mode=True '
                        "(the child process imports it by name; not a lambda, a closure or __main__)",
                    )
            check_picklable(tuple(args) if args else (), dict(kwargs) if kwargs else None)
        limits = {"safe_mode": safe, "max_memory_mb": memory, "clean_env": clean,
                  "max_output_bytes": output, "max_cpu_percent": cpu}  # fmt: skip
    channels = _channels(notify) if notify is not None else ()
    options = _DEFAULT_OPTIONS  # shared by every task left at the defaults
    if (args or kwargs or func_ref or start or end or tag_tuple or channels or email_config
            or on_success or on_failure or wanted != _DEFAULT_NOTIFY_ON or limits):  # fmt: skip
        callback_event = 0
        if on_success is not None or on_failure is not None:
            from ._callbacks import event_mask  # imports inspect: only for tasks with callbacks

            callback_event = event_mask(on_success, on_failure)
        options = TaskOptions(
            args=tuple(args) if args else (),
            kwargs=dict(kwargs) if kwargs else None,
            func_ref=func_ref,
            start_at=start,
            end_at=end,
            tags=tag_tuple,
            notify=channels,
            notify_on=wanted if wanted != _DEFAULT_NOTIFY_ON else _DEFAULT_NOTIFY_ON,  # share the default
            email_config=dict(email_config) if email_config else None,
            on_success=on_success,
            on_failure=on_failure,
            callback_event=callback_event,
            **limits,
        )
    task = task_class(name, kind, target, schedule, made_policy, tz, options, task_id, flow)
    if (
        made_policy.overlap_policy in ("cancel_other", "terminate_other")
        and kind == "func"
        and not (task._async or task.safe_mode)
    ):
        raise TaskError(
            "overlap_policy",
            made_policy.overlap_policy,
            "a policy that needs no cancelling (skip, allow, queue, buffer_one) for a sync function: "
            "Python cannot stop a thread; use an async function, or safe_mode=True to run it in a child "
            "process that can be killed",
        )
    task.route = route
    return task
