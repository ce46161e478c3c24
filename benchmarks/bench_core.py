"""autocron-core against APScheduler 3 (and ``schedule`` where it applies).

Run: ``.venv/bin/python benchmarks/bench_core.py [--quick] [--json PATH]``.

Every scenario runs in a fresh interpreter (``_common.run_isolated``), once per
library per repetition, with the libraries interleaved; the table shows medians
over the repetitions and the median of the per-repetition ratios
autocron/APScheduler. The peers are used as their users get them:
APScheduler's ``BackgroundScheduler`` with its default ``ThreadPoolExecutor``
(10 threads) and ``MemoryJobStore``; ``AutoCron()`` with its defaults (4
workers, in-memory store); ``schedule.Scheduler`` driven by a loop thread.
Scenarios (see README.md for the method of each):

* ``lag``: firing lag p50/p99 with 1, 100 and 1,000 tasks every second.
* ``dispatch``: time to run 10,000 tasks due at the same instant.
* ``idle``: process CPU over an idle period with 10,000 tasks due in an hour.
* ``add_interval``: µs per task and RSS bytes per task adding 100,000 interval tasks.
* ``add_cron``: µs per task adding 10,000 cron tasks (20 distinct expressions cycled).
* ``import``: import time above a bare interpreter.
* ``next_fire``: µs per cron next-fire computation, ``CRON_EXPRESSIONS`` in UTC and Europe/London.

No timing is ever asserted: the script reports, people judge.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import math
import sys
import threading
import time
from collections.abc import Callable
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
    ratio,
    repeat,
    report,
    rss_bytes,
    run_isolated,
    time_command,
    write_json,
)

UTC = _dt.timezone.utc
LIBS = ("autocron", "apscheduler", "schedule")
AC, APS, SCH = LIBS

#: A realistic mix of crontab lines: steps, ranges, lists, names. No numeric
#: day-of-week (APScheduler 3 counts 0 as Monday, cron as Sunday) and no
#: day-of-month together with day-of-week (cron ORs them, APScheduler ANDs
#: them), so both engines read each line the same way.
CRON_EXPRESSIONS = (
    "* * * * *",
    "*/5 * * * *",
    "*/15 * * * *",
    "0 * * * *",
    "30 * * * *",
    "0 */2 * * *",
    "0 0 * * *",
    "30 2 * * *",
    "0 9 * * mon-fri",
    "0 9-17 * * mon-fri",
    "*/10 9-18 * * mon-fri",
    "15 14 1 * *",
    "0 0 1 1 *",
    "0 6 * * sat,sun",
    "45 23 * * fri",
    "0 12 15 * *",
    "5 4 * * sun",
    "0 0,12 * * *",
    "*/30 8-20 * * *",
    "20 4 */2 * *",
)


def noop() -> None:
    """The task body where only scheduling cost matters."""


# -- workers: each runs in its own interpreter --------------------------------
def _aware(ts: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ts, UTC)


def _schedule_loop(scheduler: Any, stop: threading.Event, fixed_sleep: float | None) -> threading.Thread:
    """Drive a ``schedule.Scheduler`` from a thread: ``run_pending()`` then sleep.

    ``fixed_sleep=None`` sleeps ``idle_seconds()`` (capped at 1 s), the best a user
    can do for latency; a number sleeps that long, like the library's README loop.
    """

    def loop() -> None:
        while not stop.is_set():
            scheduler.run_pending()
            if fixed_sleep is None:
                idle = scheduler.idle_seconds
                wait = 1.0 if idle is None else min(max(idle, 0.0), 1.0)
            else:
                wait = fixed_sleep
            stop.wait(wait)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def worker_lag(lib: str, params: dict[str, Any]) -> dict[str, Any]:
    """``n`` no-op tasks every second, all on one grid ``t0 + k`` s; lag = start − scheduled.

    The task body appends ``time.time()`` to its own list. The scheduled time
    of each run comes from the scheduler itself: AutoCron's ``started``
    event (``scheduled_for``), APScheduler's ``EVENT_JOB_SUBMITTED``
    (``scheduled_run_times[-1]``), ``schedule``'s ``job.next_run`` read inside
    the body (it is updated only after the body returns). The k-th run of a
    task is paired with the k-th scheduled time reported for that task. The
    first occurrence (thread start-up) is dropped. Misfire grace is unlimited
    for both, so no occurrence is silently dropped for being late.
    """
    n, duration = int(params["n"]), float(params["duration"])
    names = [f"t{i}" for i in range(n)]
    starts: dict[str, list[float]] = {name: [] for name in names}
    scheduled: dict[str, list[float]] = {name: [] for name in names}
    t0 = math.ceil(time.time() + 1.0 + n * 0.001)  # first occurrence: t0 + 1
    stop_sched: Callable[[], Any]

    def body(bucket: list[float]) -> None:
        bucket.append(time.time())

    if lib == AC:
        from autocron_core import AutoCron, Interval

        def on_started(event: Any) -> None:
            scheduled[event.task_name].append(event.scheduled_for.timestamp())

        ac = AutoCron(timezone="UTC")
        ac.add_listener(on_started, kinds=["started"])
        ac.start(blocking=False)
        every = Interval(1, anchor=_aware(t0))  # occurrences t0 + k, k >= 1
        for name in names:
            ac.add_task(name, func=body, args=(starts[name],), every=every, misfire_grace_time=None)
        stop_sched = ac.stop
    elif lib == APS:
        from apscheduler.events import EVENT_JOB_SUBMITTED
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        def on_submitted(event: Any) -> None:
            scheduled[event.job_id].append(event.scheduled_run_times[-1].timestamp())

        aps = BackgroundScheduler(timezone=UTC)
        aps.add_listener(on_submitted, EVENT_JOB_SUBMITTED)
        aps.start()
        trigger = IntervalTrigger(seconds=1, start_date=_aware(t0 + 1), timezone=UTC)  # t0 + k, k >= 1
        for name in names:
            aps.add_job(body, trigger, args=(starts[name],), id=name, misfire_grace_time=None)
        stop_sched = aps.shutdown
    else:
        import schedule

        sch = schedule.Scheduler()
        jobs: list[Any] = []

        def sbody(i: int) -> None:
            now = time.time()
            scheduled[names[i]].append(jobs[i].next_run.timestamp())
            starts[names[i]].append(now)

        first = _dt.datetime.fromtimestamp(t0 + 1)  # schedule works in naive local time
        for i in range(n):
            job = sch.every(1).seconds.do(sbody, i)
            job.next_run = first
            jobs.append(job)
        stop_event = threading.Event()
        thread = _schedule_loop(sch, stop_event, None)

        def stop_sched() -> None:
            stop_event.set()
            thread.join()

    setup_late = time.time() > t0 + 1
    end = t0 + 1 + duration
    time.sleep(max(0.0, end + 1.0 - time.time()))
    stop_sched()
    lags: list[float] = []
    for name in names:
        for when, began in zip(scheduled[name], starts[name], strict=False):
            if t0 + 2 <= when <= end + 0.5:
                lags.append((began - when) * 1000)
    return {
        "p50_ms": percentile(lags, 50),
        "p99_ms": percentile(lags, 99),
        "max_ms": max(lags) if lags else None,
        "runs": len(lags),
        "expected": n * int(duration),
        "setup_late": setup_late,
    }


def worker_dispatch(lib: str, params: dict[str, Any]) -> dict[str, Any]:
    """``n`` no-op one-shot tasks all due at the same instant ``due`` (set a few seconds ahead).

    Measures from ``due`` until the last of the ``n`` bodies has run
    (``max(time.time() recorded by each body) − due``) and reports runs/s.
    Misfire grace is unlimited so every run happens; ``setup_late`` flags a run
    whose tasks were not all added before ``due``.
    """
    n, margin = int(params["n"]), float(params["margin"])
    done: list[float] = []
    finished = threading.Event()

    def body() -> None:
        done.append(time.time())
        if len(done) >= n:
            finished.set()

    due = math.ceil(time.time() + margin)
    stop_sched: Callable[[], Any]
    if lib == AC:
        from autocron_core import AutoCron

        ac = AutoCron(timezone="UTC")
        ac.start(blocking=False)
        at = _aware(due)
        for i in range(n):
            ac.add_task(f"t{i}", func=body, at=at, misfire_grace_time=None)
        stop_sched = ac.stop
    elif lib == APS:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.date import DateTrigger

        aps = BackgroundScheduler(timezone=UTC)
        aps.start()
        trigger = DateTrigger(run_date=_aware(due), timezone=UTC)
        for i in range(n):
            aps.add_job(body, trigger, id=f"t{i}", misfire_grace_time=None)
        stop_sched = aps.shutdown
    else:
        import schedule

        sch = schedule.Scheduler()
        at_local = _dt.datetime.fromtimestamp(due)
        for _ in range(n):
            sch.every(1).hours.do(body).next_run = at_local  # one due instant for all
        stop_event = threading.Event()
        thread = _schedule_loop(sch, stop_event, None)

        def stop_sched() -> None:
            stop_event.set()
            thread.join()

    setup_late = time.time() > due
    finished.wait(timeout=max(60.0, n / 50))
    stop_sched()
    if len(done) < n:
        return {"error": f"only {len(done)} of {n} runs", "runs": len(done)}
    last = max(done) - due
    return {
        "seconds": last,
        "runs_per_s": n / last if last > 0 else None,
        "first_ms": (min(done) - due) * 1000,
        "runs": len(done),
        "setup_late": setup_late,
    }


def worker_idle(lib: str, params: dict[str, Any]) -> dict[str, Any]:
    """``n`` tasks due in an hour; CPU of the whole process over ``duration`` s of idling.

    The tasks are added, the scheduler started, 1 s allowed for start-up, then
    ``time.process_time()`` (all threads) is read before and after the main
    thread sleeps ``duration`` s. Reported as % of one core. ``schedule`` is
    driven by its README loop (``run_pending(); sleep(1)``).
    """
    n, duration = int(params["n"]), float(params["duration"])
    stop_sched: Callable[[], Any]
    if lib == AC:
        from autocron_core import AutoCron

        ac = AutoCron(timezone="UTC")
        for i in range(n):
            ac.add_task(f"t{i}", func=noop, every=3600)
        ac.start(blocking=False)
        stop_sched = ac.stop
    elif lib == APS:
        from apscheduler.schedulers.background import BackgroundScheduler

        aps = BackgroundScheduler(timezone=UTC)
        for i in range(n):
            aps.add_job(noop, "interval", hours=1, id=f"t{i}")
        aps.start()
        stop_sched = aps.shutdown
    else:
        import schedule

        sch = schedule.Scheduler()
        for _ in range(n):
            sch.every(1).hours.do(noop)
        stop_event = threading.Event()
        thread = _schedule_loop(sch, stop_event, 1.0)

        def stop_sched() -> None:
            stop_event.set()
            thread.join()

    time.sleep(1.0)
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    time.sleep(duration)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stop_sched()
    return {"cpu_pct": 100 * cpu / wall, "cpu_s": cpu, "wall_s": wall}


def _adder(lib: str, kind: str) -> tuple[Callable[[int], Any], Callable[[], Any]]:
    """A started scheduler of ``lib`` and a function adding task ``i`` of ``kind`` to it."""
    if lib == AC:
        from autocron_core import AutoCron

        ac = AutoCron(timezone="UTC")
        ac.start(blocking=False)
        if kind == "interval":
            return (lambda i: ac.add_task(f"t{i}", func=noop, every=3600)), ac.stop
        exprs = CRON_EXPRESSIONS
        return (lambda i: ac.add_task(f"t{i}", func=noop, cron=exprs[i % len(exprs)])), ac.stop
    if lib == APS:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger

        aps = BackgroundScheduler(timezone=UTC)
        aps.start()
        if kind == "interval":
            return (lambda i: aps.add_job(noop, "interval", hours=1, id=f"t{i}")), aps.shutdown
        exprs = CRON_EXPRESSIONS

        def add_cron(i: int) -> Any:
            trigger = CronTrigger.from_crontab(exprs[i % len(exprs)], timezone=UTC)
            return aps.add_job(noop, trigger, id=f"t{i}")

        return add_cron, aps.shutdown
    import schedule

    sch = schedule.Scheduler()  # no cron syntax: interval only
    return (lambda i: sch.every(1).hours.do(noop)), (lambda: None)


def worker_add(lib: str, params: dict[str, Any]) -> dict[str, Any]:
    """Add ``n`` tasks to a started scheduler; µs per task and RSS bytes per task.

    Interval tasks fire every hour (none fires during the run); cron tasks
    cycle through ``CRON_EXPRESSIONS``. Each task gets its own name / job id
    ``t{i}``. Time: ``perf_counter`` around the loop. Memory: resident set size
    from ``/proc/self/statm`` after ``gc.collect()``, before and after, divided
    by ``n`` (so it includes the allocator's slack, as a process really pays).
    """
    n, kind = int(params["n"]), str(params["kind"])
    add, stop_sched = _adder(lib, kind)
    gc.collect()
    rss0 = rss_bytes()
    start = time.perf_counter()
    for i in range(n):
        add(i)
    elapsed = time.perf_counter() - start
    gc.collect()
    rss1 = rss_bytes()
    stop_sched()
    return {"us_per_task": elapsed / n * 1e6, "rss_bytes_per_task": (rss1 - rss0) / n, "seconds": elapsed}


#: Zones of the ``next_fire`` scenario: one without DST, one with it.
NEXT_FIRE_ZONES = ("UTC", "Europe/London")


def _next_fire_starts(n: int) -> list[_dt.datetime]:
    """``n`` instants spread over 2026 (so some fall near London's DST changes), the same in every process.

    Each has a fractional second, so APScheduler's "at or after" and
    autocron's "strictly after" ask the same question.
    """
    import random

    rng = random.Random(16)
    year = 365 * 86400
    return [_aware(1767225600 + rng.randrange(year) + rng.randrange(1, 1_000_000) / 1e6) for _ in range(n)]


def worker_next_fire(lib: str, params: dict[str, Any]) -> dict[str, Any]:
    """µs per next-fire computation for each of ``CRON_EXPRESSIONS`` in one zone.

    Per expression: ``starts`` chains of ``chain`` calls, as a scheduler asks
    them: the first from a start instant, each next one from the previous
    answer (autocron ``Cron.next_after(previous)``, APScheduler
    ``CronTrigger.get_next_fire_time(previous, previous)``). Each call is timed
    on its own with ``perf_counter_ns``; the expression's figure is the median
    of its calls. One untimed chain per expression first warms both libraries.
    """
    zone, n_starts, chain = str(params["zone"]), int(params["starts"]), int(params["chain"])
    starts = _next_fire_starts(n_starts)
    clock = time.perf_counter_ns
    per_expr: dict[str, float] = {}
    if lib == AC:
        from autocron_core import Cron

        def one_chain(expr: str, start: _dt.datetime, timed: list[int]) -> None:
            cron = Cron(expr, zone)
            # Forget the answer of the previous chain: a start inside its span would
            # be answered from the memo, and the search is what is measured here.
            cron._memo = None
            moment: _dt.datetime | None = start
            for _ in range(chain):
                t0 = clock()
                moment = cron.next_after(moment)
                timed.append(clock() - t0)
    else:
        from zoneinfo import ZoneInfo

        from apscheduler.triggers.cron import CronTrigger

        tz = UTC if zone == "UTC" else ZoneInfo(zone)
        triggers = {expr: CronTrigger.from_crontab(expr, timezone=tz) for expr in CRON_EXPRESSIONS}

        def one_chain(expr: str, start: _dt.datetime, timed: list[int]) -> None:
            trigger = triggers[expr]
            t0 = clock()
            previous = trigger.get_next_fire_time(None, start)
            timed.append(clock() - t0)
            for _ in range(chain - 1):
                t0 = clock()
                previous = trigger.get_next_fire_time(previous, previous)
                timed.append(clock() - t0)

    for expr in CRON_EXPRESSIONS:
        one_chain(expr, starts[0], [])
    for expr in CRON_EXPRESSIONS:
        timed: list[int] = []
        for start in starts:
            one_chain(expr, start, timed)
        per_expr[expr] = median(timed) / 1000  # type: ignore[operator]
    values = list(per_expr.values())
    return {
        "median_us": median(values),
        "p90_us": percentile(values, 90),
        "max_us": max(values),
        "per_expression_us": per_expr,
        "calls": n_starts * chain * len(CRON_EXPRESSIONS),
    }


WORKERS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "lag": worker_lag,
    "dispatch": worker_dispatch,
    "idle": worker_idle,
    "add": worker_add,
    "next_fire": worker_next_fire,
}


# -- the parent: repetitions, imports, the table ------------------------------
IMPORTS = {
    "bare": "pass",
    AC: "import autocron_core",
    APS: "from apscheduler.schedulers.background import BackgroundScheduler",
    SCH: "import schedule",
}


def measure_imports(rounds: int) -> dict[str, Any]:
    """Wall time of ``python -c "<import>"`` minus ``python -c pass``, same round, median.

    ``PYTHONDONTWRITEBYTECODE`` is removed from the environment and every
    command runs once first, so the .pyc files exist and are used. Rounds
    interleave the four commands; the figure per library is the median over
    rounds of (its time − the bare interpreter's time in that round).
    """
    env = bench_env()
    for code in IMPORTS.values():
        time_command([sys.executable, "-c", code], env)
    samples: dict[str, list[float]] = {key: [] for key in IMPORTS}
    for _ in range(rounds):
        for key, code in IMPORTS.items():
            samples[key].append(time_command([sys.executable, "-c", code], env) * 1000)
    above = {key: [t - b for t, b in zip(samples[key], samples["bare"], strict=True)] for key in IMPORTS}
    return {"samples_ms": samples, "above_bare_ms": above}


def settings(quick: bool) -> dict[str, Any]:
    """Sizes, durations and repetitions for a full or a ``--quick`` run."""
    if quick:
        return {
            "reps": 2,
            "lag_sizes": (1, 100, 1000),
            "lag_duration": 3,
            "dispatch_n": 10_000,
            "idle_n": 10_000,
            "idle_duration": 3,
            "interval_n": 100_000,
            "cron_n": 10_000,
            "import_rounds": 7,
            "next_fire_starts": 20,
            "next_fire_chain": 5,
        }
    # Issue 16: every ratio a median of 5. The lag and idle windows went from
    # 10 s to 6 s to keep the whole run about as long as with 3 repetitions
    # (6 s still gives 5,000 lag samples per repetition at 1,000 tasks).
    return {
        "reps": 5,
        "lag_sizes": (1, 100, 1000),
        "lag_duration": 6,
        "dispatch_n": 10_000,
        "idle_n": 10_000,
        "idle_duration": 6,
        "interval_n": 100_000,
        "cron_n": 10_000,
        "import_rounds": 21,
        "next_fire_starts": 60,
        "next_fire_chain": 5,
    }


def _isolated(scenario: str, lib: str, params: dict[str, Any]) -> dict[str, Any]:
    progress(f"  {scenario} {lib} {params}")
    return run_isolated(__file__, ["--worker", scenario, "--lib", lib, "--params", json.dumps(params)])


def run_scenarios(cfg: dict[str, Any], only: set[str] | None) -> dict[str, Any]:
    """Every scenario, each repetition in a fresh process; the raw results by scenario and library."""
    reps = cfg["reps"]
    results: dict[str, Any] = {}

    def want(name: str) -> bool:
        return only is None or name in only

    if want("lag"):
        for n in cfg["lag_sizes"]:
            params = {"n": n, "duration": cfg["lag_duration"]}
            results[f"lag_{n}"] = repeat(reps, LIBS, lambda lib, _r, p=params: _isolated("lag", lib, p))
    if want("dispatch"):
        params = {"n": cfg["dispatch_n"], "margin": 4.0}
        results["dispatch"] = repeat(reps, LIBS, lambda lib, _r: _isolated("dispatch", lib, params))
    if want("idle"):
        params = {"n": cfg["idle_n"], "duration": cfg["idle_duration"]}
        results["idle"] = repeat(reps, LIBS, lambda lib, _r: _isolated("idle", lib, params))
    if want("add_interval"):
        params = {"n": cfg["interval_n"], "kind": "interval"}
        results["add_interval"] = repeat(reps, LIBS, lambda lib, _r: _isolated("add", lib, params))
    if want("add_cron"):
        params = {"n": cfg["cron_n"], "kind": "cron"}
        results["add_cron"] = repeat(reps, (AC, APS), lambda lib, _r: _isolated("add", lib, params))
    if want("next_fire"):
        for zone in NEXT_FIRE_ZONES:
            params = {"zone": zone, "starts": cfg["next_fire_starts"], "chain": cfg["next_fire_chain"]}
            results[f"next_fire_{zone}"] = repeat(
                reps, (AC, APS), lambda lib, _r, p=params: _isolated("next_fire", lib, p)
            )
    if want("import"):
        progress("  import times")
        results["import"] = measure_imports(cfg["import_rounds"])
    return results


def _values(runs: list[dict[str, Any]] | None, key: str) -> list[float | None]:
    return [r.get(key) if "error" not in r else None for r in runs or []]


def _paired_ratio(results: dict[str, Any], key: str, invert: bool = False) -> float | None:
    """Median over repetitions of autocron/APScheduler (or APScheduler/autocron)."""
    ours, theirs = _values(results.get(AC), key), _values(results.get(APS), key)
    pairs = [ratio(b, a) if invert else ratio(a, b) for a, b in zip(ours, theirs, strict=False)]
    return median(pairs)


def summarize(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: medians per library, the paired ratio, the target and whether it holds."""
    rows: list[dict[str, Any]] = []

    def add(
        label: str,
        scenario: str,
        key: str,
        unit: str,
        target: str = "",
        check: Callable[[float | None, float | None], bool | None] | None = None,
        invert: bool = False,
    ) -> None:
        res = results.get(scenario)
        if res is None:
            return
        meds = {lib: median(_values(res.get(lib), key)) for lib in LIBS}
        rat = _paired_ratio(res, key, invert)
        met = check(meds[AC], rat) if check else None
        rows.append({"figure": label, "unit": unit, **meds, "ratio": rat, "target": target, "met": met})

    def at_most(limit: float) -> Callable[[float | None, float | None], bool | None]:
        return lambda _v, r: None if r is None else r <= limit

    for n in (1, 100, 1000):
        key = f"lag_{n}"
        tgt, chk = ("<= 0.333", at_most(1 / 3)) if n == 1000 else ("", None)
        add(f"lag p50, {n} task(s)/s", key, "p50_ms", "ms")
        add(f"lag p99, {n} task(s)/s", key, "p99_ms", "ms", tgt, chk)
    add("dispatch 10,000 due: time to last run", "dispatch", "seconds", "s")
    add(
        "dispatch 10,000 due: throughput",
        "dispatch",
        "runs_per_s",
        "runs/s",
        ">= 5 (speed-up)",
        lambda _v, r: None if r is None else r >= 5,
    )
    add(
        "idle CPU, 10,000 tasks due in 1 h",
        "idle",
        "cpu_pct",
        "% core",
        "< 0.1 % (absolute)",
        lambda v, _r: None if v is None else v < 0.1,
    )
    add("memory per interval task (RSS)", "add_interval", "rss_bytes_per_task", "B", "<= 0.8", at_most(0.8))
    add("add 100,000 interval tasks", "add_interval", "us_per_task", "µs/task", "<= 0.15", at_most(0.15))
    add("add 10,000 cron tasks", "add_cron", "us_per_task", "µs/task", "<= 0.5", at_most(0.5))
    add("memory per cron task (RSS)", "add_cron", "rss_bytes_per_task", "B")
    for zone in NEXT_FIRE_ZONES:
        key = f"next_fire_{zone}"
        add(f"cron next fire, median expression, {zone}", key, "median_us", "µs/call", "<= 0.5", at_most(0.5))
        add(f"cron next fire, p90 expression, {zone}", key, "p90_us", "µs/call", "<= 0.5", at_most(0.5))
    imp = results.get("import")
    if imp is not None:
        above = {lib: median(imp["above_bare_ms"][lib]) for lib in LIBS}
        rows.append(
            {
                "figure": "import above bare `python -c pass`",
                "unit": "ms",
                **above,
                "ratio": ratio(above[AC], above[APS]),
                "target": "<= 40 ms (absolute)",
                "met": None if above[AC] is None else above[AC] <= 40,
            }
        )
        rows.append(
            {
                "figure": "bare interpreter (python -c pass)",
                "unit": "ms",
                **dict.fromkeys(LIBS, median(imp["samples_ms"]["bare"])),
                "ratio": None,
                "target": "",
                "met": None,
            }
        )
    return rows


def print_next_fire_detail(results: dict[str, Any]) -> None:
    """Per expression and zone: the median over repetitions of each library's µs per call."""
    rows = []
    for zone in NEXT_FIRE_ZONES:
        res = results.get(f"next_fire_{zone}")
        if res is None:
            continue
        for expr in CRON_EXPRESSIONS:
            meds = {
                lib: median(
                    r.get("per_expression_us", {}).get(expr) for r in res.get(lib, []) if "error" not in r
                )
                for lib in (AC, APS)
            }
            rows.append([expr, zone, fmt(meds[AC]), fmt(meds[APS]), fmt(ratio(meds[AC], meds[APS]))])
    if rows:
        print_table(
            "cron next fire per expression (µs per call, median over repetitions)",
            ["expression", "zone", "autocron", "APScheduler", "ratio"],
            rows,
        )


def print_summary(rows: list[dict[str, Any]], results: dict[str, Any], cfg: dict[str, Any]) -> None:
    """The medians table, then any failed or suspicious repetitions."""
    table = []
    for row in rows:
        met = "" if row["met"] is None else ("yes" if row["met"] else "NO")
        table.append(
            [
                row["figure"],
                row["unit"],
                fmt(row[AC]),
                fmt(row[APS]),
                fmt(row[SCH]),
                fmt(row["ratio"]),
                row["target"],
                met,
            ]
        )
    print_table(
        f"bench_core: medians of {cfg['reps']} repetitions (ratio = median of per-repetition "
        "autocron/APScheduler; for throughput autocron÷APScheduler runs/s)",
        ["figure", "unit", "autocron", "APScheduler", "schedule", "ratio", "target", "met"],
        table,
    )
    print_next_fire_detail(results)
    notes = []
    for scenario, res in results.items():
        if scenario == "import":
            continue
        for lib, runs in res.items():
            for i, run in enumerate(runs):
                where = f"{scenario} {lib} rep {i + 1}"
                if "error" in run:
                    notes.append(f"{where}: {run['error']}")
                elif run.get("setup_late"):
                    notes.append(f"{where}: tasks were still being added at the due time")
                elif "expected" in run and run["runs"] < run["expected"]:
                    notes.append(f"{where}: {run['runs']} of {run['expected']} runs measured")
    if notes:
        print("notes:")
        for note in notes:
            print(f"  {note}")


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios (or, with ``--worker``, one measurement in this process)."""
    parser = make_parser(__doc__.splitlines()[0] if __doc__ else "bench_core")
    parser.add_argument(
        "--only", help="comma-separated: lag,dispatch,idle,add_interval,add_cron,import,next_fire"
    )
    parser.add_argument("--reps", type=int, help="override the number of repetitions")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--lib", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        report(WORKERS[args.worker](args.lib, json.loads(args.params)))
        return 0
    cfg = settings(args.quick)
    if args.reps:
        cfg["reps"] = args.reps
    only = set(args.only.split(",")) if args.only else None
    progress(f"bench_core ({'quick' if args.quick else 'full'}, {cfg['reps']} repetitions)")
    results = run_scenarios(cfg, only)
    rows = summarize(results)
    print_summary(rows, results, cfg)
    if args.json:
        write_json(
            args.json,
            {"benchmark": "core", "quick": args.quick, "settings": cfg, "summary": rows, "results": results},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
