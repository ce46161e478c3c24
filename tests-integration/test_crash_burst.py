"""SIGKILL a scheduler in the middle of a burst: its run records lose nothing and double nothing.

Group commit writes a dispatch batch's claims before any of its runs start,
and finished runs a short window later. A real scheduler process
(``burst_node.py``) runs a burst of one-shot function tasks on a real
database and is killed while the burst is under way; the test then reads the
database and the process's journal of what really ran.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from autocron_store import SqlStore

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

NODE = Path(__file__).with_name("burst_node.py")
_REPO = Path(__file__).resolve().parent.parent
TASKS = 3000
LEASE = 1.0
#: The writer's window (20 ms) plus what a loaded 2-core machine adds to one transaction.
LAST_WINDOW = 1.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: an SQLite file, or the test's private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def _journal(path: Path) -> list[tuple[str, str, float]]:
    if not path.exists():
        return []
    lines = []
    # Read while the node appends: a line that straddles a page can show its first part
    # only. Every whole line ends with a newline, so what follows the last one is left.
    text = path.read_text()
    for line in text[: text.rfind("\n") + 1].splitlines():
        what, _node, task, when = line.split()
        lines.append((what, task, float(when)))
    return lines


def _rows(store: SqlStore) -> list[Any]:
    with store._engine.connect() as conn:
        return list(conn.execute(select(store.tables.runs)).mappings().all())


def test_sigkill_mid_burst_loses_and_doubles_no_run(url: str, tmp_path: Path) -> None:
    """Killed mid-burst: every run that started was claimed once; the ones unfinished end abandoned."""
    log = tmp_path / "journal.log"
    err = open(tmp_path / "node.err", "wb")  # noqa: SIM115 - the process owns it
    proc = subprocess.Popen(
        [sys.executable, str(NODE), url, "victim", str(log), str(TASKS)], stdout=err, stderr=err, cwd=_REPO
    )
    err.close()
    try:
        deadline = time.monotonic() + 60
        while sum(1 for what, _, _ in _journal(log) if what == "end") < TASKS // 4:
            assert proc.poll() is None, (tmp_path / "node.err").read_text()
            assert time.monotonic() < deadline, "the burst never got going"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    journal = _journal(log)
    started = collections.Counter(task for what, task, _ in journal if what == "start")
    ended = {task: when for what, task, when in journal if what == "end"}
    assert 0 < len(ended) < TASKS, "killed in the middle of the burst"
    assert all(n == 1 for n in started.values()), "no run started twice"

    store = SqlStore(url, lease=LEASE)
    try:
        before = {row["task"]: row for row in _rows(store)}
        # Claimed once, before the run began: every started run has its row, by the killed node.
        assert set(started) <= set(before)
        assert {row["node_id"] for row in before.values()} == {"victim"}
        assert all(row["attempt"] == 1 for row in before.values())
        time.sleep(LEASE + 0.5)  # the dead node's leases run out
        reaped = store.reap_abandoned("reaper")
        after = {row["task"]: row for row in _rows(store)}
    finally:
        store.close()

    statuses = collections.Counter(row["status"] for row in after.values())
    assert set(statuses) <= {"succeeded", "abandoned"}, statuses
    assert statuses["abandoned"] > 0, "runs were in flight when the process died"
    assert {r.task for r in reaped} == {t for t, row in after.items() if row["status"] == "abandoned"}
    for task, row in after.items():
        if row["status"] == "succeeded":
            assert task in ended, f"{task} recorded succeeded but never finished"
        elif task in ended:
            # Its finish was still in the writer's window when the process died.
            assert ended[task] >= killed_at - LAST_WINDOW, (task, killed_at - ended[task])
    # Nothing unclaimed ever ran; what was claimed and never started is abandoned, not lost.
    assert set(started) | {t for t, row in after.items() if row["status"] == "abandoned"} >= set(after) - set(
        ended
    )
