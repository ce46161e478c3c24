"""Run policies: retries and backoff, timeout, overlap, misfire handling, jitter.

A ``Policy`` is a frozen value; equal policies are shared between tasks, so a
hundred thousand tasks with default options cost one policy object.
"""

from __future__ import annotations

import datetime as _dt
import math
import threading

from .errors import TaskError
from .schedules import parse_interval

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from ._tuples import NamedTuple

__all__ = ["NOTIFY_ON", "OVERLAP_POLICIES", "QUEUE_LIMIT", "Policy", "make_policy"]

OVERLAP_POLICIES = ("skip", "allow", "queue")
NOTIFY_ON = ("failure", "success", "retry", "recovery", "missed")
#: Occurrences a ``queue`` task holds while its instances are busy; more are skipped.
QUEUE_LIMIT = 100


class Policy(NamedTuple):
    """How a task's runs are retried, limited and caught up.

    Attributes:
        retries: extra attempts after a failed one.
        retry_delay: seconds before the first retry.
        backoff: factor applied to the delay for each further retry.
        max_retry_delay: ceiling of the delay.
        timeout: seconds a run may take, or ``None``.
        overlap_policy: ``skip`` (never two at once), ``allow`` (up to
            ``max_instances`` at once, further ones skipped) or ``queue`` (wait
            for a free instance, at most ``QUEUE_LIMIT`` waiting).
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
        """Seconds to wait after failed ``attempt`` (1-based) before the next one."""
        return float(min(self.retry_delay * self.backoff ** (attempt - 1), self.max_retry_delay))

    @property
    def instance_limit(self) -> int:
        """How many runs of the task may be in flight at once."""
        return 1 if self.overlap_policy == "skip" else self.max_instances


_CACHE: dict[tuple[Any, ...], Policy] = {}
_LOCK = threading.Lock()


def _seconds(name: str, value: Any, *, allow_zero: bool, allow_none: bool) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or value is None:
        raise TaskError(name, value, "a number of seconds" + (" or None" if allow_none else ""))
    if isinstance(value, (str, _dt.timedelta)):
        try:
            return parse_interval(value, field=name)
        except ValueError:
            raise TaskError(name, value, 'a number of seconds or a duration such as "90s" or "5m"') from None
    if not isinstance(value, (int, float)) or math.isnan(value):
        raise TaskError(name, value, "a number of seconds")
    if value < 0 or (value == 0 and not allow_zero):
        raise TaskError(name, value, "a number of seconds " + ("at least 0" if allow_zero else "above 0"))
    return float(value)


_RAW: dict[tuple[Any, ...], Policy] = {}


def make_policy(**options: Any) -> Policy:
    """Validate the policy options and return the shared ``Policy`` for them.

    Options as in ``Policy``; durations accept seconds or text like ``"5m"``.

    Raises:
        TaskError: naming the option, the value and what was expected.
    """
    # Most tasks repeat one of a few option sets: remember each validated set as given.
    try:
        raw = tuple(sorted(options.items()))
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
    if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or not backoff >= 1:
        raise TaskError("backoff", backoff, "a factor of at least 1.0 (1.0 keeps the delay constant)")
    if overlap_policy not in OVERLAP_POLICIES:
        raise TaskError("overlap_policy", overlap_policy, "one of " + ", ".join(OVERLAP_POLICIES))
    if isinstance(max_instances, bool) or not isinstance(max_instances, int) or max_instances < 1:
        raise TaskError("max_instances", max_instances, "a whole number of at least 1")
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
