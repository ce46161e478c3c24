"""AutoCron with a SQL store: tasks, state and run records survive a restart.

Time is a FakeClock: the schedulers are started (non-blocking) and
``settle()`` returns once everything due at the fake time has run and been
recorded; nothing sleeps.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from autocron_core import AutoCron
from autocron_core.records import RunStatus
from autocron_core.testing import FakeClock
from autocron_store import SqlStore

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)
_US = 1_000_000


@pytest.fixture
def url(tmp_path: Path) -> str:
    """An SQLite database file of this test."""
    return f"sqlite:///{tmp_path / 'autocron.db'}"


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    """A file each run appends one line to."""
    return tmp_path / "runs.txt"


def _command(marks: Path) -> list[str]:
    return [sys.executable, "-c", "import sys; open(sys.argv[1], 'a').write('x\\n')", str(marks)]


def _runs(marks: Path) -> int:
    return len(marks.read_text().splitlines()) if marks.exists() else 0


@pytest.fixture
def opened() -> Iterator[list[AutoCron]]:
    """Schedulers a test opened, closed afterwards."""
    schedulers: list[AutoCron] = []
    yield schedulers
    for scheduler in schedulers:
        if not getattr(scheduler, "_test_closed", False):
            scheduler.close()


def _open(url: str, clock: FakeClock, opened: list[AutoCron]) -> AutoCron:
    scheduler = AutoCron(timezone="UTC", store=url, clock=clock, node_id="node-1")
    opened.append(scheduler)
    scheduler.start(blocking=False)
    return scheduler


def _tick(scheduler: AutoCron, clock: FakeClock) -> None:
    assert scheduler.settle(60)


def _close(scheduler: AutoCron) -> None:
    scheduler.close()
    scheduler._test_closed = True  # type: ignore[attr-defined]


def test_tasks_come_back_after_a_restart_with_their_next_run(
    url: str, marks: Path, opened: list[AutoCron]
) -> None:
    """A new scheduler on the same database restores script/command tasks, counters and next run."""
    clock = FakeClock(T0)
    first = _open(url, clock, opened)
    first.add_task("tick", command=_command(marks), every="1m", retries=2)
    clock.advance(60)
    _tick(first, clock)
    assert _runs(marks) == 1
    _close(first)

    second = _open(url, clock, opened)
    task = second.get_task(name="tick")
    assert task is not None
    assert task.next_run_us == (int(T0.timestamp()) + 120) * _US
    assert task.run_count == 1 and task.policy.retries == 2
    (record,) = second.history("tick")
    assert record.status is RunStatus.SUCCEEDED and record.scheduled_for == T0 + _dt.timedelta(minutes=1)


def test_an_occurrence_that_already_ran_is_not_run_again(
    url: str, marks: Path, opened: list[AutoCron]
) -> None:
    """If the state was lost after a run, the claim stops the occurrence from running twice."""
    clock = FakeClock(T0)
    first = _open(url, clock, opened)
    first.add_task("tick", command=_command(marks), every="1m")
    clock.advance(60)
    _tick(first, clock)
    _close(first)
    # A crash between the run and the state write: the stored next run is the old occurrence.
    store = SqlStore(url)
    with store._engine.begin() as conn:
        conn.execute(update(store.tables.tasks).values(next_run_us=(int(T0.timestamp()) + 60) * _US))
    store.close()

    second = _open(url, clock, opened)
    _tick(second, clock)
    assert _runs(marks) == 1
    assert len(second.history("tick")) == 1


def test_missed_occurrences_are_coalesced_after_downtime(
    url: str, marks: Path, opened: list[AutoCron]
) -> None:
    """With coalesce, ten minutes of downtime give one run now and one 'missed' record."""
    clock = FakeClock(T0)
    first = _open(url, clock, opened)
    first.add_task("tick", command=_command(marks), every="1m")
    clock.advance(60)
    _tick(first, clock)
    _close(first)

    clock.advance(600)  # down for ten minutes
    second = _open(url, clock, opened)
    _tick(second, clock)
    assert _runs(marks) == 2
    statuses = [r.status for r in second.history("tick")]
    assert statuses.count(RunStatus.SUCCEEDED) == 2 and statuses.count(RunStatus.MISSED) == 1
    newest = second.history("tick", 1)[0]
    assert newest.scheduled_for == clock.now() and newest.status is RunStatus.SUCCEEDED


def test_missed_occurrences_past_the_grace_time_are_recorded_missed(
    url: str, marks: Path, opened: list[AutoCron]
) -> None:
    """Without coalesce, each occurrence later than misfire_grace_time is recorded missed, not run."""
    clock = FakeClock(T0)
    first = _open(url, clock, opened)
    first.add_task("tick", command=_command(marks), every="1m", coalesce=False, misfire_grace_time=30)
    clock.advance(60)
    _tick(first, clock)
    _close(first)

    clock.advance(300)
    second = _open(url, clock, opened)
    _tick(second, clock)
    history = second.history("tick")
    assert [r.status for r in history].count(RunStatus.MISSED) == 4
    assert _runs(marks) == 2  # the first run and the on-time occurrence now


def test_function_tasks_are_not_persisted(url: str, opened: list[AutoCron]) -> None:
    """Function tasks live in code: a restart does not bring them back from the database."""
    clock = FakeClock(T0)
    first = _open(url, clock, opened)
    first.add_task("fn", func=print, every="1m")
    _close(first)
    assert _open(url, clock, opened).get_task(name="fn") is None
