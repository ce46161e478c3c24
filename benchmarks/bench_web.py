"""How fast the web dashboard draws its pages over a large SQLite history, and how live it is.

Issue 20's budget: with 100,000 runs across 200 tasks in SQLite, the overview
and a task page render in at most 300 ms of server time (median of 5), and a
run that ends reaches an open page within 1 s.

* ``overview`` and ``task page``: the ASGI application in this process
  (Starlette's TestClient: no sockets, so the figure is the server's time),
  reading through the read-only SQLite reader as ``autocron dashboard --web``
  does; the first request (opening the reader) is a warm-up and not counted.
* ``runs page`` and ``task page, page 40``: the runs across tasks, and a page
  deep in one task's history (keyset paging: as fast as the first).
* ``live update``: ``serve_dashboard`` on a free loopback port, the task page
  open in headless Chromium (Playwright, the system's browser); a run of that
  task is written to the store by this process, and the time until its row is
  in the page's DOM is measured, 5 times. Skipped when Chromium is missing.

The database is filled by ``bench_dash.fill`` (the same data as bench_dash.py).

Usage: ``python benchmarks/bench_web.py [--quick] [--json PATH] [--db PATH]``.
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
from collections.abc import Callable
from typing import Any

from bench_dash import fill, open_store

from autocron_core import RunRecord, RunStatus

BUDGET_MS = 300.0
LIVE_BUDGET_MS = 1000.0
CHROMIUM = os.environ.get("AUTOCRON_CHROMIUM", "/usr/bin/chromium")


def _timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    fn()  # warm-up: opens the reader, fills caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def pages(path: str, repeats: int) -> dict[str, list[float]]:
    """Server time of each page, through the ASGI application in this process."""
    from starlette.testclient import TestClient

    from autocron_dash.web import WebDashboard

    web = WebDashboard(f"sqlite:///{path}")
    results: dict[str, list[float]] = {}
    with TestClient(web.app, base_url="http://127.0.0.1:8765") as client:

        def get(url: str) -> Callable[[], None]:
            def fetch() -> None:
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")

            return fetch

        results["overview"] = _timed(get("/"), repeats)
        results["task page"] = _timed(get("/task?name=task-007"), repeats)
        results["runs page"] = _timed(get("/runs"), repeats)
        # A page 40 pages deep: the key of the 2,000th newest run of the task.
        store = open_store(path)
        try:
            older = store.history("task-007", 2000)[-1]
        finally:
            store.close()
        key = f"{round(older.scheduled_for.timestamp() * 1_000_000)}.{older.attempt}.task-007"
        results["task page, page 40"] = _timed(get(f"/task?name=task-007&after={key}"), repeats)
    return results


def live(path: str, repeats: int) -> list[float] | None:
    """Milliseconds from a run's end being recorded to its row being in an open page."""
    if not os.path.exists(CHROMIUM):
        return None
    from playwright.sync_api import sync_playwright

    from autocron_dash.web import serve_dashboard

    times: list[float] = []
    with serve_dashboard(f"sqlite:///{path}", port=0) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{server.url}/task?name=task-011")
        page.wait_for_selector("tr.run")
        store = open_store(path)
        try:
            for i in range(repeats + 1):
                page.wait_for_timeout(500)  # the page's next live request is waiting again
                scheduled = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=365, minutes=i)
                stamp = scheduled.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
                running = RunRecord(
                    "task-011", scheduled, 1, RunStatus.RUNNING, scheduled, None, None, "bench"
                )
                store.claim_run(running)
                store.finish_run(running._replace(status=RunStatus.SUCCEEDED, finished_at=scheduled))
                ended = time.perf_counter()
                page.wait_for_function(
                    "t => { const c = document.querySelector('tr.run td'); return c && c.innerText === t; }",
                    arg=stamp,
                    timeout=30_000,
                    polling="raf",
                )
                if i:  # the first is a warm-up
                    times.append((time.perf_counter() - ended) * 1000)
        finally:
            store.close()
            browser.close()
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a page or the live update misses its budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 runs over 50 tasks, 3 repeats")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--db", metavar="PATH", help="database file to reuse (created when missing)")
    args = parser.parse_args(argv)
    tasks, runs, repeats = (50, 20_000, 3) if args.quick else (200, 100_000, 5)
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or os.path.join(folder, "bench.db")
        fill_s = fill(path, tasks, runs) if not os.path.exists(path) else None
        results = pages(path, repeats)
        live_ms = live(path, repeats)
    medians = {name: statistics.median(times) for name, times in results.items()}
    print(
        f"autocron-dash web: {runs:,} runs across {tasks} tasks in SQLite"
        + (f" (filled in {fill_s:.1f}s)" if fill_s is not None else " (reused database)")
    )
    print(f"{'operation':<22}{'median ms':>12}{'max ms':>10}  budget")
    over = False
    for name, times in results.items():
        ok = medians[name] <= BUDGET_MS
        budgeted = name in ("overview", "task page")
        over = over or (budgeted and not ok)
        verdict = f"{'ok' if ok else 'OVER'} (<= {BUDGET_MS:.0f} ms)" if budgeted else ""
        print(f"{name:<22}{medians[name]:>12.1f}{max(times):>10.1f}  {verdict}")
    live_median = statistics.median(live_ms) if live_ms else None
    if live_ms and live_median is not None:
        ok = max(live_ms) <= LIVE_BUDGET_MS
        over = over or not ok
        print(
            f"{'live update':<22}{live_median:>12.1f}{max(live_ms):>10.1f}  "
            f"{'ok' if ok else 'OVER'} (every one <= {LIVE_BUDGET_MS:.0f} ms)"
        )
    else:
        print(f"{'live update':<22}{'-':>12}{'-':>10}  skipped: no Chromium at {CHROMIUM}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "benchmark": "web",
                    "tasks": tasks,
                    "runs": runs,
                    "repeats": repeats,
                    "median_ms": medians,
                    "all_ms": results,
                    "live_update_ms": live_ms,
                    "budget_ms": BUDGET_MS,
                    "live_budget_ms": LIVE_BUDGET_MS,
                    "within_budget": not over,
                },
                handle,
                indent=2,
            )
    return 1 if over and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
