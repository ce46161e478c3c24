"""What an occurrence does when its task is at its instance limit: buffer, cancel, or skip.

| policy            | at the limit                                                            |
|-------------------|-------------------------------------------------------------------------|
| ``skip``          | recorded ``skipped``                                                    |
| ``allow``         | recorded ``skipped`` (the limit is ``max_instances``)                   |
| ``queue``         | waits, at most ``QUEUE_LIMIT`` occurrences (``buffer_all`` is the same) |
| ``buffer_one``    | waits if none waits yet; otherwise recorded ``skipped``                 |
| ``cancel_other``  | the running instance is stopped (SIGTERM, SIGKILL after ``KILL_GRACE``; |
|                   | an async task is cancelled), recorded ``cancelled``; this one waits for |
|                   | it to end, then starts                                                  |
| ``terminate_other`` | the same with SIGKILL at once                                         |

A cancelling policy keeps one waiting occurrence, the newest: an older one
still waiting when a newer one comes is recorded ``skipped`` (superseded).
The new run never starts beside the one being stopped: it starts when that
one's record is written, so two instances never run at once.
"""

from __future__ import annotations

from collections import deque

from .policy import CANCELLING, QUEUE_LIMIT
from .records import RunStatus
from .schedules import from_utc_us

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from ._engine import Engine, Run
    from .task import Task

__all__ = ["cancel_run", "on_busy", "was_cancelled"]


def on_busy(engine: Engine, task: Task, scheduled_us: int, trigger: str = "schedule") -> str | None:
    """Handle an occurrence of a task at its instance limit (engine lock held).

    ``trigger`` is what started the occurrence (a dependency's is kept with it while it waits).

    Returns:
        ``None`` when the occurrence is held to start later; otherwise why it
        is skipped (the caller records it).
    """
    policy = task.policy.overlap_policy
    if policy in ("queue", "buffer_one"):
        backlog = _backlog(task)
        limit = QUEUE_LIMIT if policy == "queue" else 1
        if len(backlog) < limit:
            backlog.append(_entry(scheduled_us, trigger))
            return None
        if policy == "buffer_one":
            waiting = from_utc_us(backlog[0][0]).isoformat()
            return f"the run of {waiting} is already waiting (overlap_policy=buffer_one keeps one)"
        return f"{task.running} instance(s) still running and {len(backlog)} waiting (overlap_policy=queue)"
    if policy in CANCELLING:
        backlog = _backlog(task)
        when = from_utc_us(scheduled_us).isoformat()
        while backlog:  # the newest occurrence wins the one waiting place
            entry = backlog.popleft()  # (occurrence, attempt) or, not started by the schedule, + trigger
            engine._record_simple(
                task,
                entry[0],
                RunStatus.SKIPPED,
                f"superseded by the newer occurrence of {when} ({policy})",
                entry[1],
                entry[2] if len(entry) == 3 else "schedule",
            )
        backlog.append(_entry(scheduled_us, trigger))
        for run in list(engine._live.get(task, ())):
            cancel_run(
                engine,
                run,
                hard=policy == "terminate_other",
                why=f"cancelled for the occurrence of {when} (overlap_policy={policy})",
            )
        return None
    return f"{task.running} instance(s) still running (overlap_policy={policy})"


def _entry(scheduled_us: int, trigger: str) -> tuple[int, int] | tuple[int, int, str]:
    """A backlog entry: a scheduled occurrence's first attempt, or one that carries its trigger."""
    return (scheduled_us, 1) if trigger == "schedule" else (scheduled_us, 1, trigger)


def _backlog(task: Task) -> deque[tuple[int, int] | tuple[int, int, str]]:
    backlog = task._backlog
    if backlog is None:
        backlog = task._backlog = deque()
    return backlog


def cancel_run(engine: Engine, run: Run, *, hard: bool, why: str) -> None:
    """Stop a running attempt for a newer occurrence; it is recorded ``cancelled`` when it ends.

    A script, a command or a safe-mode function: its process group gets SIGTERM
    and, ``KILL_GRACE`` seconds later, SIGKILL (``hard``: SIGKILL at once). An
    async function: its task is cancelled. An attempt not started yet never
    starts. The flag is set before the process or the cancel handle is read;
    the worker sets those before it reads the flag (``attach_process``,
    ``_start_async``), so one side always sees the other.
    """
    if run.done or getattr(run, "cancelled", None) is not None:
        return
    run.cancelled = why
    process = run.process
    if process is not None:
        signal_process(engine, run, hard=hard)
    elif callable(run.cancel):
        run.cancel()


def signal_process(engine: Engine, run: Run, *, hard: bool) -> None:
    """SIGKILL the run's process group, or SIGTERM it with a SIGKILL timer after the grace."""
    from ._process import signal_group

    process = run.process
    if process is None:
        return
    signal_group(process, kill=hard)
    if not hard:
        engine._kill_later(run)


def was_cancelled(run: Run) -> str | None:
    """Why the attempt was cancelled for a newer occurrence, or ``None``."""
    return getattr(run, "cancelled", None)
