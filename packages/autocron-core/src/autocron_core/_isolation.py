"""``safe_mode=True`` for function tasks: each run in a fresh child interpreter.

A crash, a leak or a hung call then cannot take the scheduler down, and the
task's ``timeout`` kills the child (with its process group) instead of
abandoning a thread. The child is a new interpreter (``sys.executable``), not a
``fork`` of this threaded process, so it imports the function by its
``"module:qualname"`` name; a function that cannot be imported so is refused
when the task is added. The call (the parent's ``sys.path``, the name, the
arguments) goes to the child pickled in a private temporary file, and the
outcome (the return value or the exception) comes back the same way. The
child's stdout and stderr are the scheduler's, as an in-process function's
prints would be.

Only tasks with ``safe_mode=True`` import this module.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

from ._limits import child_argv, clean_environment
from ._runctx import current_run
from .errors import CommandFailedError, TaskError

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._options import TaskOptions

__all__ = ["ChildTraceback", "check_picklable", "isolated_reference", "run_isolated"]

# The child's whole program, run as `python -c CHILD CALL_PATH OUTCOME_PATH`. It reads the
# parent's sys.path first (so the arguments' classes can be imported), then the
# call; it writes ("ok", value) or ("raised", exception, traceback text) back,
# or, when those cannot be pickled, a description. SystemExit and other
# BaseExceptions end the child with their exit code, as in any program.
_CHILD = """\
import importlib, pickle, sys, traceback
with open(sys.argv[1], "rb") as stream:
    parent_path = pickle.load(stream)
    sys.path[:0] = [p for p in parent_path if p not in sys.path]
    reference, args, kwargs = pickle.load(stream)
module_name, _, qualname = reference.partition(":")
try:
    target = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    value = target(*args, **kwargs)
    if hasattr(value, "__await__") and hasattr(value, "send"):
        import asyncio
        value = asyncio.run(value)
    outcome = ("ok", value)
except Exception as exc:
    outcome = ("raised", exc, traceback.format_exc())
try:
    data = pickle.dumps(outcome)
except Exception as exc:
    if outcome[0] == "ok":
        data = pickle.dumps(("unpicklable", type(outcome[1]).__name__, "%s: %s" % (type(exc).__name__, exc)))
    else:
        data = pickle.dumps(("raised-text", type(outcome[1]).__name__, str(outcome[1]), outcome[2]))
with open(sys.argv[2], "wb") as stream:
    stream.write(data)
"""


class ChildTraceback(Exception):
    """The traceback of an exception raised in a safe-mode child, as its ``__cause__``."""


def isolated_reference(func: Callable[..., Any]) -> str | None:
    """The ``"module:qualname"`` a child interpreter can import ``func`` by, or ``None``.

    A function whose module is still being imported (``@schedule`` at module
    level runs before the name is bound) is accepted by its name: the child
    imports the finished module.
    """
    from .task import func_reference

    reference = func_reference(func)
    if reference is not None:
        return reference
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    loading = sys.modules.get(module)
    spec = getattr(loading, "__spec__", None)
    if loading is not None and getattr(spec, "_initializing", False):
        return f"{module}:{qualname}"
    return None


def check_picklable(args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> None:
    """Refuse arguments that cannot be sent to a child process.

    Raises:
        TaskError: naming ``args`` or ``kwargs``.
    """
    for field, value in (("args", args), ("kwargs", kwargs)):
        try:
            pickle.dumps(value)
        except Exception as exc:
            raise TaskError(
                field, value, "picklable values (safe_mode sends them to a child process)", detail=str(exc)
            ) from None


def run_isolated(reference: str, options: TaskOptions, timeout: float | None, label: str) -> Any:
    """Call the function named ``reference`` in a child interpreter; return its value.

    Raises:
        Exception: whatever the function raised (its child traceback as the cause).
        CommandFailedError: the child died (a crash, a signal, a limit, ``sys.exit``).
        TaskError: the return value could not be pickled back.
    """
    import tempfile

    fd, call_path = tempfile.mkstemp(prefix="autocron-call-", suffix=".pickle")  # mode 0600
    out_fd, outcome_path = tempfile.mkstemp(prefix="autocron-outcome-", suffix=".pickle")
    os.close(out_fd)
    try:
        with os.fdopen(fd, "wb") as stream:
            pickle.dump(sys.path, stream)
            pickle.dump((reference, options.args, options.kwargs or {}), stream)
        argv = child_argv([sys.executable, "-c", _CHILD, call_path, outcome_path], options, timeout)
        kwargs: dict[str, Any] = {}
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            kwargs["start_new_session"] = True  # the timeout stops the group
        env = clean_environment() if options.clean_env else None
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=env, **kwargs)
        run = current_run()
        if run is not None:
            run.attach_process(proc)
        try:
            returncode = proc.wait()
        except BaseException:
            proc.kill()
            raise
        if returncode != 0:
            raise CommandFailedError(f"safe-mode child of {label}", returncode, "")
        with open(outcome_path, "rb") as stream:
            data = stream.read()
    finally:
        os.unlink(call_path)
        os.unlink(outcome_path)
    if not data:  # the child left without a word, exit code 0 (sys.exit(0), os._exit(0))
        return None
    try:
        outcome = pickle.loads(data)  # noqa: S301 - our own child wrote it, to a 0600 file of ours
    except Exception as exc:  # e.g. an exception class whose __init__ needs other arguments
        raise ChildTraceback(f"the outcome sent back by the child could not be unpickled: {exc!r}") from None
    tag = outcome[0]
    if tag == "ok":
        return outcome[1]
    if tag == "raised":
        raise outcome[1] from ChildTraceback(outcome[2])
    if tag == "raised-text":
        raise ChildTraceback(f"{outcome[1]}: {outcome[2]} (unpicklable in the parent)\n{outcome[3]}")
    raise TaskError(
        "return value",
        outcome[1],
        "a picklable value (safe_mode sends it back from a child process)",
        detail=outcome[2],
    )
