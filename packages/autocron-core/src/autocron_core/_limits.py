"""The original AutoCron's resource options: validated once, applied to a task's child process.

``max_memory_mb`` and ``max_cpu_percent`` become POSIX resource limits
(``RLIMIT_AS`` and ``RLIMIT_CPU``) set in the child before it runs the task's
program: a small interpreter started with ``-I -S`` lowers the limits and
``exec``s the program, so nothing runs between ``fork`` and ``exec`` in this
(threaded) process, which ``preexec_fn`` would need. ``clean_env`` gives the
child a minimal environment (``CLEAN_ENV_NAMES``); ``max_output_bytes`` sets how
much of a script's or command's output tail the run record keeps.

Only tasks that use one of these options import this module.
"""

from __future__ import annotations

import math
import os
import sys

from .errors import TaskError

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from ._options import TaskOptions

__all__ = [
    "CLEAN_ENV_NAMES",
    "MAX_MEMORY_MB",
    "MAX_OUTPUT_BYTES",
    "check_limits",
    "child_argv",
    "clean_environment",
    "cpu_seconds",
]

#: Largest ``max_memory_mb`` accepted (4 TiB): more is a typo, not a limit.
MAX_MEMORY_MB = 4 * 1024 * 1024
#: Largest ``max_output_bytes`` accepted (64 MiB): the tail lives in every run record.
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
#: What ``clean_env=True`` passes on, when set here (plus every ``LC_*``).
CLEAN_ENV_NAMES = (
    ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR")
    if os.name != "nt"
    else (
        "PATH", "PATHEXT", "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "TEMP", "TMP",
        "USERPROFILE", "HOMEDRIVE", "HOMEPATH", "USERNAME", "APPDATA", "LOCALAPPDATA", "TZ", "LANG",
    )
)  # fmt: skip

# Run by a fresh interpreter (-I -S: no site, no PYTHON* variables) as
# `-c CODE MEMORY_BYTES CPU_SECONDS PROGRAM ARGS...`: lower the limits, then become
# the program. A limit is never raised above the hard limit this process already has.
_LIMIT_AND_EXEC = """\
import os, resource, sys
def lower(kind, value, spare):
    hard = resource.getrlimit(kind)[1]
    top = value + spare
    if hard != resource.RLIM_INFINITY:
        value, top = min(value, hard), min(top, hard)
    resource.setrlimit(kind, (value, top))
memory, cpu = int(sys.argv[1]), int(sys.argv[2])
if memory:
    lower(resource.RLIMIT_AS, memory, 0)
if cpu:
    lower(resource.RLIMIT_CPU, cpu, 1)
argv = sys.argv[3:]
try:
    os.execvp(argv[0], argv)
except OSError as exc:
    sys.stderr.write("autocron: cannot run %s: %s\\n" % (argv[0], exc))
    os._exit(127)
"""


def _rlimits_unsupported() -> str | None:
    """Why this platform cannot enforce RLIMIT_AS / RLIMIT_CPU, or ``None`` when it can."""
    if sys.platform == "win32":
        return "Windows has no resource limits AutoCron can set (a Job Object limit is not implemented)"
    if sys.platform == "darwin":
        return "macOS does not enforce RLIMIT_AS"
    try:
        import resource  # noqa: F401 - only asking whether it exists
    except ImportError:
        return f"{sys.platform} has no resource module"
    return None


def _whole(field: str, value: Any, top: int, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise TaskError(field, value, f"a whole number of {what} from 1 to {top}, or None")
    return value


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TaskError(field, value, "True or False")
    return value


def check_limits(
    kind: str,
    *,
    safe_mode: Any,
    max_memory_mb: Any,
    clean_env: Any,
    max_output_bytes: Any,
    max_cpu_percent: Any,
    timeout: float | None,
) -> tuple[bool, int | None, bool, int | None, float | None]:
    """Validate the options for a task of ``kind``; return them normalised.

    Raises:
        TaskError: a value is malformed or out of range, the option needs
            ``safe_mode`` (a function runs in this process otherwise) or a
            ``timeout`` (for ``max_cpu_percent``), or this platform cannot
            honour it.
    """
    safe = _flag("safe_mode", safe_mode)
    clean = _flag("clean_env", clean_env)
    memory = _whole("max_memory_mb", max_memory_mb, MAX_MEMORY_MB, "MiB")
    output = _whole("max_output_bytes", max_output_bytes, MAX_OUTPUT_BYTES, "bytes")
    cpu: float | None = None
    if max_cpu_percent is not None:
        if (
            isinstance(max_cpu_percent, bool)
            or not isinstance(max_cpu_percent, (int, float))
            or not math.isfinite(max_cpu_percent)
            or not 1 <= max_cpu_percent <= 100
        ):
            raise TaskError("max_cpu_percent", max_cpu_percent, "a number from 1 to 100, or None")
        cpu = float(max_cpu_percent)
        if timeout is None:
            raise TaskError(
                "max_cpu_percent",
                max_cpu_percent,
                "a timeout= as well: the CPU budget is that share of the timeout",
            )
    in_process = kind == "func" and not safe
    for field, value in (("max_memory_mb", memory), ("clean_env", clean), ("max_cpu_percent", cpu)):
        if value and in_process:
            raise TaskError(
                field, value, "safe_mode=True for a function task (a function runs in this process otherwise)"
            )
    if memory is not None or cpu is not None:
        why = _rlimits_unsupported()
        if why is not None:
            field, value = ("max_memory_mb", memory) if memory is not None else ("max_cpu_percent", cpu)
            raise TaskError(field, value, "a platform that can enforce it", detail=why)
    return safe, memory, clean, output, cpu


def cpu_seconds(max_cpu_percent: float, timeout: float) -> int:
    """The RLIMIT_CPU budget: ``max_cpu_percent`` of the timeout, in whole seconds (at least 1)."""
    return max(1, math.ceil(timeout * max_cpu_percent / 100))


def clean_environment() -> dict[str, str]:
    """The minimal environment of ``clean_env=True``: ``CLEAN_ENV_NAMES`` and ``LC_*`` that are set."""
    environ = os.environ
    env = {name: environ[name] for name in CLEAN_ENV_NAMES if name in environ}
    env.update((name, value) for name, value in environ.items() if name.startswith("LC_"))
    return env


def child_argv(argv: list[str], options: TaskOptions, timeout: float | None) -> list[str]:
    """``argv``, behind the limit-setting interpreter when a resource limit applies."""
    memory = options.max_memory_mb
    cpu = options.max_cpu_percent
    if memory is None and cpu is None:
        return argv
    budget = cpu_seconds(cpu, timeout) if cpu is not None and timeout is not None else 0
    limit_bytes = memory * 1024 * 1024 if memory is not None else 0
    return [sys.executable, "-I", "-S", "-c", _LIMIT_AND_EXEC, str(limit_bytes), str(budget), *argv]
