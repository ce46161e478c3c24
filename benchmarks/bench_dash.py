"""How fast the static dashboard and the stats JSON are over a large SQLite history.

Issue 9's budget: with 100,000 runs across 200 tasks in SQLite, ``autocron
dashboard`` (static) and ``autocron stats --json`` finish in under a second.
This script fills a SQLite database through ``SqlStore`` and times, each from a
freshly opened store as the CLI does it:

* ``dashboard``: open the store, render the overview into a console;
* ``stats --json``: open the store, print the same numbers as JSON;
* ``dashboard (reader)`` and ``stats --json (reader)``: the same through the
  read-only ``sqlite3`` reader the CLI uses on SQLite (issue 16), opened
  fresh each time like the store;
* ``store.stats()``: the aggregate query alone (SQL), and ``reader.stats()``
  the same through the reader;
* ``python stats``: the peer: the same aggregates computed in Python from the
  rows (what a store without SQL aggregates costs), for the ratio.

Usage: ``python benchmarks/bench_dash.py [--quick] [--json PATH] [--db PATH]``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from autocron_core import RunRecord, RunStatus, build_task
from autocron_dash import Dashboard, TaskAnalytics
from autocron_dash.analytics import task_stats

BUDGET_MS = 1000.0
T0 = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)


def _records(tasks: int, runs: int, seed: int = 9) -> list[RunRecord]:
    """``runs`` records spread over ``tasks`` tasks: mostly successes, some failures, skips, timeouts."""
    rng = random.Random(seed)
    out: list[RunRecord] = []
    per_task = runs // tasks
    for t in range(tasks):
        name = f"task-{t:03d}"
        base = rng.uniform(0.05, 30.0)
        for i in range(per_task):
            scheduled = T0 + _dt.timedelta(minutes=i)
            roll = rng.random()
            if roll < 0.02:
                out.append(
                    RunRecord(name, scheduled, 1, RunStatus.SKIPPED, None, scheduled, "still running", "n1")
                )
                continue
            started = scheduled + _dt.timedelta(seconds=rng.expovariate(20))
            took = base * rng.lognormvariate(0, 0.3)
            status, error = RunStatus.SUCCEEDED, None
            if roll < 0.08:
                status, error = (
                    RunStatus.FAILED,
                    f"RuntimeError: failure {i}\nTraceback (most recent call last):",
                )
            elif roll < 0.10:
                status, error = RunStatus.TIMED_OUT, "timed out after 60s"
            finished = started + _dt.timedelta(seconds=took)
            output = "line 1\nline 2\ndone" if i % 10 == 0 else None
            out.append(RunRecord(name, scheduled, 1, status, started, finished, error, "n1", output))
    return out


def _bulk_insert(store: Any, records: list[RunRecord]) -> bool:
    """Insert through SQLAlchemy in one transaction when the store exposes its tables; else ``False``.

    A benchmark-only shortcut: 100,000 single-row claims take about a minute.
    The row layout mirrors ``SqlStore``; ``fill`` checks the count afterwards.
    """
    tables = getattr(store, "tables", None)
    url = getattr(store, "url", None)
    if tables is None or url is None:
        return False
    from sqlalchemy import create_engine, insert

    def us(moment: _dt.datetime | None) -> int | None:
        return None if moment is None else round(moment.timestamp() * 1_000_000)

    rows = [{
        "task": r.task, "scheduled_for_us": us(r.scheduled_for), "attempt": r.attempt,
        "status": r.status.value, "started_at_us": us(r.started_at), "finished_at_us": us(r.finished_at),
        "error": r.error, "node_id": r.node_id, "output": r.output, "lease_expires_at_us": None,
    } for r in records]  # fmt: skip
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(tables.runs), rows)
    finally:
        engine.dispose()
    return True


def open_store(path: str) -> Any:
    """A ``SqlStore`` on ``path`` that never prunes (the data is dated in the past on purpose)."""
    from autocron_store import SqlStore

    return SqlStore(f"sqlite:///{path}", keep_runs=None, keep_days=None)


def fill(path: str, tasks: int, runs: int) -> float:
    """Create the database (task definitions and runs); returns the seconds it took."""
    start = time.perf_counter()
    store = open_store(path)
    try:
        for t in range(tasks):
            store.save_task(
                build_task(f"task-{t:03d}", command=["true"], every="1m", timezone="UTC", timeout=60)
            )
        records = _records(tasks, runs)
        if not _bulk_insert(store, records):
            for record in records:
                store.claim_run(record)
        total = sum(s.runs + s.skipped for s in store.stats())
        if total != len(records):
            raise SystemExit(f"the database holds {total} runs, expected {len(records)}")
    finally:
        store.close()
    return time.perf_counter() - start


def _timed(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(path: str, repeats: int) -> dict[str, list[float]]:
    """Milliseconds per repeat of each measured operation."""

    def dashboard() -> None:
        store = open_store(path)
        try:
            Dashboard(store, Console(file=io.StringIO(), width=140)).show()
        finally:
            store.close()

    def stats_json() -> None:
        store = open_store(path)
        try:
            Dashboard(store, Console(file=io.StringIO(), width=140)).show(json=True)
        finally:
            store.close()

    def reader_view(json: bool) -> None:
        from autocron_store._reads import open_reader

        reader = open_reader(f"sqlite:///{path}")
        if reader is None:
            raise SystemExit(f"the reader cannot read {path}")
        try:
            Dashboard(reader, Console(file=io.StringIO(), width=140)).show(json=json)
        finally:
            reader.close()

    from autocron_store._reads import open_reader

    store = open_store(path)
    reader = open_reader(f"sqlite:///{path}")
    try:
        names = [t.name for t in store.load_tasks()]
        results = {
            "dashboard (static)": _timed(dashboard, repeats),
            "dashboard (reader)": _timed(lambda: reader_view(False), repeats),
            "stats --json": _timed(stats_json, repeats),
            "stats --json (reader)": _timed(lambda: reader_view(True), repeats),
            "analytics only": _timed(lambda: TaskAnalytics(store).summaries(), repeats),
            "store.stats() (SQL)": _timed(store.stats, repeats),
            "reader.stats()": _timed(reader.stats, repeats) if reader is not None else [float("nan")],
            "python stats (peer)": _timed(
                lambda: [task_stats(n, store.history(n, 10**6)) for n in names], max(1, repeats // 2)
            ),
        }
    finally:
        store.close()
        if reader is not None:
            reader.close()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when the dashboard or JSON misses the budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 runs over 50 tasks, 3 repeats")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--db", metavar="PATH", help="database file to reuse (created when missing)")
    args = parser.parse_args(argv)
    tasks, runs, repeats = (50, 20_000, 3) if args.quick else (200, 100_000, 7)
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or os.path.join(folder, "bench.db")
        fill_s = fill(path, tasks, runs) if not os.path.exists(path) else None
        results = measure(path, repeats)
    medians = {name: statistics.median(times) for name, times in results.items()}
    peer = medians["python stats (peer)"]
    print(
        f"autocron-dash: {runs:,} runs across {tasks} tasks in SQLite"
        + (f" (filled in {fill_s:.1f}s)" if fill_s is not None else " (reused database)")
    )
    print(f"{'operation':<24}{'median ms':>12}{'min ms':>10}{'vs peer':>10}  budget")
    over = False
    for name, times in results.items():
        budgeted = name.startswith(("dashboard", "stats --json"))
        verdict = ""
        if budgeted:
            ok = medians[name] < BUDGET_MS
            over = over or not ok
            verdict = f"{'ok' if ok else 'OVER'} (< {BUDGET_MS:.0f} ms)"
        ratio = f"{peer / medians[name]:.1f}x" if medians[name] > 0 else "-"
        print(f"{name:<24}{medians[name]:>12.1f}{min(times):>10.1f}{ratio:>10}  {verdict}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "benchmark": "dash",
                    "tasks": tasks,
                    "runs": runs,
                    "repeats": repeats,
                    "median_ms": medians,
                    "all_ms": results,
                    "budget_ms": BUDGET_MS,
                    "within_budget": not over,
                },
                handle,
                indent=2,
            )
    return 1 if over and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
