"""The run in progress on the current thread, so ``execute()`` needs no arguments.

User code called from a task, and ``run_argv``, find the run they belong to
here: logging uses it to tag lines with the task and occurrence, and the
timeout machinery uses it to find the process to stop.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # the classes below are plain bases at run time


if TYPE_CHECKING:
    import subprocess

#: The slot itself: the engine sets ``run_slot.run`` around each run (an
#: attribute store; a function call per run would cost more).
run_slot = threading.local()


class RunHandle(Protocol):
    """What the current-run slot must offer."""

    task_name: str

    @property
    def scheduled_iso(self) -> str:
        """The occurrence being run, as ISO text."""
        ...

    def attach_process(self, proc: subprocess.Popen[bytes]) -> None: ...


def current_run() -> RunHandle | None:
    """The run executing on this thread, or ``None`` outside a run."""
    return getattr(run_slot, "run", None)
