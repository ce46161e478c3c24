"""APScheduler 4 (pre-release) as the cluster peer: three schedulers sharing one PostgreSQL.

Runs in a virtual environment of its own (APScheduler 4 cannot share one with
the APScheduler 3 the other benchmarks use); ``nox -s bench`` creates it and
tells ``bench_cluster.py`` where its interpreter is (``AUTOCRON_BENCH_APS4_PYTHON``).
It imports nothing from AutoCron.

One measurement, the same load as ``bench_cluster.py``'s AutoCron nodes:

* a new PostgreSQL schema; one set-up process adds ``tasks`` schedules, each
  an ``IntervalTrigger(seconds=1)`` starting one second after the nodes are
  launched, with ``coalesce=CoalescePolicy.all`` and no misfire grace time (so
  no occurrence is dropped or merged: a late one still runs);
* three node processes, each a ``Scheduler(SQLAlchemyDataStore(engine,
  schema=...), PsycopgEventBroker)`` (psycopg 3, LISTEN/NOTIFY, as AutoCron
  uses on PostgreSQL) with its defaults, running ``duration`` seconds;
* the job body appends ``(task, scheduled fire time, time.time(), pid)`` to a
  list the node writes out when it stops.

Figures over the steady window (3 s after launch to 1 s before the end, as
``bench_cluster.py``): runs **started** per second in that window (by their
start time: the peer falls behind, and occurrences scheduled in the window
would mostly start after it), lateness p50/p99 of those starts, and doubled
occurrences (the same task and fire time started twice).

    <aps4 venv>/bin/python benchmarks/_aps4_cluster.py --url URL --tasks N --duration S
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_env, percentile, report

NODES = 3
_RUNS: list[tuple[str, float, float, int]] = []
_LOCK = threading.Lock()


def _tick(name: str) -> None:
    """The job body: note the fire time it was scheduled for and when it started."""
    from apscheduler import current_job

    started = time.time()
    fire = current_job.get().scheduled_fire_time
    with _LOCK:
        _RUNS.append((name, fire.timestamp() if fire else 0.0, started, os.getpid()))


def _stores(url: str, schema: str) -> tuple[Any, Any, Any]:
    from apscheduler.datastores.sqlalchemy import SQLAlchemyDataStore
    from apscheduler.eventbrokers.psycopg import PsycopgEventBroker
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    return (
        engine,
        SQLAlchemyDataStore(engine, schema=schema),
        PsycopgEventBroker.from_async_sqla_engine(engine),
    )


def _setup(url: str, schema: str, tasks: int, start: float) -> int:
    from apscheduler import CoalescePolicy, Scheduler
    from apscheduler.triggers.interval import IntervalTrigger

    _, store, broker = _stores(url, schema)
    first = datetime.fromtimestamp(start, timezone.utc)
    with Scheduler(store, broker) as scheduler:
        for i in range(tasks):
            scheduler.add_schedule(
                _tick,
                IntervalTrigger(seconds=1, start_time=first),
                id=f"t{i}",
                args=(f"t{i}",),
                coalesce=CoalescePolicy.all,
                misfire_grace_time=None,
            )
    return 0


def _node(url: str, schema: str, duration: float, out: str) -> int:
    from apscheduler import Scheduler

    _, store, broker = _stores(url, schema)
    with Scheduler(store, broker) as scheduler:
        scheduler.start_in_background()
        time.sleep(duration)
        scheduler.stop()
    with _LOCK:
        Path(out).write_text(json.dumps(_RUNS), encoding="utf-8")
    return 0


def measure(url: str, tasks: int, duration: float) -> dict[str, Any]:
    """One measurement on a new schema (dropped afterwards): started/s, lateness, doubled."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"aps4_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    me = os.path.abspath(__file__)
    try:
        with tempfile.TemporaryDirectory(prefix="aps4-") as folder:
            # Adding is not measured: it ends before the first occurrence is due.
            # Adding a schedule took about 6 ms here: 1,000 in 6 s, so 20 s leaves room on a loaded machine.
            first = time.time() + 5 + tasks * 0.015
            subprocess.run(
                [sys.executable, me, "--setup", url, schema, str(tasks), repr(first)],
                env=bench_env(), check=True, timeout=600,
            )  # fmt: skip
            started = first - 1.0
            if time.time() > started:
                raise RuntimeError(f"adding {tasks} schedules took past their first fire time")
            time.sleep(max(0.0, started - time.time()))
            started = time.time()
            outs = [os.path.join(folder, f"node-{i}.json") for i in range(NODES)]
            procs = [
                subprocess.Popen(
                    [sys.executable, me, "--node", url, schema, str(duration), out], env=bench_env()
                )
                for out in outs
            ]
            for proc in procs:
                proc.wait(duration + 120)
            runs = [
                tuple(run) for out in outs if os.path.exists(out) for run in json.loads(Path(out).read_text())
            ]
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    lo, hi = started + 3, started + duration - 1
    steady = [run for run in runs if lo <= run[2] <= hi]
    late = [(run[2] - run[1]) * 1000 for run in steady]
    keys = collections.Counter((run[0], run[1]) for run in runs)
    return {
        "per_s": len(steady) / max(1e-9, hi - lo),
        "p50": percentile(late, 50),
        "p99": percentile(late, 99),
        "doubled": sum(n - 1 for n in keys.values()),
        "runs": len(runs),
        "nodes": len({run[3] for run in runs}),
        "version": _version(),
    }


def _version() -> str:
    from importlib.metadata import version

    return version("apscheduler")


def main(argv: list[str] | None = None) -> int:
    """``--setup`` / ``--node`` are the child processes; otherwise one measurement, reported as JSON."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["--setup"]:
        return _setup(args_in[1], args_in[2], int(args_in[3]), float(args_in[4]))
    if args_in[:1] == ["--node"]:
        return _node(args_in[1], args_in[2], float(args_in[3]), args_in[4])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="PostgreSQL URL (postgresql+psycopg://...)")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(args_in)
    url = (
        args.url
        if "+" in args.url.split("://")[0]
        else args.url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        report(measure(url, args.tasks, args.duration))
    except Exception as exc:  # reported, not raised: the other benchmarks go on
        report({"error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
