"""History retention: how many run records a store keeps, and the thread that prunes them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "DEFAULT_KEEP_DAYS",
    "DEFAULT_KEEP_RUNS",
    "PRUNE_DELAY",
    "PRUNE_EVERY",
    "Pruner",
    "check_retention",
]

logger = logging.getLogger("autocron.store.retention")

#: Run records kept per task by default.
DEFAULT_KEEP_RUNS = 1000
#: Days of run records kept by default.
DEFAULT_KEEP_DAYS = 90.0
#: Finished runs between two prunes: pruning in batches keeps each one cheap.
PRUNE_EVERY = 500
#: Seconds between prunes when few runs finish (so old records still age out).
PRUNE_PERIOD = 3600.0
#: Seconds a prune waits once woken: a burst of runs passes first, and many runs a
#: second cost one prune a second, not one per ``PRUNE_EVERY`` runs.
PRUNE_DELAY = 1.0


def check_retention(keep_runs: int | None, keep_days: float | None) -> tuple[int | None, float | None]:
    """Validate the two limits (``None`` or 0 turns a limit off).

    Raises:
        ValueError: a negative or non-numeric limit.
    """
    from autocron_core.errors import ConfigError

    if keep_runs is not None and (
        isinstance(keep_runs, bool) or not isinstance(keep_runs, int) or keep_runs < 0
    ):
        raise ConfigError(
            f"keep_runs={keep_runs!r}: expected a whole number of runs (0 keeps all)", field="keep_runs"
        )
    if keep_days is not None and (
        isinstance(keep_days, bool)
        or not isinstance(keep_days, (int, float))
        or not 0 <= keep_days <= 1e9  # NaN and inf too: a cutoff must be a time
    ):
        raise ConfigError(
            f"keep_days={keep_days!r}: expected a number of days (0 keeps all)", field="keep_days"
        )
    return (keep_runs or None), (float(keep_days) if keep_days else None)


class Pruner:
    """Runs ``prune`` on a daemon thread ``delay`` seconds after every ``every`` finished runs, and hourly.

    The scheduler's workers only bump a counter (``tick``); deleting old rows
    happens here, so pruning never delays a run. ``prune`` is called with the
    names of the tasks whose runs finished since the last call (only those can
    have gone past ``keep_runs``), or ``None`` for every task: hourly, and when
    a tick did not say which runs finished. So a burst of 10,000 new tasks'
    first runs costs each prune a look at 500 of them, not at the whole table.
    """

    def __init__(
        self,
        prune: Callable[[set[str] | None], int],
        every: int = PRUNE_EVERY,
        period: float = PRUNE_PERIOD,
        delay: float = PRUNE_DELAY,
    ) -> None:
        self._prune = prune
        self._every = every
        self._period = period
        self._delay = delay
        self._stopped = threading.Event()  # set once, by stop(); also cuts a delay short
        self._count = 0
        self._finished: list[Sequence[Any]] | None = []  # the records ticked since the last prune
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def tick(self, runs: int = 1, records: Sequence[Any] | None = None) -> None:
        """Count ``runs`` finished runs (``records``: which, when known); wake the thread every ``every``."""
        with self._lock:
            if self._stopped.is_set():
                return
            self._count += runs
            if records is None:
                self._finished = None  # unknown tasks: the next prune looks at every task
            elif self._finished is not None:
                self._finished.append(records)  # names are read on the pruner's thread, not here
            if self._thread is None:
                # Started lazily: a short CLI command that finishes no run starts no thread.
                self._thread = threading.Thread(target=self._loop, name="autocron-store-pruner", daemon=True)
                self._thread.start()
            if self._count >= self._every:
                self._count = 0
                self._wake.set()

    def _take(self, woken: bool) -> set[str] | None:
        """The task names to prune (``None``: all), forgetting them."""
        with self._lock:
            finished, self._finished = self._finished, []
        if not woken or finished is None:  # the hourly prune looks at every task
            return None
        return {record.task for batch in finished for record in batch}

    def _loop(self) -> None:
        while True:
            woken = self._wake.wait(self._period)
            if woken:
                self._stopped.wait(self._delay)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                removed = self._prune(self._take(woken))
                if removed:
                    logger.debug("pruned %d old run record(s)", removed)
            except Exception:
                logger.exception("pruning the run history failed; will try again later")

    def stop(self) -> None:
        """Stop the thread (waits for a prune in progress)."""
        with self._lock:
            self._stopped.set()
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)
