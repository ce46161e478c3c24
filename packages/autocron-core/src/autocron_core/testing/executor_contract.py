"""``ExecutorContract``: the guarantees of the ``Executor`` protocol, as pytest tests.

An executor package's tests subclass it and provide two fixtures::

    class TestCelery(ExecutorContract):
        @pytest.fixture
        def executor(self, worker):
            return CeleryExecutor(app)

        @pytest.fixture
        def make_task(self, queue):
            # "ok" succeeds, "fail" raises, "sleep" runs for 30 s
            return lambda kind: build_task(f"c-{kind}", celery=TASKS[kind], every="1h", queue=queue)

The suite submits real attempts and waits (up to ``outcome_timeout``
seconds, a generous deadline rather than a timing assertion) for their
reports. The executor is closed after each test.
"""

from __future__ import annotations

import datetime as _dt
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from autocron_core.protocols import Executor, Outcome, Submission
from autocron_core.records import RunStatus
from autocron_core.task import Task

__all__ = ["ExecutorContract"]


class _Reports:
    """What ``report`` was called with, and a way to wait for it."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self._cond = threading.Condition()

    def __call__(self, outcome: Outcome) -> None:
        with self._cond:
            self.outcomes.append(outcome)
            self._cond.notify_all()

    def wait(self, timeout: float) -> Outcome:
        with self._cond:
            if not self._cond.wait_for(lambda: self.outcomes, timeout):
                pytest.fail(f"no outcome reported within {timeout:g}s")
            return self.outcomes[0]


class ExecutorContract:
    """Subclass with ``executor`` and ``make_task`` fixtures (see the module docstring)."""

    outcome_timeout = 60.0

    @pytest.fixture(autouse=True)
    def _close_executor(self, executor: Executor) -> Iterator[None]:
        yield
        executor.close()

    def submission(
        self, task: Task, *, expires_in: float | None = 120, timeout: float | None = None
    ) -> Submission:
        """A first attempt of ``task`` for an occurrence of now, with a claim id of its own."""
        now = _dt.datetime.now(_dt.timezone.utc)
        expires = None if expires_in is None else now + _dt.timedelta(seconds=expires_in)
        queue = task.route.queue if task.route is not None else None
        claim = f"{task.name}@{now.isoformat()}#1-{uuid.uuid4().hex[:6]}"
        return Submission(claim, task, now, 1, expires, timeout, queue)

    def test_is_an_executor(self, executor: Any) -> None:
        """It has a name, submit() and close() (the runtime-checkable protocol)."""
        assert isinstance(executor, Executor) and executor.name

    def test_a_success_is_reported_once(self, executor: Executor, make_task: Callable[[str], Task]) -> None:
        """submit() returns at once; the outcome arrives later, once, as succeeded."""
        reports = _Reports()
        executor.submit(self.submission(make_task("ok")), reports)
        assert reports.wait(self.outcome_timeout).status is RunStatus.SUCCEEDED
        threading.Event().wait(0.5)  # room for a wrongly doubled report to show
        assert len(reports.outcomes) == 1

    def test_a_failure_is_reported_with_its_error(
        self, executor: Executor, make_task: Callable[[str], Task]
    ) -> None:
        """A raising task is reported failed, with the exception in the error text."""
        reports = _Reports()
        executor.submit(self.submission(make_task("fail")), reports)
        outcome = reports.wait(self.outcome_timeout)
        assert outcome.status is RunStatus.FAILED and outcome.error

    def test_the_timeout_is_enforced_where_it_runs(
        self, executor: Executor, make_task: Callable[[str], Task]
    ) -> None:
        """A run past ``timeout`` is stopped there and reported timed_out."""
        reports = _Reports()
        executor.submit(self.submission(make_task("sleep"), timeout=1), reports)
        assert reports.wait(self.outcome_timeout).status is RunStatus.TIMED_OUT

    def test_an_expired_attempt_is_reported_missed_and_not_run(
        self, executor: Executor, make_task: Callable[[str], Task]
    ) -> None:
        """An attempt whose ``expires_at`` has passed never starts: reported missed."""
        reports = _Reports()
        executor.submit(self.submission(make_task("ok"), expires_in=-1), reports)
        outcome = reports.wait(self.outcome_timeout)
        assert outcome.status is RunStatus.MISSED and outcome.error
