"""Persisted dispatch: 10,000 one-shot tasks due at once, every run recorded, against APScheduler 3.

Peers, each on the same database, each in a fresh interpreter, interleaved:

* **autocron**: ``AutoCron(store=URL)`` (the SQL store: a claim row per run,
  written in one transaction per dispatch batch, and its finish written by the
  store writer), default 4 workers.
* **APScheduler 3.11**: ``BackgroundScheduler`` with ``SQLAlchemyJobStore(url=URL)``
  and its default 10-thread executor; a one-shot job's row is deleted from the
  job store before it runs (that is its record).

Both schedulers start paused with every task already added (adding is not
measured: APScheduler's jobs are written to its job store's table in one
transaction, the rows its ``add_job`` would write one transaction each), due at
an instant in the past with unlimited misfire grace; the clock starts when the
scheduler is let go (AutoCron ``start()``, APScheduler ``resume()``) and stops
when the last body has run and, for AutoCron, its record is committed
(``wait_idle()``, which waits for the store writer). runs/s = n / that time.
Databases: an SQLite file in a new folder, and PostgreSQL (a new schema per
measurement) when AUTOCRON_TEST_POSTGRES_URL (or ``--url``) is set.

    .venv/bin/python benchmarks/bench_persisted.py [--quick] [--json PATH] [--reps N] [--n N]
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt, make_parser, median, print_table, progress, repeat, report, run_isolated, write_json

AC, APS = "autocron", "apscheduler"
LIBS = (AC, APS)
UTC = _dt.timezone.utc


# The body's state is module-level: APScheduler's SQL job store pickles a job's
# function as a textual reference, so the body must be a module-level function.
_DONE: list[float] = []
_FINISHED = threading.Event()
_WANTED = [0]


def _body() -> None:
    _DONE.append(time.time())
    if len(_DONE) >= _WANTED[0]:
        _FINISHED.set()


def _worker(lib: str, url: str, n: int) -> int:
    """One measurement: ``n`` one-shot no-op tasks of ``lib`` on ``url``."""
    done, finished, body = _DONE, _FINISHED, _body
    _WANTED[0] = n

    def due_soon() -> _dt.datetime:
        # Far enough ahead that adding every task ends before it (an occurrence
        # added after its instant would never fire), measured once set up.
        return _dt.datetime.now(UTC) + _dt.timedelta(seconds=0.5 + n / 2000)

    if lib == AC:
        from autocron_core import AutoCron

        ac = AutoCron(timezone="UTC", store=url, log_level=None)
        due = due_soon()
        for i in range(n):
            ac.add_task(f"t{i}", func=body, at=due, misfire_grace_time=None)
        while _dt.datetime.now(UTC) < due:  # due, not yet fired: every occurrence is on the heap
            time.sleep(0.01)
        start = time.time()
        ac.start(blocking=False)
        finished.wait(max(120.0, n / 20))
        ac.wait_idle(120)  # every run's record committed
        end = time.time()
        recorded = sum(1 for r in ac.history(limit=n * 2) if r.finished_at is not None)
        ac.stop()
        ac.close()
    else:
        import pickle

        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.date import DateTrigger
        from apscheduler.util import datetime_to_utc_timestamp

        jobs_db = SQLAlchemyJobStore(url=url)
        aps = BackgroundScheduler(timezone=UTC, jobstores={"default": jobs_db, "staging": MemoryJobStore()})
        aps.start(paused=True)
        due = due_soon()
        trigger = DateTrigger(run_date=due, timezone=UTC)
        for i in range(n):
            aps.add_job(body, trigger, id=f"t{i}", misfire_grace_time=None, jobstore="staging")
        # The rows SQLAlchemyJobStore.add_job would write one transaction each, in one:
        # adding is not what is measured, and 10,000 commits on SQLite take minutes.
        rows = [
            {
                "id": job.id,
                "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
                "job_state": pickle.dumps(job.__getstate__(), jobs_db.pickle_protocol),
            }
            for job in aps.get_jobs(jobstore="staging")
        ]
        with jobs_db.engine.begin() as conn:
            conn.execute(jobs_db.jobs_t.insert(), rows)
        aps.remove_all_jobs(jobstore="staging")
        while _dt.datetime.now(UTC) < due:
            time.sleep(0.01)
        start = time.time()
        aps.resume()
        finished.wait(max(120.0, n / 20))
        end = max(done) if done else time.time()
        recorded = n - len(aps.get_jobs())  # a one-shot job's row is gone once it ran
        aps.shutdown()
    if len(done) < n:
        report({"error": f"only {len(done)} of {n} runs", "runs": len(done)})
        return 0
    seconds = end - start
    report({"seconds": seconds, "runs_per_s": n / seconds, "runs": len(done), "recorded": recorded})
    return 0


def _fresh_db(kind: str, pg_url: str | None) -> tuple[str, Any]:
    """A URL for a new empty database, and a function that removes it."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-persisted-")
        return f"sqlite:///{folder}/bench.db", lambda: shutil.rmtree(folder, ignore_errors=True)
    import psycopg

    assert pg_url is not None
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}", drop


def _measure(kind: str, pg_url: str | None, lib: str, n: int) -> dict[str, Any]:
    url, drop = _fresh_db(kind, pg_url)
    try:
        return run_isolated(__file__, ["--worker", lib, url, str(n)], timeout=900)
    finally:
        drop()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table of medians and ratios."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["--worker"]:
        return _worker(args_in[1], args_in[2], int(args_in[3]))
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("AUTOCRON_TEST_POSTGRES_URL"), help="PostgreSQL URL")
    parser.add_argument("--reps", type=int, help="repetitions (5; 2 with --quick)")
    parser.add_argument("--n", type=int, default=10_000, help="tasks due at once (10,000)")
    parser.add_argument("--only", help="comma-separated databases: sqlite,postgresql")
    args = parser.parse_args(args_in)
    reps = args.reps or (2 if args.quick else 5)
    kinds = ["sqlite"] + (["postgresql"] if args.url else [])
    if args.only:
        kinds = [k for k in kinds if k in args.only.split(",")]
    if not args.url:
        progress("bench_persisted: AUTOCRON_TEST_POSTGRES_URL (or --url) unset; PostgreSQL skipped")
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    rows, summary = [], []
    for kind in kinds:
        progress(f"{kind}: {reps} repetitions of {args.n:,} tasks, libraries interleaved")
        raw[kind] = repeat(reps, LIBS, lambda lib, _r, kind=kind: _measure(kind, args.url, lib, args.n))
        ac, aps = raw[kind][AC], raw[kind][APS]
        ratios = [
            a["runs_per_s"] / b["runs_per_s"]
            for a, b in zip(ac, aps, strict=True)
            if a.get("runs_per_s") and b.get("runs_per_s")
        ]
        item = {
            "database": kind,
            "autocron_runs_per_s": median(r.get("runs_per_s") for r in ac),
            "apscheduler_runs_per_s": median(r.get("runs_per_s") for r in aps),
            "ratio": median(ratios),
            "autocron_recorded": median(r.get("recorded") for r in ac),
            "errors": [r["error"] for r in ac + aps if "error" in r],
        }
        summary.append(item)
        rows.append(
            [
                kind,
                fmt(item["autocron_runs_per_s"]),
                fmt(item["apscheduler_runs_per_s"]),
                fmt(item["ratio"]),
                fmt(item["autocron_recorded"]),
            ]
        )
    print_table(
        f"Persisted dispatch of {args.n:,} one-shot tasks due at once (medians of {reps})",
        ["database", "autocron runs/s", "APScheduler runs/s", "ratio", "autocron records"],
        rows,
    )
    for item in summary:
        for error in item["errors"]:
            print(f"  {item['database']}: {error}")
    if args.json:
        write_json(args.json, {"benchmark": "persisted", "quick": args.quick, "summary": summary, "raw": raw})
    return 0


if __name__ == "__main__":
    sys.exit(main())
