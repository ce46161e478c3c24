"""The Redis store's statistics and retention.

Statistics are kept up to date as runs are claimed and finished, inside the
same scripts (``_redis_scripts``), so reading them scans no run:

* ``<prefix>:agg:<task>``: counts per status, started runs, last run and last success;
* ``<prefix>:dur:<task>`` and ``late:<task>``: sorted sets of every kept
  record's duration (succeeded runs) and lateness (started runs) in µs.

A percentile of ``n`` values lies between positions ``floor((n - 1) q)`` and
the next, which ``ZRANGE`` reads by rank; they are interpolated as
PostgreSQL's ``percentile_cont`` does, so the figures equal the SQL store's
(and ``autocron_core.stats``') exactly. Retention bounds both sets, as it
bounds the records.

A window (``since``, ``last_n``) is computed from the records in it, read
through the history index: at most ``keep_runs`` per task.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from autocron_core.protocols import TaskStats
from autocron_core.records import RunRecord, RunStatus
from autocron_core.schedules import from_utc_us, to_utc_us
from autocron_core.stats import stats_of

from ._redis_keys import decode_record, pairs_to_dict, sort_key
from ._statscore import COUNTED

if TYPE_CHECKING:
    import redis

__all__ = ["RedisStatsOps"]

_US = 1_000_000
_QS = (0.5, 0.95)
#: Records one pruning script looks at (the loop calls it again until nothing is left).
_PRUNE_BATCH = 1000


def _positions(n: int) -> list[tuple[int, int, float]]:
    """For p50 and p95 of ``n`` values: the two ranks to read and the weight of the upper one."""
    out = []
    for q in _QS:
        position = (n - 1) * q
        low = math.floor(position)
        out.append((low, min(low + 1, n - 1), position - low))
    return out


class RedisStatsOps:
    """Mixed into ``RedisStore``: ``stats`` and ``prune``."""

    # Set or provided by RedisStore.
    keys: str
    client: redis.Redis
    keep_runs: int | None
    keep_days: float | None
    _call: Callable[..., Any]
    _run: Callable[[str, Sequence[Any]], Any]

    def stats(
        self, name: str | None = None, since: _dt.datetime | None = None, last_n: int | None = None
    ) -> list[TaskStats]:
        """Per-task aggregates, sorted by task name (a ``TaskStats`` of zeros for ``name`` without runs).

        Args:
            name: one task, or every task with runs.
            since: only occurrences scheduled at or after this moment.
            last_n: only each task's newest ``last_n`` records.
        """
        if name is not None:
            tasks = [name]
        else:
            tasks = sorted(
                self._call("reading run statistics", lambda _: self.client.smembers(f"{self.keys}runtasks"))
            )
        if since is None and last_n is None:
            return self._kept_stats(tasks)
        windows = [(task, self._window_records(task, since, last_n)) for task in tasks]
        # Every task asked for by name; of all tasks, those with records in the window.
        return [stats_of(task, records) for task, records in windows if records or name is not None]

    def _kept_stats(self, tasks: list[str]) -> list[TaskStats]:
        k = self.keys

        def counts(_: int) -> list[Any]:
            with self.client.pipeline(transaction=True) as pipe:
                for task in tasks:
                    pipe.hgetall(f"{k}agg:{task}")
                    pipe.zcard(f"{k}dur:{task}")
                    pipe.zcard(f"{k}late:{task}")
                return list(pipe.execute())

        raw = self._call("reading run statistics", counts)
        aggs = [(raw[i], int(raw[i + 1]), int(raw[i + 2])) for i in range(0, len(raw), 3)]

        def ranks(_: int) -> list[Any]:
            with self.client.pipeline(transaction=True) as pipe:
                for task, (_agg, n_dur, n_late) in zip(tasks, aggs, strict=True):
                    for measure, n in (("dur", n_dur), ("late", n_late)):
                        for low, high, _w in _positions(n) if n else ():
                            pipe.zrange(f"{k}{measure}:{task}", low, high, withscores=True)
                    pipe.zrevrange(f"{k}dur:{task}", 0, 0, withscores=True)
                return list(pipe.execute())

        replies = iter(self._call("reading run statistics", ranks))
        result = []
        for task, (agg, n_dur, n_late) in zip(tasks, aggs, strict=True):
            pct: dict[str, list[float | None]] = {}
            for measure, n in (("dur", n_dur), ("late", n_late)):
                pct[measure] = [None, None]
                for i, (_low, _high, weight) in enumerate(_positions(n) if n else ()):
                    scores = [score for _member, score in next(replies)]
                    if scores:
                        pct[measure][i] = (scores[0] * (1 - weight) + scores[-1] * weight) / _US
            top = next(replies)
            count = {status: int(agg.get(f"n:{status.value}", 0)) for status in COUNTED}
            result.append(TaskStats(
                task=task, runs=int(agg.get("started", 0)),
                succeeded=count[RunStatus.SUCCEEDED], failed=count[RunStatus.FAILED],
                timed_out=count[RunStatus.TIMED_OUT], skipped=count[RunStatus.SKIPPED],
                missed=count[RunStatus.MISSED], abandoned=count[RunStatus.ABANDONED],
                duration_p50=pct["dur"][0], duration_p95=pct["dur"][1],
                duration_max=top[0][1] / _US if top else None,
                last_run=_moment(agg.get("last_run")), last_success=_moment(agg.get("last_success")),
                lateness_p50=pct["late"][0], lateness_p95=pct["late"][1],
            ))  # fmt: skip
        return result

    def _window_records(self, task: str, since: _dt.datetime | None, last_n: int | None) -> list[RunRecord]:
        k = self.keys
        if last_n is not None and last_n < 1:
            return []
        low = "-" if since is None else f"[{sort_key(to_utc_us(since), 0)}"

        def body(_: int) -> list[Any]:
            if last_n is None:
                sks = self.client.zrangebylex(f"{k}hist:{task}", low, "+")
            else:
                sks = self.client.zrevrangebylex(f"{k}hist:{task}", "+", low, start=0, num=last_n)
            with self.client.pipeline(transaction=False) as pipe:
                for sk in map(str, sks):
                    pipe.hgetall(f"{k}run:{task}:{sk}")
                return list(pipe.execute())

        rows = self._call("reading run statistics", body)
        return [decode_record(pairs_to_dict(x for pair in row.items() for x in pair)) for row in rows if row]

    # -- retention ------------------------------------------------------------
    def prune(self) -> int:
        """Delete records beyond ``keep_runs`` per task and older than ``keep_days``; how many went.

        Runs in the background after every few hundred finished runs; call it
        directly to prune now. Claims still running are never deleted.
        """
        if self.keep_runs is None and self.keep_days is None:
            return 0
        cutoff = ""
        if self.keep_days is not None:
            cutoff = sort_key(time.time_ns() // 1000 - int(self.keep_days * 86400 * _US), 0)
        # One script finds the few tasks over a limit: pruning runs every few hundred finishes,
        # and a call per task would cost thousands of round trips each time.
        tasks = self._call(
            "pruning run records", lambda _: self._run("PRUNE_CANDIDATES", [self.keep_runs or 0, cutoff])
        )
        removed = 0
        for task in sorted(str(t) for t in tasks):
            while True:
                args = [task, self.keep_runs or 0, cutoff, _PRUNE_BATCH]
                gone, looked = self._call(
                    f"pruning the run records of {task!r}", lambda _, args=args: self._run("PRUNE", args)
                )
                removed += int(gone)
                if int(gone) == 0 or int(looked) < _PRUNE_BATCH:
                    break
        return removed


def _moment(value: str | None) -> _dt.datetime | None:
    return None if value is None else from_utc_us(int(value))
