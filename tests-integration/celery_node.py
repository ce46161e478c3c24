"""One AutoCron node sending its tasks to Celery: ``python celery_node.py URL NODE_ID [--duration S]``.

It opens the shared store at URL (the test's private schema), takes the
Celery app from ``$AUTOCRON_CELERY_APP``, runs the stored tasks until SIGTERM
or ``--duration``, then stops cleanly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from autocron_core import AutoCron
from autocron_store import SqlStore


def main(argv: list[str] | None = None) -> int:
    """Run one node until SIGTERM or the duration ends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("node_id")
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=120.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s {args.node_id} %(name)s: %(message)s")
    scheduler = AutoCron(
        timezone="UTC", store=SqlStore(args.url, lease=args.lease), node_id=args.node_id, log_level=None
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    scheduler.start(blocking=False)
    sync = threading.Thread(
        target=lambda: [scheduler.sync_with_store() for _ in iter(lambda: done.wait(1), True)], daemon=True
    )
    sync.start()
    done.wait(args.duration)
    scheduler.stop(timeout=30)
    scheduler.store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
