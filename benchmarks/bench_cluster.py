"""Three scheduler nodes on one PostgreSQL, and on one Redis: occurrences claimed per second, added lag.

Each load runs N function tasks every second (N occurrences per second
offered) on three node processes sharing a private PostgreSQL schema, then on
three sharing a private key prefix on Redis (same nodes, only the store URL
differs), and on one in-memory scheduler process as the peer, in the same run. Figures:
occurrences per second the cluster claimed and started (steady window only),
and lateness (``started_at - scheduled_for``) p50/p99 of both, whose
difference is the lag the cluster adds (the claim's round trip to the
store, mostly). Needs AUTOCRON_TEST_POSTGRES_URL (or ``--url``) and/or
AUTOCRON_TEST_REDIS_URL (or ``--redis-url``); a backend without a URL is left
out. Prints medians; never asserts timings.

Peer: APScheduler 4's pre-release, three schedulers on one PostgreSQL
(``_aps4_cluster.py``), at the 1,000/s load (400/s with ``--quick``), when
``AUTOCRON_BENCH_APS4_PYTHON`` (or ``--aps4-python``) names an interpreter that
has it (``nox -s bench`` builds one) and PostgreSQL is measured; ratio =
AutoCron's started/s on PostgreSQL ÷ the peer's, per repetition, median.

    .venv/bin/python benchmarks/bench_cluster.py [--quick] [--backend postgres|redis] [--reps N]
        [--loads 1000,2000] [--aps4-python PATH] [--json PATH]
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    bench_env,
    fmt,
    make_parser,
    median,
    percentile,
    print_table,
    progress,
    report,
    run_isolated,
    write_json,
)

NODES = 3
_US = 1_000_000


def _worker(url: str, node: str, tasks: int, duration: float) -> int:
    """One node: ``tasks`` no-op tasks every second for ``duration`` seconds."""
    from autocron_core import AutoCron

    scheduler = AutoCron(timezone="UTC", store=url, node_id=node, max_workers=8, log_level=None)
    for i in range(tasks):
        scheduler.add_task(f"t{i}", func=lambda: None, every="1s")
    scheduler.start(blocking=False)
    time.sleep(duration)
    scheduler.stop()
    if url.startswith("memory"):
        records = [r for r in scheduler.history(limit=10**9) if r.started_at is not None]
        report(
            {
                "lateness_ms": [(r.started_at - r.scheduled_for).total_seconds() * 1000 for r in records],  # type: ignore[operator]
                "scheduled_us": [int(r.scheduled_for.timestamp() * _US) for r in records],
            }
        )
    scheduler.close()
    return 0


def _window(samples: Sequence[tuple[int, float]], start: float, end: float) -> list[float]:
    return [late for when, late in samples if start * _US <= when <= end * _US]


def _memory_run(tasks: int, duration: float) -> dict[str, Any]:
    started = time.time()
    got = run_isolated(
        __file__, ["--worker", "memory://", "peer", str(tasks), str(duration)], timeout=duration + 120
    )
    if "error" in got:
        return got
    late = _window(
        list(zip(got["scheduled_us"], got["lateness_ms"], strict=True)), started + 3, started + duration - 1
    )
    return {
        "per_s": len(late) / max(1e-9, duration - 4),
        "p50": percentile(late, 50),
        "p99": percentile(late, 99),
    }


def _run_nodes(url: str, tasks: int, duration: float) -> float:
    """Start the three nodes on ``url``, wait for them; when they started (wall time)."""
    started = time.time()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", url, f"node-{i}", str(tasks), str(duration)],
            env=bench_env(),
            stdout=subprocess.DEVNULL,
        )
        for i in range(NODES)
    ]
    for proc in procs:
        proc.wait(duration + 120)
    return started


def _postgres_rows(pg_url: str, tasks: int, duration: float) -> tuple[float, list[Any]]:
    """The nodes on a private schema; (start, rows of scheduled, started, node, task, attempt)."""
    import psycopg
    from sqlalchemy import select

    from autocron_store import SqlStore

    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    try:
        SqlStore(url).close()  # create the tables once, before the nodes race to
        started = _run_nodes(url, tasks, duration)
        store = SqlStore(url)
        r = store.tables.runs
        with store._engine.connect() as conn:
            rows = conn.execute(
                select(r.c.scheduled_for_us, r.c.started_at_us, r.c.node_id, r.c.task, r.c.attempt)
            ).all()
        store.close()
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return started, list(rows)


def _redis_rows(redis_url: str, tasks: int, duration: float) -> tuple[float, list[Any]]:
    """The nodes on a private key prefix; (start, rows as ``_postgres_rows`` gives them)."""
    from autocron_core.schedules import to_utc_us
    from autocron_store import RedisStore

    prefix = f"bench_{uuid.uuid4().hex[:10]}"
    url = f"{redis_url}{'&' if '?' in redis_url else '?'}prefix={prefix}"
    store = RedisStore(url)
    try:
        started = _run_nodes(url, tasks, duration)
        rows = [
            (
                to_utc_us(r.scheduled_for),
                None if r.started_at is None else to_utc_us(r.started_at),
                r.node_id,
                r.task,
                r.attempt,
            )
            for r in store.history(None, 10**9)
        ]
    finally:
        keys = list(store.client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            store.client.delete(*keys[start : start + 500])
        store.close()
    return started, rows


def _cluster_run(backend: str, url: str, tasks: int, duration: float) -> dict[str, Any]:
    if backend == "redis":
        started, rows = _redis_rows(url, tasks, duration)
    else:
        started, rows = _postgres_rows(url, tasks, duration)
    samples = [(s, (b - s) / 1000) for s, b, *_ in rows if b is not None]
    late = _window(samples, started + 3, started + duration - 1)
    nodes = {row[2] for row in rows}
    # Exactly once, from the run records: in the steady window each task (every
    # 1 s from its own anchor) has a record for every second between its first and
    # last there (none lost), and no occurrence needed a second attempt or was
    # recorded twice (none doubled; the key forbids the latter).
    lo, hi = (started + 3) * _US, (started + duration - 1) * _US
    steady = [row for row in rows if lo <= row[0] <= hi]
    keys = collections.Counter((row[3], row[0]) for row in steady)
    per_task: dict[str, list[int]] = collections.defaultdict(list)
    for task, when in keys:
        per_task[task].append(when)
    expected = sum((max(w) - min(w) + _US // 2) // _US + 1 for w in per_task.values())
    return {
        "lost": expected - len(keys) + (tasks - len(per_task)) * int(duration - 4),
        "doubled": sum(n - 1 for n in keys.values()) + sum(1 for row in steady if row[4] > 1),
        "per_s": len(late) / max(1e-9, duration - 4),
        "p50": percentile(late, 50),
        "p99": percentile(late, 99),
        "nodes": len(nodes),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table of medians."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["--worker"]:
        url, node, tasks, duration = args_in[1:5]
        return _worker(url, node, int(tasks), float(duration))
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("AUTOCRON_TEST_POSTGRES_URL"), help="PostgreSQL URL")
    parser.add_argument("--redis-url", default=os.environ.get("AUTOCRON_TEST_REDIS_URL"), help="Redis URL")
    parser.add_argument(
        "--backend", action="append", choices=("postgres", "redis"), help="only these (default: both)"
    )
    parser.add_argument("--reps", type=int, help="repetitions (5; 1 with --quick)")
    parser.add_argument("--loads", help="comma-separated occurrences per second (1000,2000; 100,400 quick)")
    parser.add_argument(
        "--aps4-python",
        default=os.environ.get("AUTOCRON_BENCH_APS4_PYTHON"),
        help="an interpreter with APScheduler 4 installed: the peer (see _aps4_cluster.py)",
    )
    args = parser.parse_args(args_in)
    urls = {"postgres": args.url, "redis": args.redis_url}
    backends = [b for b in (args.backend or ("postgres", "redis")) if urls[b]]
    if not backends:
        progress(
            "bench_cluster: set AUTOCRON_TEST_POSTGRES_URL (or --url) and/or AUTOCRON_TEST_REDIS_URL "
            "(or --redis-url); skipped"
        )
        return 0
    # The two loads (lag at 1,000/s, throughput at 2,000/s); 100/s with --loads.
    # Five repetitions of two stores and the peer made 100/s cost 4 minutes of the bench.
    loads = (100, 400) if args.quick else (1000, 2000)
    if args.loads:
        loads = tuple(int(x) for x in args.loads.split(","))
    # Medians of 5 (issue 16); 10 s runs (6 s steady window) keep that near the old 3 x 12 s.
    reps = args.reps or (1 if args.quick else 5)
    duration = 8.0 if args.quick else 10.0
    peer_load = 400 if args.quick else 1000
    if not args.aps4_python:
        progress("bench_cluster: AUTOCRON_BENCH_APS4_PYTHON (or --aps4-python) unset; no APScheduler 4 peer")
    raw: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for load in loads:
        raw[load] = {**{b: [] for b in backends}, "memory": [], "aps4": []}
        for rep in range(reps):
            for backend in backends:  # interleaved, so both see the same machine
                progress(f"load {load}/s, {backend}, repetition {rep + 1}/{reps}")
                raw[load][backend].append(_cluster_run(backend, urls[backend], load, duration))
            raw[load]["memory"].append(_memory_run(load, duration))
            if args.aps4_python and load == peer_load and "postgres" in backends:
                raw[load]["aps4"].append(_aps4_run(args.aps4_python, args.url, load, duration))
    rows = []
    summary = []
    for load in loads:

        def med(kind: str, key: str, load: int = load) -> float | None:
            return median(r.get(key) for r in raw[load][kind])

        m50, m99 = med("memory", "p50"), med("memory", "p99")
        for backend in backends:
            c50, c99 = med(backend, "p50"), med(backend, "p99")
            item = {
                "store": backend,
                "offered_per_s": load,
                "cluster_per_s": med(backend, "per_s"),
                "memory_per_s": med("memory", "per_s"),
                "cluster_p50_ms": c50,
                "cluster_p99_ms": c99,
                "memory_p50_ms": m50,
                "memory_p99_ms": m99,
                "added_p50_ms": None if c50 is None or m50 is None else c50 - m50,
                "added_p99_ms": None if c99 is None or m99 is None else c99 - m99,
                "lost": max((r.get("lost", 0) for r in raw[load][backend]), default=None),
                "doubled": max((r.get("doubled", 0) for r in raw[load][backend]), default=None),
            }
            summary.append(item)
            rows.append(
                [backend, str(load)]
                + [
                    fmt(item[k])
                    for k in ("cluster_per_s", "memory_per_s", "cluster_p50_ms", "cluster_p99_ms")
                ]
                + [fmt(item[k]) for k in ("memory_p50_ms", "memory_p99_ms", "added_p50_ms", "added_p99_ms")]
                + [str(item["lost"]), str(item["doubled"])]
            )
    print_table(
        f"{NODES} nodes on each store vs one in-memory scheduler (medians of {reps}; lateness in ms)",
        [
            "store",
            "offered/s",
            "cluster/s",
            "memory/s",
            "cl p50",
            "cl p99",
            "mem p50",
            "mem p99",
            "added p50",
            "added p99",
            "lost",
            "doubled",
        ],
        rows,
    )
    peer = _peer_summary(raw.get(peer_load, {}), peer_load, reps)
    if args.json:
        write_json(
            args.json,
            {"benchmark": "cluster", "quick": args.quick, "summary": summary, "peer": peer, "raw": raw},
        )
    return 0


def _aps4_run(python: str, pg_url: str, tasks: int, duration: float) -> dict[str, Any]:
    """One APScheduler 4 measurement (three schedulers, one PostgreSQL), in the peer's interpreter."""
    script = Path(__file__).resolve().parent / "_aps4_cluster.py"
    args = ["--url", pg_url, "--tasks", str(tasks), "--duration", str(duration)]
    return run_isolated(script, args, timeout=duration + 900, python=python)


def _peer_summary(raw: dict[str, list[dict[str, Any]]], load: int, reps: int) -> dict[str, Any] | None:
    """Print and return AutoCron's cluster against APScheduler 4's at ``load`` (None without the peer)."""
    peers = raw.get("aps4") or []
    if not peers:
        return None
    ours = raw["postgres"]
    ratios = [
        a["per_s"] / b["per_s"]
        for a, b in zip(ours, peers, strict=False)
        if a.get("per_s") and b.get("per_s")
    ]
    item = {
        "offered_per_s": load,
        "autocron_per_s": median(r.get("per_s") for r in ours),
        "aps4_per_s": median(r.get("per_s") for r in peers),
        "ratio": median(ratios),
        "aps4_p50_ms": median(r.get("p50") for r in peers),
        "aps4_p99_ms": median(r.get("p99") for r in peers),
        "aps4_doubled": max((r.get("doubled", 0) for r in peers), default=None),
        "aps4_version": next((r["version"] for r in peers if "version" in r), None),
        "errors": [r["error"] for r in peers if "error" in r],
    }
    print_table(
        f"{NODES} nodes on one PostgreSQL at {load:,}/s offered: AutoCron against APScheduler "
        f"{item['aps4_version']} (medians of {reps}; started per second in the steady window)",
        ["autocron/s", "APScheduler 4/s", "ratio", "APS4 p50 ms", "APS4 p99 ms", "APS4 doubled"],
        [[fmt(item[k]) for k in ("autocron_per_s", "aps4_per_s", "ratio", "aps4_p50_ms", "aps4_p99_ms")]
         + [str(item["aps4_doubled"])]],
    )  # fmt: skip
    for error in item["errors"]:
        print(f"  APScheduler 4: {error}")
    return item


if __name__ == "__main__":
    sys.exit(main())
