"""The Celery app bench_celery.py's workers and schedulers share (broker and backend from the env).

``bench.lag`` appends, with one ``write`` on an ``O_APPEND`` descriptor, how late it
started: worker start time minus its scheduled time, which AutoCron's message
carries in its claim header and celery beat's in the ``scheduled`` keyword
(added by ``StampingScheduler``, since beat itself sends none).
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from typing import Any

from celery import Celery
from celery.beat import PersistentScheduler

import autocron_celery

app = Celery(
    "autocron_bench",
    broker=os.environ.get("AUTOCRON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("AUTOCRON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    broker_connection_retry_on_startup=True,
    result_expires=600,
    task_default_queue=os.environ.get("BENCH_QUEUE", "autocron-bench"),
    worker_hijack_root_logger=False,
    beat_max_loop_interval=1,
)
autocron_celery.setup(app)


@app.task(name="bench.lag", bind=True)
def lag(self: Any, scheduled: str | None = None) -> None:
    """Record this run's lag (seconds) and its scheduled time in the journal."""
    started = time.time()
    claim = self.request.get("autocron_claim")
    if scheduled is None and claim:
        scheduled = claim.rpartition("@")[2].rpartition("#")[0]
    if scheduled is None:
        return
    moment = _dt.datetime.fromisoformat(scheduled).timestamp()
    path = os.environ.get("BENCH_JOURNAL")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{moment:.6f} {started - moment:.6f}\n".encode())
        finally:
            os.close(fd)


class StampingScheduler(PersistentScheduler):  # type: ignore[misc]
    """celery beat, telling each message the time its entry was due (for the lag measure)."""

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        due = entry.last_run_at + entry.schedule.run_every
        entry.kwargs = {"scheduled": due.isoformat()}
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
