"""Store throughput: run records written per second, history() and stats() latency.

Runs on SQLite (a temporary file) and, when AUTOCRON_TEST_POSTGRES_URL is
set, on PostgreSQL (a temporary schema, dropped afterwards). The in-memory
store is measured alongside as the peer for ratios. Prints medians; never
asserts timings.

    .venv/bin/python benchmarks/bench_store.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from autocron_core.memory_store import MemoryStore
from autocron_core.records import RunRecord, RunStatus

T0 = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)


def _record(task: int, i: int, status: RunStatus = RunStatus.RUNNING) -> RunRecord:
    scheduled = T0 + _dt.timedelta(seconds=i)
    started = scheduled + _dt.timedelta(milliseconds=5 + i % 50)
    return RunRecord(f"task-{task}", scheduled, 1, status, started, None, None, "bench")


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _fill(store: Any, runs: int, tasks: int) -> None:
    """Bulk-load ``runs`` finished records spread over ``tasks`` tasks (not timed)."""
    if hasattr(store, "_engine"):
        rows = []
        for i in range(runs):
            rec = _record(i % tasks, i)
            ok = i % 10 != 0
            rows.append(
                {
                    **store._run_values(rec),
                    "status": "succeeded" if ok else "failed",
                    "finished_at_us": store._run_values(rec)["started_at_us"] + (i % 997) * 1000,
                    "lease_expires_at_us": None,
                }
            )
        with store._engine.begin() as conn:
            for chunk in range(0, len(rows), 5000):
                conn.execute(store.tables.runs.insert(), rows[chunk : chunk + 5000])
        return
    for i in range(runs):
        rec = _record(i % tasks, i)
        store.finish_run(
            rec.finished(RunStatus.SUCCEEDED, rec.started_at + _dt.timedelta(milliseconds=i % 997))
        )


def _writes_per_second(store: Any, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        rec = _record(999_999, 10_000_000 + i)
        store.claim_run(rec)
        store.finish_run(rec.finished(RunStatus.SUCCEEDED, rec.started_at + _dt.timedelta(milliseconds=3)))
    return n / (time.perf_counter() - start)


@contextmanager
def _stores(include_pg: bool) -> Iterator[list[tuple[str, Any]]]:
    from autocron_store import SqlStore

    folder = tempfile.mkdtemp(prefix="autocron-bench-")
    stores: list[tuple[str, Any]] = [
        ("memory", MemoryStore(history_limit=10**9)),
        ("sqlite", SqlStore(f"sqlite:///{folder}/bench.db", keep_runs=None, keep_days=None)),
    ]
    pg_url = os.environ.get("AUTOCRON_TEST_POSTGRES_URL")
    schema = None
    if include_pg and pg_url:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in pg_url else "?"
        stores.append(
            (
                "postgresql",
                SqlStore(f"{pg_url}{sep}options=-csearch_path%3D{schema}", keep_runs=None, keep_days=None),
            )
        )
    try:
        yield stores
    finally:
        for _, store in stores:
            store.close()
        if schema is not None and pg_url:
            import psycopg

            with psycopg.connect(
                pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
            ) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows and repetitions (a smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL even when its URL is set")
    args = parser.parse_args(argv)
    runs, tasks = (10_000, 200) if args.quick else (100_000, 200)
    writes, repeat = (200, 5) if args.quick else (2000, 21)
    results: list[dict[str, Any]] = []
    with _stores(not args.no_postgres) as stores:
        for name, store in stores:
            _fill(store, runs, tasks)
            row = {
                "store": name,
                "stored_runs": runs,
                "writes_per_s": _writes_per_second(store, writes),
                "history_task_ms": _median_ms(lambda s=store: s.history("task-7", 100), repeat),
                "history_all_ms": _median_ms(lambda s=store: s.history(None, 100), repeat),
                "stats_all_ms": _median_ms(lambda s=store: s.stats(), max(3, repeat // 4)),
                "stats_task_ms": _median_ms(lambda s=store: s.stats("task-7"), repeat),
            }
            results.append(row)
    peer = results[0]
    print(
        f"{'store':<11} {'runs':>7} {'writes/s':>9} {'history(task) ms':>17} {'history(all) ms':>16} "
        f"{'stats(all) ms':>14} {'stats(task) ms':>15}"
    )
    for row in results:
        print(
            f"{row['store']:<11} {row['stored_runs']:>7} {row['writes_per_s']:>9.0f} "
            f"{row['history_task_ms']:>17.2f} {row['history_all_ms']:>16.2f} "
            f"{row['stats_all_ms']:>14.1f} {row['stats_task_ms']:>15.2f}"
        )
    print(
        "(medians; writes are claim_run + finish_run pairs; 'memory' is the in-process peer, "
        f"{peer['writes_per_s']:.0f} writes/s)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"benchmark": "store", "quick": args.quick, "results": results}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
