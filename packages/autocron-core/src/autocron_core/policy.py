"""Run policies: retries and backoff, timeout, overlap, misfire handling, jitter.

A ``Policy`` is a frozen value; equal policies are shared between tasks, so a
hundred thousand tasks with default options cost one policy object.
"""

from __future__ import annotations

import threading

from .errors import TaskError
from .schedules import parse_interval

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from ._tuples import NamedTuple

__all__ = [
    "BUFFERING",
    "CANCELLING",
    "MAX_BACKOFF",
    "NOTIFY_ON",
    "OVERLAP_POLICIES",
    "QUEUE_LIMIT",
    "Policy",
    "make_policy",
]  # fmt: skip

OVERLAP_POLICIES = ("skip", "allow", "queue", "buffer_one", "buffer_all", "cancel_other", "terminate_other")
#: Policies that hold occurrences while the task is busy (the engine keeps a backlog for them).
BUFFERING = frozenset({"queue", "buffer_one", "cancel_other", "terminate_other"})
#: Policies that stop the running instance for a newer occurrence.
CANCELLING = frozenset({"cancel_other", "terminate_other"})
NOTIFY_ON = ("failure", "success", "retry", "recovery", "missed")
#: Occurrences a ``queue`` task holds while its instances are busy; more are skipped.
QUEUE_LIMIT = 100
#: The largest ``backoff`` factor: finite (``inf`` times a zero delay is NaN), and
#: already past any sensible growth (the delay is capped by ``max_retry_delay``).
MAX_BACKOFF = 1000.0


class Policy(NamedTuple):
    """How a task's runs are retried, limited and caught up.

    Attributes:
        retries: extra attempts after a failed one.
        retry_delay: seconds before the first retry.
        backoff: factor applied to the delay for each further retry.
        max_retry_delay: ceiling of the delay.
        timeout: seconds a run may take, or ``None``.
        overlap_policy: ``skip`` (never two at once), ``allow`` (up to
            ``max_instances`` at once, further ones skipped), ``queue`` (wait
            for a free instance, at most ``QUEUE_LIMIT`` waiting; ``buffer_all``
            is the same policy and is stored as ``queue``), ``buffer_one`` (at
            most one waiting, further ones skipped), ``cancel_other`` (stop the
            running instance gently, then start) or ``terminate_other`` (kill it
            at once, then start); see ``autocron_core._overlap``.
        max_instances: concurrent runs allowed by ``allow`` and ``queue``.
        misfire_grace_time: seconds late an occurrence may still start;
            ``None`` means however late.
        coalesce: run a backlog of missed occurrences once, not once each.
        jitter: at most this many seconds of random delay before a run.
    """

    retries: int = 0
    retry_delay: float = 60.0
    backoff: float = 2.0
    max_retry_delay: float = 3600.0
    timeout: float | None = None
    overlap_policy: str = "skip"
    max_instances: int = 1
    misfire_grace_time: float | None = 60.0
    coalesce: bool = True
    jitter: float = 0.0

    def retry_delay_for(self, attempt: int) -> float:
        """Seconds to wait after failed ``attempt`` (1-based) before the next one.

        Never more than ``max_retry_delay``, never NaN: ``backoff ** n`` may pass
        a float's range after many attempts, and then the ceiling applies.
        """
        delay = self.retry_delay
        if attempt > 1 and delay and self.backoff != 1.0:
            try:
                delay *= self.backoff ** (attempt - 1)
            except OverflowError:
                return self.max_retry_delay
        return delay if delay < self.max_retry_delay else self.max_retry_delay

    @property
    def instance_limit(self) -> int:
        """How many runs of the task may be in flight at once."""
        policy = self.overlap_policy
        return 1 if policy == "skip" or policy in CANCELLING else self.max_instances


_CACHE: dict[tuple[Any, ...], Policy] = {}
_LOCK = threading.Lock()


def _seconds(name: str, value: Any, *, allow_zero: bool, allow_none: bool) -> float | None:
    """A duration option in seconds, through the one duration check (``parse_interval``)."""
    if value is None:
        if allow_none:
            return None
        raise TaskError(name, value, "a number of seconds")
    return parse_interval(value, field=name, allow_zero=allow_zero, error=TaskError)


_RAW: dict[tuple[Any, ...], Policy] = {}


def make_policy(**options: Any) -> Policy:
    """Validate the policy options and return the shared ``Policy`` for them.

    Options as in ``Policy``; durations accept seconds or text like ``"5m"``.

    Raises:
        TaskError: naming the option, the value and what was expected.
    """
    # Most tasks repeat one of a few option sets: remember each validated set as given.
    try:
        # The types are part of the key: True == 1 and 1 == 1.0 must not share a verdict.
        # Unsorted, with map(type): 0.73 µs a cached call, against 0.62 without types
        # and 0.98 with sorted (name, type, value) triples.
        raw = (tuple(options.items()), tuple(map(type, options.values())))
        known = _RAW.get(raw)
    except TypeError:  # an unhashable value: validate it (and explain it) the long way
        return _make_policy(**options)
    if known is None:
        known = _make_policy(**options)
        if len(_RAW) < 10_000:
            _RAW[raw] = known
    return known


def _make_policy(
    *,
    retries: int = 0,
    retry_delay: Any = 60,
    backoff: float = 2.0,
    max_retry_delay: Any = 3600,
    timeout: Any = None,
    overlap_policy: str = "skip",
    max_instances: int = 1,
    misfire_grace_time: Any = 60,
    coalesce: bool = True,
    jitter: Any = 0,
) -> Policy:
    """Validate the policy options and return the shared ``Policy`` for them.

    Raises:
        TaskError: naming the option, the value and what was expected.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise TaskError("retries", retries, "a whole number of retries, 0 or more")
    if (
        isinstance(backoff, bool)
        or not isinstance(backoff, (int, float))
        or not 1 <= backoff <= MAX_BACKOFF  # also refuses NaN; inf times a zero delay is NaN
    ):
        raise TaskError(
            "backoff", backoff, f"a factor from 1.0 to {MAX_BACKOFF:g} (1.0 keeps the delay constant)"
        )
    if overlap_policy not in OVERLAP_POLICIES:
        raise TaskError("overlap_policy", overlap_policy, "one of " + ", ".join(OVERLAP_POLICIES))
    if overlap_policy == "buffer_all":  # Temporal's name for queue: one policy, one stored name
        overlap_policy = "queue"
    if isinstance(max_instances, bool) or not isinstance(max_instances, int) or max_instances < 1:
        raise TaskError("max_instances", max_instances, "a whole number of at least 1")
    if overlap_policy in CANCELLING and max_instances != 1:
        raise TaskError(
            "max_instances",
            max_instances,
            f"1 with overlap_policy={overlap_policy!r} (it keeps one instance)",
        )
    if not isinstance(coalesce, bool):
        raise TaskError("coalesce", coalesce, "True or False")
    delay = _seconds("retry_delay", retry_delay, allow_zero=True, allow_none=False) or 0.0
    ceiling = _seconds("max_retry_delay", max_retry_delay, allow_zero=True, allow_none=False) or 0.0
    if ceiling < delay:
        raise TaskError("max_retry_delay", max_retry_delay, f"at least retry_delay ({delay:g}s)")
    key = (
        retries,
        delay,
        float(backoff),
        ceiling,
        _seconds("timeout", timeout, allow_zero=False, allow_none=True),
        overlap_policy,
        max_instances,
        _seconds("misfire_grace_time", misfire_grace_time, allow_zero=True, allow_none=True),
        coalesce,
        _seconds("jitter", jitter, allow_zero=True, allow_none=False),
    )
    policy = _CACHE.get(key)
    if policy is None:
        policy = Policy._make(key)
        with _LOCK:
            if len(_CACHE) > 10_000:
                _CACHE.clear()
            _CACHE[key] = policy
    return policy
