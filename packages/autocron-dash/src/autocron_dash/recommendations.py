"""Recommendations: plain sentences, each with the numbers that triggered it.

Every rule is a function of one ``TaskSummary`` returning a ``Recommendation``
or ``None``; thresholds are module constants so the docs and tests can name them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._format import duration
from .analytics import DEFAULT_LATE_AFTER, TaskSummary

__all__ = [
    "FAILURE_RATE",
    "MIN_FINISHED",
    "SKIP_RATE",
    "SLOWER_TREND",
    "TIMEOUT_MARGIN",
    "Recommendation",
    "recommend",
]

#: Share of finished runs that failed from which a task "fails often".
FAILURE_RATE = 0.2
#: Finished runs needed before rates mean anything.
MIN_FINISHED = 5
#: p95 duration over timeout from which the timeout is "close".
TIMEOUT_MARGIN = 0.8
#: Share of occurrences skipped (or missed) from which the interval is too short.
SKIP_RATE = 0.1
#: Newer-over-older median duration from which a task is "getting slower".
SLOWER_TREND = 1.5


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One piece of advice about one task.

    Attributes:
        task: the task's name.
        rule: a stable identifier of the rule (``fails_often``, ``timeout_close``,
            ``overlap``, ``late``, ``never_succeeded``, ``slower``).
        severity: ``warning`` (something is wrong) or ``info`` (worth a look).
        message: the advice as a sentence, with its numbers.
    """

    task: str
    rule: str
    severity: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"task": self.task, "rule": self.rule, "severity": self.severity, "message": self.message}


def _secs(value: float) -> str:
    # Whole seconds up to a minute read best in a sentence; beyond that, "2m05s".
    if value >= 60:
        return duration(value)
    return f"{value:.3g}s" if value < 10 else f"{value:.0f}s"


def _finished(s: TaskSummary) -> int:
    return s.succeeded + s.failed + s.timed_out + s.abandoned


def _error_hint(s: TaskSummary) -> str:
    return f' Its last error was: "{s.last_error}".' if s.last_error else ""


def never_succeeded(s: TaskSummary, _: Context) -> Recommendation | None:
    """Finished runs, none of them successful, and no success on record."""
    finished = _finished(s)
    if finished == 0 or s.succeeded or s.last_success is not None:
        return None
    return Recommendation(
        s.name,
        "never_succeeded",
        "warning",
        f"{s.name} has finished {finished} run(s) and never succeeded since it was added."
        f"{_error_hint(s)} Check its target and environment.",
    )


def fails_often(s: TaskSummary, _: Context) -> Recommendation | None:
    """At least ``FAILURE_RATE`` of at least ``MIN_FINISHED`` finished runs failed."""
    finished = _finished(s)
    failures = s.failed + s.timed_out + s.abandoned
    if finished < MIN_FINISHED or failures / finished < FAILURE_RATE or not s.succeeded:
        return None  # never_succeeded covers a task with no success at all
    advice = (
        "Add retries (e.g. retries=2, retry_delay=30) to ride out transient errors."
        if s.retries == 0
        else f"It already retries {s.retries} time(s): the cause is likely not transient."
    )
    return Recommendation(
        s.name,
        "fails_often",
        "warning",
        f"{s.name} failed {failures} of {finished} runs ({failures / finished:.0%}). "
        f"{advice}{_error_hint(s)}",
    )


def timeout_close(s: TaskSummary, _: Context) -> Recommendation | None:
    """A timeout within ``TIMEOUT_MARGIN`` of the p95 duration, or runs that timed out."""
    if s.timeout is None or (s.duration_p95 is None and not s.timed_out):
        return None
    p95 = s.duration_p95 or 0.0
    if p95 < TIMEOUT_MARGIN * s.timeout and not s.timed_out:
        return None
    basis = max(p95, s.duration_max or 0.0, s.timeout)
    numbers = f"its p95 duration is {_secs(p95)}" if s.duration_p95 is not None else "no run finished in time"
    timed_out = f" and {s.timed_out} run(s) timed out" if s.timed_out else ""
    return Recommendation(
        s.name,
        "timeout_close",
        "warning",
        f"{s.name} has timeout={_secs(s.timeout)} while {numbers}{timed_out}. "
        f"Raise the timeout (to about {_secs(basis * 1.5)}) or make the task faster.",
    )


def overlap(s: TaskSummary, _: Context) -> Recommendation | None:
    """At least ``SKIP_RATE`` of occurrences skipped because the previous run was still going."""
    occurrences = s.runs + s.skipped
    if s.skipped < 3 or s.skipped / occurrences < SKIP_RATE:
        return None
    run_time = (
        f"its p95 duration is {_secs(s.duration_p95)}" if s.duration_p95 is not None else "runs overlap"
    )
    interval = f" and its interval is {_secs(s.interval)}" if s.interval is not None else ""
    return Recommendation(
        s.name,
        "overlap",
        "warning",
        f"{s.name} skipped {s.skipped} of {occurrences} occurrences ({s.skipped / occurrences:.0%}) "
        f"because the previous run was still going: {run_time}{interval}. The interval is "
        f"shorter than the run time: lengthen the interval, or use overlap_policy='queue'.",
    )


def late(s: TaskSummary, ctx: Context) -> Recommendation | None:
    """Runs start more than ``late_after`` seconds after their scheduled time (p95)."""
    if s.lateness_p95 is None or s.lateness_p95 <= ctx.late_after:
        return None
    workers = f" (now {ctx.max_workers})" if ctx.max_workers else ""
    p50 = f", p50 {_secs(s.lateness_p50)}" if s.lateness_p50 is not None else ""
    return Recommendation(
        s.name,
        "late",
        "warning",
        f"{s.name} starts late: p95 {_secs(s.lateness_p95)}{p50} after its scheduled time. "
        f"The workers are busy; raise max_workers{workers}.",
    )


def slower(s: TaskSummary, _: Context) -> Recommendation | None:
    """Recent successful runs take ``SLOWER_TREND`` times as long as earlier ones."""
    if s.trend is None or s.trend < SLOWER_TREND:
        return None
    return Recommendation(
        s.name,
        "slower",
        "info",
        f"{s.name} is getting slower: its recent runs take {s.trend:.1f}x as long as earlier "
        f"ones (p95 {_secs(s.duration_p95 or 0.0)}). Look at what changed.",
    )


@dataclass(frozen=True, slots=True)
class Context:
    """What rules need beyond the task: the scheduler's settings."""

    max_workers: int | None = None
    late_after: float = DEFAULT_LATE_AFTER


Rule = Callable[[TaskSummary, Context], "Recommendation | None"]
#: The rules, in the order their advice is listed.
RULES: tuple[Rule, ...] = (never_succeeded, fails_often, timeout_close, overlap, late, slower)


def recommend(
    summaries: Sequence[TaskSummary],
    *,
    max_workers: int | None = None,
    late_after: float = DEFAULT_LATE_AFTER,
) -> list[Recommendation]:
    """Every recommendation for ``summaries``, warnings first, paused tasks left out."""
    ctx = Context(max_workers, late_after)
    found = [rec for s in summaries if not s.paused for rule in RULES if (rec := rule(s, ctx)) is not None]
    return sorted(found, key=lambda r: r.severity != "warning")
