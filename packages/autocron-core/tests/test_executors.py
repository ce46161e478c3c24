"""The executor plug-in point: attempts handed to an Executor and reported back (FakeClock)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, EventKind, RunStatus, TaskError
from autocron_core.protocols import Executor, Outcome, Submission
from autocron_core.task import Task, build_task
from autocron_core.testing import ExecutorContract, FakeClock

T0 = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc)  # the clock fixture's start


class ManualExecutor:
    """An executor whose outcomes the test gives: it keeps what was submitted."""

    def __init__(self, name: str = "celery", fail_sends: int = 0) -> None:
        self.name = name
        self.sent: list[tuple[Submission, Callable[[Outcome], None]]] = []
        self.fail_sends = fail_sends
        self.closed = False
        self._lock = threading.Lock()

    def submit(self, submission: Submission, report: Callable[[Outcome], None]) -> None:
        with self._lock:
            if self.fail_sends:
                self.fail_sends -= 1
                raise ConnectionError("broker unreachable")
            self.sent.append((submission, report))

    def close(self) -> None:
        self.closed = True

    def report(
        self, index: int, status: RunStatus, error: str | None = None, output: str | None = None
    ) -> None:
        self.sent[index][1](Outcome(status, error, output))


@pytest.fixture
def executor() -> ManualExecutor:
    return ManualExecutor()


@pytest.fixture
def remote(clock: FakeClock, executor: ManualExecutor) -> Iterator[AutoCron]:
    """A started scheduler whose every task goes to ``executor``."""
    instance = AutoCron(timezone="UTC", clock=clock, executor=executor)
    instance.start(blocking=False)
    yield instance
    instance.stop(wait=True, timeout=5)


def _wait_sent(executor: ManualExecutor, count: int) -> None:
    deadline = threading.Event()
    for _ in range(500):
        if len(executor.sent) >= count:
            return
        deadline.wait(0.01)
    raise AssertionError(f"{len(executor.sent)} submission(s), expected {count}")


def test_manual_executor_is_an_executor(executor: ManualExecutor) -> None:
    """The protocol is runtime-checkable: name, submit and close."""
    assert isinstance(executor, Executor)


def test_a_submission_carries_claim_expiry_timeout_and_queue(
    remote: AutoCron, clock: FakeClock, executor: ManualExecutor
) -> None:
    """One claimed attempt becomes one submission with its idempotency key and limits; the record
    stays running until the outcome, and the local timeout timer is not armed."""
    remote.add_task(
        "report",
        celery="proj.tasks.report",
        args=(1,),
        every="1m",
        queue="reports",
        timeout=5,
        misfire_grace_time=30,
    )
    clock.advance(60)
    _wait_sent(executor, 1)
    sub = executor.sent[0][0]
    occurrence = T0 + dt.timedelta(minutes=1)
    assert sub.claim_id == f"report@{occurrence.isoformat()}#1"
    assert (sub.attempt, sub.timeout, sub.queue) == (1, 5, "reports")
    assert sub.expires_at == occurrence + dt.timedelta(seconds=30)
    assert sub.task.target == "proj.tasks.report" and sub.task.args == (1,)
    clock.advance(20)  # past the timeout: enforced by the executor, not here
    assert [r.status for r in remote.history("report")] == [RunStatus.RUNNING]
    executor.report(0, RunStatus.SUCCEEDED, output="done")
    assert remote.settle()
    (record,) = remote.history("report")
    assert (record.status, record.output) == (RunStatus.SUCCEEDED, "done")


def test_a_second_outcome_for_one_attempt_is_ignored(
    remote: AutoCron, clock: FakeClock, executor: ManualExecutor
) -> None:
    """A redelivered message reporting again changes nothing: one record, one success counted."""
    seen: list[EventKind] = []
    remote.add_listener(lambda e: seen.append(e.kind), kinds=[EventKind.SUCCEEDED, EventKind.FAILED])
    remote.add_task("once", celery="proj.once", every="1m")
    clock.advance(60)
    _wait_sent(executor, 1)
    executor.report(0, RunStatus.SUCCEEDED)
    executor.report(0, RunStatus.FAILED, "late duplicate")
    assert remote.settle()
    assert [r.status for r in remote.history("once")] == [RunStatus.SUCCEEDED]
    assert remote.get_task(name="once").run_count == 1
    assert seen == [EventKind.SUCCEEDED]


def test_each_retry_is_a_new_submission(remote: AutoCron, clock: FakeClock, executor: ManualExecutor) -> None:
    """A failed attempt is retried by AutoCron's policy: attempt 2 is another submission."""
    remote.add_task("flaky", celery="proj.flaky", every="1h", retries=1, retry_delay=10)
    clock.advance(3600)
    _wait_sent(executor, 1)
    executor.report(0, RunStatus.FAILED, "RuntimeError: boom")
    assert remote.settle()
    clock.advance(10)
    _wait_sent(executor, 2)
    second = executor.sent[1][0]
    assert second.attempt == 2 and second.claim_id.endswith("#2")
    assert second.expires_at == T0 + dt.timedelta(hours=1, seconds=10 + 60)  # sent at +10 s, grace 60 s
    executor.report(1, RunStatus.SUCCEEDED)
    assert remote.settle()
    assert [(r.attempt, r.status) for r in remote.history("flaky")] == [
        (2, RunStatus.SUCCEEDED),
        (1, RunStatus.FAILED),
    ]


def test_an_expired_attempt_is_recorded_missed_and_never_retried(
    remote: AutoCron, clock: FakeClock, executor: ManualExecutor
) -> None:
    """MISSED from the executor: a missed record with the reason, a missed event, no retry."""
    seen: list[EventKind] = []
    remote.add_listener(lambda e: seen.append(e.kind), kinds=[EventKind.MISSED, EventKind.FAILED])
    remote.add_task("stale", celery="proj.stale", every="1h", retries=3, retry_delay=1)
    clock.advance(3600)
    _wait_sent(executor, 1)
    executor.report(0, RunStatus.MISSED, "expired: no worker started it")
    assert remote.settle()
    clock.advance(5)
    assert remote.settle()
    (record,) = remote.history("stale")
    assert record.status is RunStatus.MISSED and "no worker" in (record.error or "")
    assert len(executor.sent) == 1 and seen == [EventKind.MISSED]
    assert remote.get_task(name="stale").running == 0


def test_a_send_that_fails_is_recorded_failed_and_retried(clock: FakeClock) -> None:
    """The broker refusing the message: the attempt fails with the reason, the retry is sent."""
    executor = ManualExecutor(fail_sends=1)
    s = AutoCron(timezone="UTC", clock=clock, executor=executor)
    s.start(blocking=False)
    try:
        s.add_task("job", celery="proj.job", every="1h", retries=1, retry_delay=1)
        clock.advance(3600)
        assert s.settle()
        (first,) = s.history("job")
        assert first.status is RunStatus.FAILED and "broker unreachable" in (first.error or "")
        clock.advance(1)
        _wait_sent(executor, 1)
        assert executor.sent[0][0].attempt == 2
    finally:
        s.stop(timeout=5)


def test_overlap_counts_attempts_out_on_the_executor(
    remote: AutoCron, clock: FakeClock, executor: ManualExecutor
) -> None:
    """overlap_policy="skip": the next occurrence is skipped while the last one is still out."""
    remote.add_task("long", celery="proj.long", every="1m")
    clock.advance(60)
    _wait_sent(executor, 1)
    clock.advance(60)
    assert not remote.settle(0.3)  # the first attempt is still out: not settled
    assert [r.status for r in remote.history("long")] == [RunStatus.SKIPPED, RunStatus.RUNNING]
    executor.report(0, RunStatus.SUCCEEDED)
    assert remote.settle()
    assert len(executor.sent) == 1


def test_executor_local_keeps_a_task_in_this_process(
    remote: AutoCron, clock: FakeClock, executor: ManualExecutor
) -> None:
    """executor="local" under a scheduler-wide executor runs the function here."""
    ran: list[int] = []
    remote.add_task("here", func=lambda: ran.append(1), every="1m", executor="local")
    clock.advance(60)
    assert remote.settle()
    assert ran == [1] and executor.sent == []


def test_stop_records_attempts_still_out_as_abandoned(clock: FakeClock, executor: ManualExecutor) -> None:
    """stop() waits up to its timeout for outcomes, then records what is still out abandoned."""
    s = AutoCron(timezone="UTC", clock=clock, executor=executor)
    s.start(blocking=False)
    s.add_task("out", celery="proj.out", every="1m")
    clock.advance(60)
    _wait_sent(executor, 1)
    assert s.stop(timeout=0.2) is False
    (record,) = s.history("out")
    assert record.status is RunStatus.ABANDONED and "before its executor reported" in (record.error or "")
    assert executor.closed
    executor.report(0, RunStatus.SUCCEEDED)  # too late: ignored
    assert s.history("out")[0].status is RunStatus.ABANDONED


def test_a_celery_task_without_an_app_fails_with_the_reason(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Celery app anywhere: each attempt is recorded failed saying what to give."""
    monkeypatch.delenv("AUTOCRON_CELERY_APP", raising=False)
    s = AutoCron(timezone="UTC", clock=clock)
    s.start(blocking=False)
    try:
        s.add_task("orphan", celery="proj.orphan", every="1m")
        clock.advance(60)
        assert s.settle()
        (record,) = s.history("orphan")
        assert record.status is RunStatus.FAILED
        assert "celery" in (record.error or "")  # celery_app=..., or pip install 'autocron[celery]'
    finally:
        s.stop(timeout=5)


def test_celery_tasks_round_trip_through_their_definition() -> None:
    """to_dict/from_dict (what stores and task files keep) keep celery=, queue= and executor=."""
    task = build_task("r", celery="proj.tasks.report", cron="0 6 * * *", queue="reports", kwargs={"a": 1})
    data = task.to_dict()
    assert data["celery"] == "proj.tasks.report" and data["queue"] == "reports" and "executor" not in data
    again = Task.from_dict(data)
    assert (again.kind, again.target, again.route) == ("celery", "proj.tasks.report", task.route)
    local = Task.from_dict(build_task("l", command="true", every="1m", executor="local").to_dict())
    assert local.route is not None and local.route.executor == "local"


def test_a_celery_task_cannot_run_in_process() -> None:
    """execute() on a celery= task refuses, naming what it needs."""
    with pytest.raises(TaskError, match="celery_app"):
        build_task("r", celery="proj.r", every="1m").execute()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"celery": ""}, "celery"),
        ({"celery": "proj tasks"}, "celery"),
        ({"celery": "-rf"}, "celery"),
        ({"celery": "proj.\x1b[31mred"}, "celery"),
        ({"celery": "x" * 201}, "celery"),
        ({"celery": 42}, "celery"),
        ({"celery": "proj.t", "queue": "q\n"}, "queue"),
        ({"celery": "proj.t", "queue": "--all"}, "queue"),
        ({"celery": "proj.t", "executor": "local"}, "executor"),
        ({"command": "true", "executor": "Celery!"}, "executor"),
        ({"command": "true", "executor": "local", "queue": "q"}, "queue"),
        ({"celery": "proj.t", "command": "true"}, "target"),
        ({"celery": "proj.t", "safe_mode": True}, "safe_mode"),
        ({"celery": "proj.t", "max_memory_mb": 64}, "max_memory_mb"),
    ],
)
def test_bad_celery_options_are_refused_naming_the_field(options: dict[str, object], field: str) -> None:
    """A clear TaskError naming the field, and nothing is scheduled."""
    s = AutoCron(timezone="UTC")
    with pytest.raises(TaskError) as caught:
        s.add_task("bad", every="1m", **options)
    assert caught.value.field == field
    assert s.list_tasks() == []


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=0, max_size=260))
def test_any_text_as_a_celery_name_is_accepted_or_refused_cleanly(name: str) -> None:
    """Hostile names (control, C1, markup, option-like, huge): a TaskError on the field, or a task
    whose target is exactly the text given."""
    try:
        task = build_task("t", celery=name, every="1m")
    except TaskError as exc:
        assert exc.field == "celery"
    else:
        assert task.target == name and name.isprintable() and not name.startswith("-")


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=0, max_size=300), st.sampled_from(["celery", "command"]))
def test_any_text_as_a_queue_is_accepted_or_refused_cleanly(queue: str, kind: str) -> None:
    """Queue names: printable ASCII without spaces, not option-like, at most 255; else a TaskError
    on ``queue``, and an accepted one survives the round trip through the definition."""
    target = {"celery": "proj.t"} if kind == "celery" else {"command": "true"}
    try:
        task = build_task("t", every="1m", queue=queue, **target)
    except TaskError as exc:
        assert exc.field == "queue"
    else:
        assert task.route is not None and task.route.queue == queue
        assert Task.from_dict(task.to_dict()).route == task.route


def test_a_bad_executor_object_is_refused() -> None:
    """AutoCron(executor=...) checks the object has what an Executor needs."""
    with pytest.raises(TaskError) as caught:
        AutoCron(executor=object())
    assert caught.value.field == "executor"


class _ThreadExecutor:
    """A real in-process executor: runs each attempt on a thread of its own, honours the
    contract (expiry, timeout, one report)."""

    name = "threads"

    def submit(self, submission: Submission, report: Callable[[Outcome], None]) -> None:
        if submission.expires_at is not None and submission.expires_at <= dt.datetime.now(dt.timezone.utc):
            report(Outcome(RunStatus.MISSED, "expired before it started"))
            return
        box: list[Outcome] = []

        def run() -> None:
            try:
                submission.task.execute()
            except Exception as exc:
                box.append(Outcome(RunStatus.FAILED, f"{type(exc).__name__}: {exc}"))
            else:
                box.append(Outcome(RunStatus.SUCCEEDED))

        def watch() -> None:
            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            thread.join(submission.timeout)
            report(
                box[0] if box else Outcome(RunStatus.TIMED_OUT, f"timed out after {submission.timeout:g}s")
            )

        threading.Thread(target=watch, daemon=True).start()

    def close(self) -> None:
        pass


def _ok() -> None:
    pass


def _fail() -> None:
    raise RuntimeError("contract failure")


def _sleep() -> None:
    threading.Event().wait(30)


class TestThreadExecutorContract(ExecutorContract):
    """The contract suite itself, run against the in-process executor above."""

    @pytest.fixture
    def executor(self) -> _ThreadExecutor:
        return _ThreadExecutor()

    @pytest.fixture
    def make_task(self) -> Callable[[str], Task]:
        funcs = {"ok": _ok, "fail": _fail, "sleep": _sleep}
        return lambda kind: build_task(f"contract-{kind}", func=funcs[kind], every="1h")


_GATE = {"open": False}


def _gate_open() -> bool:
    return _GATE["open"]


def _gate_broken() -> bool:
    raise RuntimeError("no answer")


def test_a_false_condition_sends_nothing_to_the_executor(
    remote: AutoCron, clock: FakeClock, executor: ManualExecutor
) -> None:
    """when= is asked before a submission: false records a skip and sends no message; true sends one."""
    _GATE["open"] = False
    remote.add_task("gated", celery="proj.gated", every="1m", when=_gate_open)
    clock.advance(60)
    assert remote.settle()
    assert executor.sent == []
    (skipped,) = remote.history("gated")
    assert skipped.status is RunStatus.SKIPPED and "_gate_open" in (skipped.error or "")
    _GATE["open"] = True
    clock.advance(60)
    _wait_sent(executor, 1)


def test_a_condition_that_raises_fails_the_attempt_without_a_message(
    remote: AutoCron, clock: FakeClock, executor: ManualExecutor
) -> None:
    """A condition raising is a failed attempt (with its error), and nothing is sent."""
    remote.add_task("broken-gate", celery="proj.gated", every="1m", when=_gate_broken)
    clock.advance(60)
    assert remote.settle()
    assert executor.sent == []
    (failed,) = remote.history("broken-gate")
    assert failed.status is RunStatus.FAILED and "no answer" in (failed.error or "")
