"""pause_after_failures, pause notes (who, why, when), resume clearing them, the paused notification."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, Event, TaskError
from autocron_core._pausenote import consecutive_failures
from autocron_core.records import RunRecord, RunStatus
from autocron_core.task import Task, build_task
from autocron_core.testing import FakeClock

UTC = dt.timezone.utc


class Recorder:
    """A notifier object that keeps what it was sent."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def notify(self, event: Event) -> None:
        self.events.append(event)


def _drive(scheduler: AutoCron, clock: FakeClock, outcomes: list[bool], every: int = 60) -> None:
    for _ in outcomes:
        clock.advance(every)
        assert scheduler.settle()


def test_pauses_after_n_consecutive_failed_runs_with_a_note(scheduler: AutoCron, clock: FakeClock) -> None:
    """Three failed runs in a row (each after its retry) pause the task with a note; it notifies."""
    recorder = Recorder()
    paused: list[Event] = []
    scheduler.add_listener(paused.append, kinds=["paused"])

    def broken() -> None:
        raise ConnectionError("db unreachable\nretry later")

    scheduler.add_task(
        "sync", func=broken, every="1m", retries=1, retry_delay=5, pause_after_failures=3, notify=[recorder]
    )
    for index in range(3):
        clock.advance(60 if index == 0 else 55)  # the occurrence
        assert scheduler.settle()
        clock.advance(5)  # its retry
        assert scheduler.settle()
    task = scheduler.get_task(name="sync")
    assert task.paused
    assert (
        task.pause_note == "paused after 3 consecutive failures: ConnectionError: db unreachable retry later"
    )
    assert task.paused_by == "autocron"
    assert task.paused_at == clock.now()
    assert [e.error for e in paused] == [task.pause_note]
    scheduler.notifications.flush()
    assert [e.kind.value for e in recorder.events if e.kind.value == "paused"] == ["paused"]
    assert recorder.events[-1].error == task.pause_note
    runs_before = len(scheduler.history("sync", 100))
    clock.advance(600)
    assert scheduler.settle()
    assert len(scheduler.history("sync", 100)) == runs_before  # paused: nothing fires


def test_a_success_or_a_resume_restarts_the_streak(scheduler: AutoCron, clock: FakeClock) -> None:
    """fail, fail, succeed, fail, fail does not pause at 3; resume clears the note and the streak."""
    plan = iter([False, False, True, False, False, False, False, False])

    def job() -> None:
        if not next(plan):
            raise RuntimeError("no")

    scheduler.add_task("job", func=job, every="1m", pause_after_failures=3)
    _drive(scheduler, clock, [False] * 5)
    task = scheduler.get_task(name="job")
    assert not task.paused
    _drive(scheduler, clock, [False])
    assert task.paused and task.pause_note is not None
    scheduler.resume_task("job")
    assert (task.pause_note, task.paused_by, task.paused_at) == (None, None, None)
    assert task.resumed_at == clock.now()
    _drive(scheduler, clock, [False, False])
    assert not task.paused  # two failures since the resume, not five


@settings(max_examples=40, deadline=None)
@given(limit=st.integers(1, 4), outcomes=st.lists(st.booleans(), min_size=1, max_size=10))
def test_pause_happens_exactly_at_the_nth_consecutive_failure(limit: int, outcomes: list[bool]) -> None:
    """Random success/failure sequences: the task pauses right after the first run that completes
    ``limit`` failures in a row, and never before."""
    clock = FakeClock(dt.datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    scheduler = AutoCron(timezone="UTC", clock=clock, max_workers=2)
    plan = iter(outcomes)

    def job() -> None:
        if not next(plan, True):
            raise RuntimeError("no")

    scheduler.add_task("job", func=job, every="1m", pause_after_failures=limit)
    scheduler.start(blocking=False)
    try:
        streak = 0
        expected_pause_at = None
        for index, succeeded in enumerate(outcomes):
            streak = 0 if succeeded else streak + 1
            if streak >= limit and expected_pause_at is None:
                expected_pause_at = index
        for index in range(len(outcomes)):
            clock.advance(60)
            assert scheduler.settle()
            paused = scheduler.get_task(name="job").paused
            assert paused == (expected_pause_at is not None and index >= expected_pause_at)
            if paused:
                break
    finally:
        scheduler.stop(timeout=5)


def test_manual_pause_keeps_note_and_author_and_emits_it(scheduler: AutoCron, clock: FakeClock) -> None:
    """pause_task(name, note=, by=) stores the three fields and the paused event carries the note."""
    events: list[Event] = []
    scheduler.add_listener(events.append, kinds=["paused", "resumed"])
    scheduler.add_task("job", func="os:getpid", every="1m")
    scheduler.pause_task("job", note="waiting for <b>vendor</b> [fix]", by="alice")
    task = scheduler.get_task(name="job")
    assert (task.pause_note, task.paused_by, task.paused_at) == (
        "waiting for <b>vendor</b> [fix]",
        "alice",
        clock.now(),
    )
    assert task.to_dict()["pause"] == {"note": task.pause_note, "by": "alice", "at": clock.now().isoformat()}
    rebuilt = Task.from_dict(task.to_dict())
    assert (rebuilt.paused, rebuilt.pause_note, rebuilt.paused_by, rebuilt.paused_at) == (
        True, task.pause_note, "alice", clock.now()
    )  # fmt: skip
    scheduler.resume_task("job")
    assert [(e.kind.value, e.error) for e in events] == [
        ("paused", "waiting for <b>vendor</b> [fix]"),
        ("resumed", None),
    ]


@pytest.mark.parametrize(
    ("note", "by"),
    [
        ("a\nb", None),
        ("bell\x07", None),
        ("c1\x85", None),
        ("x" * 1001, None),
        (3, None),
        ("ok", "bob\t"),
        ("ok", 5),
    ],
)
def test_bad_note_or_author_is_refused_and_nothing_changes(
    scheduler: AutoCron, note: object, by: object
) -> None:
    """Control characters, over-long notes and non-text are refused; the task stays as it was."""
    scheduler.add_task("job", func=lambda: None, every="1m")
    with pytest.raises(TaskError) as caught:
        scheduler.pause_task("job", note=note, by=by)  # type: ignore[arg-type]
    assert caught.value.field in ("note", "by")
    task = scheduler.get_task(name="job")
    assert not task.paused and task.pause_note is None and task.paused_at is None


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "3", float("nan"), float("inf"), 10**9])
def test_bad_pause_after_failures_is_refused(value: object) -> None:
    """pause_after_failures takes a whole number from 1 to 1,000,000."""
    with pytest.raises(TaskError) as caught:
        build_task("t", func="os:getpid", every="1m", pause_after_failures=value)
    assert caught.value.field == "pause_after_failures"


def test_stored_pause_block_is_validated() -> None:
    """A stored pause entry with control characters or a naive time is refused when read back."""
    data = build_task("t", func="os:getpid", every="1m").to_dict()
    for block in ({"note": "a\x1b[2J"}, {"at": "2026-01-01T00:00"}, {"who": "x"}, "text"):
        with pytest.raises(TaskError):
            Task.from_dict({**data, "pause": block})


def _rec(minute: int, status: str, attempt: int = 1) -> RunRecord:
    moment = dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=minute)
    return RunRecord("t", moment, attempt, RunStatus(status), moment, moment, None, "n")


def test_streak_counts_occurrences_by_their_last_attempt() -> None:
    """A failure then a successful retry is a success; skipped and running ones neither count nor break."""
    records = [
        _rec(5, "failed"),
        _rec(4, "skipped"),
        _rec(3, "succeeded", 2),
        _rec(3, "failed", 1),
        _rec(2, "failed"),
    ]
    assert consecutive_failures(records, None) == 1
    records = [
        _rec(5, "timed_out"),
        _rec(4, "running"),
        _rec(3, "abandoned"),
        _rec(2, "failed"),
        _rec(1, "succeeded"),
    ]
    assert consecutive_failures(records, None) == 3
    since = dt.datetime(2026, 1, 1, 0, 2, 30, tzinfo=UTC)
    assert consecutive_failures(records, since) == 2


@settings(max_examples=80, deadline=None)
@given(note=st.text(max_size=1100))
def test_any_note_is_kept_exactly_or_refused_cleanly(note: str) -> None:
    """Arbitrary text: kept as given (and read back from the definition) when it has no control
    characters and fits, otherwise a TaskError on ``note`` with the task left running."""
    import unicodedata

    scheduler = AutoCron(timezone="UTC", clock=FakeClock())
    scheduler.add_task("job", func="os:getpid", every="1m")
    bad = len(note) > 1000 or any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in note)
    try:
        scheduler.pause_task("job", note=note, by="-rf")
    except TaskError as exc:
        assert bad and exc.field == "note"
        assert not scheduler.get_task(name="job").paused
        return
    assert not bad
    rebuilt = Task.from_dict(scheduler.get_task(name="job").to_dict())
    assert (rebuilt.pause_note, rebuilt.paused_by) == (note, "-rf")
