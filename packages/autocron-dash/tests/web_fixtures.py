"""Real SQLite stores for the web dashboard's tests, and a server on a free loopback port."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from autocron_core import RunStatus
from autocron_store import SqlStore

from .conftest import define, fill_known_history, record, write

#: Names a user could give a task that a page must show as text, never as markup.
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "-x --rm",
    "a&b=c#frag?q",
    "x" * 200,
]


def make_db(tmp_path: Path, hostile: bool = True) -> str:
    """An SQLite store with the known history (and the hostile names); its URL."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    store = SqlStore(url)
    try:
        fill_known_history(store)
        if hostile:
            for name in HOSTILE:
                define(store, name)
                write(
                    store, [record(name, 0, RunStatus.FAILED, error=f"boom {name}", output=f"out {name}\n")]
                )
    finally:
        store.close()
    return url


def add_success(url: str, name: str, index: int, at: _dt.datetime | None = None) -> None:
    """Record one more finished run of ``name``, as another process would.

    It is the ``index``-th occurrence of the crafted history, or scheduled ``at`` that moment.
    """
    run = record(name, index, RunStatus.SUCCEEDED, duration=1.0)
    if at is not None:
        run = run._replace(scheduled_for=at, started_at=at, finished_at=at + _dt.timedelta(seconds=1))
    store = SqlStore(url)
    try:
        write(store, [run])
    finally:
        store.close()


def utc(*args: int) -> _dt.datetime:
    """An aware UTC datetime."""
    return _dt.datetime(*args, tzinfo=_dt.timezone.utc)


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def login(client: Any, token: str) -> str:
    """Log ``client`` in with ``token``; the CSRF token of its session."""
    response = client.post("/login", data={"token": token, "next": "/runs"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/runs").text)


def demo_db(tmp_path: Path, now: _dt.datetime) -> str:
    """A store that looks like a small team's: a few tasks with a day of runs up to ``now``."""
    import random

    from autocron_core import RunRecord, build_task

    rng = random.Random(20)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    store = SqlStore(url)
    plans: list[tuple[str, dict[str, Any], float, float, float]] = [
        # name, schedule, seconds between runs, typical duration, failure share
        ("sync-crm", {"every": "5m"}, 300, 3.5, 0.2),
        ("send-report", {"cron": "*/15 * * * *", "timezone": "Europe/Berlin"}, 900, 12.0, 0.05),
        ("nightly-backup", {"cron": "30 2 * * *", "timezone": "America/New_York"}, 6 * 3600, 95.0, 0.0),
        ("thumbnails", {"every": "10m"}, 600, 40.0, 0.0),
        ("import-orders", {"every": "30m"}, 1800, 8.0, 0.5),
    ]
    try:
        for name, schedule, step, typical, fail_share in plans:
            task = build_task(name, command=["sh", "-c", "sleep 1; echo done"], **schedule)
            nxt = task.next_fire_after_us(int(now.timestamp() * 1_000_000))
            task.next_run_us = nxt
            store.save_task(task)
            count = min(60, int(24 * 3600 // step))
            records = []
            for i in range(count):
                scheduled = now - _dt.timedelta(seconds=step * (count - i))
                started = scheduled + _dt.timedelta(seconds=rng.uniform(0, 0.4))
                took = typical * rng.uniform(0.7, 1.3) * (1 + i / count / 2)
                failed = rng.random() < fail_share
                status = RunStatus.FAILED if failed else RunStatus.SUCCEEDED
                error = "ConnectionError: crm.example.com refused the connection" if failed else None
                output = f"processed {rng.randint(50, 200)} items\n" if not failed else "connecting...\n"
                records.append(
                    RunRecord(
                        name,
                        scheduled,
                        1,
                        status,
                        started,
                        started + _dt.timedelta(seconds=took),
                        error,
                        "node-a",
                        output,
                    )
                )
            write(store, records)
    finally:
        store.close()
    return url
