"""AutoCron scheduling Celery workers: end-to-end throughput, and added lag against celery beat.

Two real ``celery worker`` processes (prefork, 2 children each) on RabbitMQ
(``AUTOCRON_TEST_AMQP_URL``, default 127.0.0.1:5672) with Redis as the result
backend (``AUTOCRON_TEST_REDIS_URL``), a queue of the run's own.

* Throughput: N ``celery=`` tasks every second on one AutoCron (memory store);
  occurrences per second recorded ``succeeded`` in a steady window, against
  the N offered.
* Lag: P periodic tasks every 10 s, scheduled by AutoCron and by
  ``celery beat`` on the same broker and workers, in turn; each run measures
  its own lag (worker start time minus scheduled time). Percentiles over the
  runs of the steady window.

Prints medians; never asserts timings.

    python benchmarks/bench_celery.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import bench_env, fmt, make_parser, median, percentile, print_table, progress, write_json  # noqa: E402

LAG_EVERY = 10  # seconds between two runs of one periodic task in the lag comparison


def _reachable(url: str, port: int) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or port), timeout=3).close()
    except OSError:
        return False
    return True


class Workers:
    """Two celery worker processes on one queue, stopped on exit."""

    def __init__(self, queue: str, folder: Path, env: dict[str, str]) -> None:
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "celery_bench_app",
                    "worker",
                    "--pool=prefork",
                    "-c",
                    "2",
                    "-Q",
                    queue,
                    "-n",
                    f"bench{i}-{queue}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "info",
                ],
                stdout=open(folder / f"worker{i}.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
                env=env,
                cwd=HERE,
                start_new_session=True,
            )
            for i in range(2)
        ]
        self.logs = [folder / f"worker{i}.log" for i in range(2)]
        deadline = time.monotonic() + 120
        while not all(b" ready." in log.read_bytes() for log in self.logs):
            if time.monotonic() > deadline:
                raise RuntimeError("celery workers did not get ready")
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(20)


def _journal(path: Path, start: float, end: float) -> list[float]:
    """Lags (ms) of runs scheduled within [start, end]."""
    if not path.exists():
        return []
    lags = []
    for line in path.read_text().splitlines():
        when, late = line.split()
        if start <= float(when) <= end:
            lags.append(float(late) * 1000)
    return lags


def _autocron_run(tasks: int, every: float, duration: float, name: str) -> dict[str, Any]:
    """AutoCron sends ``tasks`` celery= tasks every ``every`` s for ``duration`` s (in this process)."""
    import celery_bench_app

    from autocron_core import AutoCron, RunStatus

    scheduler = AutoCron(timezone="UTC", celery_app=celery_bench_app.app, max_workers=4, log_level=None)
    queue = os.environ["BENCH_QUEUE"]
    for i in range(tasks):
        scheduler.add_task(f"{name}{i}", celery="bench.lag", every=every, queue=queue)
    started = time.time()
    scheduler.start(blocking=False)
    time.sleep(duration)
    scheduler.stop(timeout=60)
    records = scheduler.history(limit=10**9)
    lo, hi = started + 3, started + duration - 1
    done = [r for r in records if r.status is RunStatus.SUCCEEDED and lo <= r.scheduled_for.timestamp() <= hi]
    scheduler.close()
    return {"recorded_per_s": len(done) / (hi - lo), "window": (lo, hi), "records": len(records)}


def _beat_run(
    tasks: int, every: float, duration: float, folder: Path, env: dict[str, str]
) -> tuple[float, float]:
    """celery beat with ``tasks`` entries every ``every`` s for ``duration`` s; returns the window."""
    config = folder / "beatconfig.py"
    options = {"queue": env["BENCH_QUEUE"]}
    schedule = {f"b{i}": {"task": "bench.lag", "schedule": every, "options": options} for i in range(tasks)}
    config.write_text(f"beat_schedule = {schedule!r}\n")
    started = time.time()
    log = open(folder / "beat.log", "wb")  # noqa: SIM115 - closed after the process ends
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, celery_bench_app as m; sys.path.insert(0, sys.argv[1]); import beatconfig; "
            "m.app.conf.beat_schedule = beatconfig.beat_schedule; "
            "m.app.start(['beat', '-S', 'celery_bench_app:StampingScheduler', "
            "'-s', sys.argv[2], '-l', 'warning'])",
            str(folder),
            str(folder / "beat-schedule"),
        ],
        cwd=HERE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    time.sleep(duration)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)
    log.close()
    return started + 3, started + duration - 1


def main(argv: list[str] | None = None) -> int:
    """Run both measures and print their tables."""
    parser = make_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    amqp = os.environ.get("AUTOCRON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
    redis = os.environ.get("AUTOCRON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not (_reachable(amqp, 5672) and _reachable(redis, 6379)):
        progress("bench_celery: RabbitMQ or Redis not reachable; skipped")
        return 0
    throughput_loads = (50,) if args.quick else (100, 300)
    lag_loads = (100,) if args.quick else (100, 1000)
    duration = 12.0 if args.quick else 20.0
    lag_duration = 25.0 if args.quick else 45.0
    reps = 1 if args.quick else 2
    queue = f"autocron-bench-{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="bench-celery-"))
    journal = folder / "lag.txt"
    env = dict(
        bench_env(),
        BENCH_QUEUE=queue,
        BENCH_JOURNAL=str(journal),
        PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    )
    os.environ.update(BENCH_QUEUE=queue, BENCH_JOURNAL=str(journal))
    workers = Workers(queue, folder, env)
    results: dict[str, Any] = {"throughput": {}, "lag": {}}
    try:
        for load in throughput_loads:
            runs = []
            for rep in range(reps):
                progress(f"throughput: {load} tasks every 1s, repetition {rep + 1}/{reps}")
                runs.append(_autocron_run(load, 1, duration, f"t{rep}-"))
            results["throughput"][load] = runs
        for load in lag_loads:
            results["lag"][load] = {"autocron": [], "beat": []}
            for rep in range(reps):
                progress(
                    f"lag: {load} periodic tasks every {LAG_EVERY}s, repetition {rep + 1}/{reps}, AutoCron"
                )
                journal.unlink(missing_ok=True)
                got = _autocron_run(load, LAG_EVERY, lag_duration, f"l{rep}-")
                lags = _journal(journal, *got["window"])
                results["lag"][load]["autocron"].append(
                    {"p50": percentile(lags, 50), "p99": percentile(lags, 99), "runs": len(lags)}
                )
                progress(
                    f"lag: {load} periodic tasks every {LAG_EVERY}s, repetition {rep + 1}/{reps}, celery beat"
                )
                journal.unlink(missing_ok=True)
                window = _beat_run(load, LAG_EVERY, lag_duration, folder, env)
                time.sleep(3)  # the last messages drain
                lags = _journal(journal, *window)
                results["lag"][load]["beat"].append(
                    {"p50": percentile(lags, 50), "p99": percentile(lags, 99), "runs": len(lags)}
                )
    finally:
        workers.stop()
        try:
            import celery_bench_app

            with celery_bench_app.app.connection_for_write() as conn:
                conn.default_channel.queue_delete(queue)
        except Exception:  # noqa: S110 - best effort
            pass
    rows = [
        [f"{load} tasks every 1s", fmt(float(load)), fmt(median(r["recorded_per_s"] for r in runs))]
        for load, runs in results["throughput"].items()
    ]
    print_table(
        "AutoCron → Celery (2 workers x 2 children): occurrences/s end to end (median)",
        ["load", "offered/s", "recorded/s"],
        rows,
    )
    rows = []
    for load, kinds in results["lag"].items():
        a50, a99 = median(r["p50"] for r in kinds["autocron"]), median(r["p99"] for r in kinds["autocron"])
        b50, b99 = median(r["p50"] for r in kinds["beat"]), median(r["p99"] for r in kinds["beat"])
        rows.append(
            [
                f"{load} tasks every {LAG_EVERY}s",
                fmt(a50),
                fmt(a99),
                fmt(b50),
                fmt(b99),
                str(sum(r["runs"] for r in kinds["autocron"])),
                str(sum(r["runs"] for r in kinds["beat"])),
            ]
        )
    print_table(
        "Lag, worker start - scheduled time, ms (median over repetitions of p50 / p99)",
        ["load", "AutoCron p50", "AutoCron p99", "beat p50", "beat p99", "runs A", "runs B"],
        rows,
    )
    if args.json:
        write_json(args.json, {"benchmark": "celery", "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
