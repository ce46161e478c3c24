"""A scheduler with a burst of due runs, for the crash test: ``python burst_node.py URL NODE LOG N``.

It adds N function tasks, all due at one instant a second ahead, and runs
until killed. Each run appends ``start <node> <task> <time>`` when it begins
and ``end <node> <task> <time>`` when its body is done, each line one
``write`` on an ``O_APPEND`` descriptor (a SIGKILL never leaves half a line),
then sleeps a few milliseconds so that the burst lasts long enough to be
killed in its middle.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import threading
import time

from autocron_core import AutoCron
from autocron_core._runctx import current_run
from autocron_store import SqlStore


def main(argv: list[str]) -> int:
    """Run the burst until killed."""
    url, node, log, count = argv[0], argv[1], argv[2], int(argv[3])
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def body() -> None:
        run = current_run()
        name = getattr(run, "task_name", "?")
        os.write(fd, f"start {node} {name} {time.time():.6f}\n".encode())
        time.sleep(0.004)
        os.write(fd, f"end {node} {name} {time.time():.6f}\n".encode())

    scheduler = AutoCron(
        timezone="UTC", store=SqlStore(url, lease=1.0), node_id=node, max_workers=8, log_level=None
    )
    due = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=1)
    for i in range(count):
        scheduler.add_task(f"burst-{i}", func=body, at=due, misfire_grace_time=None)
    scheduler.start(blocking=False)
    threading.Event().wait(120)  # killed long before
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
