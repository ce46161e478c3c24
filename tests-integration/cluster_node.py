"""One scheduler node for the multi-node tests: ``python cluster_node.py URL NODE_ID LOG [options]``.

It opens the store at URL (the test's exact URL: a PostgreSQL URL whose
search_path names the test's private schema, or a Redis URL with the test's
own key prefix), registers the function tasks asked for, runs until
SIGTERM or ``--duration``, then stops cleanly. Every execution of a function
task appends one line to LOG, written with a single ``write`` on an
``O_APPEND`` descriptor so a SIGKILL never leaves half a line::

    start <node> <task> <scheduled_for_iso> <attempt>
    end <node> <task> <scheduled_for_iso> <attempt>

Those lines are what the tests count to prove that nothing ran twice; the
runs table only proves that nothing was claimed twice.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

from autocron_core import AutoCron
from autocron_core._runctx import current_run
from autocron_store import RedisStore, SqlStore


class Journal:
    """The node's execution log."""

    def __init__(self, path: str, node: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._node = node

    def write(self, what: str) -> None:
        """Append one line about the run executing on this thread."""
        run = current_run()
        if run is None:
            return
        attempt = getattr(run, "attempt", 0)
        line = f"{what} {self._node} {run.task_name} {run.scheduled_iso} {attempt}\n"
        os.write(self._fd, line.encode())


def main(argv: list[str] | None = None) -> int:
    """Run one node until SIGTERM or the duration ends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("node_id")
    parser.add_argument("log")
    parser.add_argument("--lease", type=float, default=2.0, help="lease seconds")
    parser.add_argument("--ticks", type=int, default=0, help="function tasks tick-0..tick-N-1")
    parser.add_argument("--every", default="1s", help="the ticks' interval")
    parser.add_argument("--slow", type=float, default=0, help="a task 'slow' running this many seconds")
    parser.add_argument("--slow-every", default="30s", help="the slow task's interval")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--duration", type=float, default=120.0, help="stop by itself after this long")
    args = parser.parse_args(argv)

    # Warnings (reconnects, reaped claims) go to stderr, which the test keeps in a file.
    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s {args.node_id} %(name)s: %(message)s")
    journal = Journal(args.log, args.node_id)
    store: SqlStore | RedisStore
    if args.url.startswith(("redis://", "rediss://")):
        store = RedisStore(args.url, lease=args.lease)
    else:
        store = SqlStore(args.url, lease=args.lease)
    scheduler = AutoCron(
        timezone="UTC", store=store, node_id=args.node_id, max_workers=args.workers, log_level=None
    )

    def tick() -> None:
        journal.write("start")
        journal.write("end")

    def slow() -> None:
        journal.write("start")
        time.sleep(args.slow)
        journal.write("end")

    for i in range(args.ticks):
        scheduler.add_task(f"tick-{i}", func=tick, every=args.every, misfire_grace_time=5)
    if args.slow:
        scheduler.add_task("slow", func=slow, every=args.slow_every, retries=1, retry_delay=0)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    scheduler.start(blocking=False)
    done.wait(args.duration)
    scheduler.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
