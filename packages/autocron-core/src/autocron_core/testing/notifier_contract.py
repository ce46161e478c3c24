"""``NotifierContract``: the guarantees of the ``Notifier`` protocol, as pytest tests.

A notifier package's tests subclass it and provide two fixtures::

    class TestEmail(NotifierContract):
        @pytest.fixture
        def notifier(self, smtp_server):
            return EmailNotifier(smtp_server="127.0.0.1", smtp_port=smtp_server.port, ...)

        @pytest.fixture
        def received(self, smtp_server):
            return lambda: [m.as_string() for m in smtp_server.messages]

``received()`` returns the text of every delivery so far, oldest first, and
must already show a delivery when ``notify`` returns. Optional fixtures:
``broken_notifier`` (one that cannot deliver, e.g. pointed at a closed port)
and ``secrets`` (strings that must never reach a log or ``repr``).
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from autocron_core.errors import NotificationError
from autocron_core.events import Event, EventKind
from autocron_core.protocols import Notifier
from autocron_core.records import RunRecord, RunStatus

__all__ = ["NotifierContract", "contract_event"]

_WHEN = _dt.datetime(2026, 1, 5, 3, 0, tzinfo=_dt.timezone.utc)


def contract_event(
    kind: EventKind = EventKind.FAILED,
    name: str = "contract-task",
    *,
    recovered: bool = False,
    error: str | None = "ValueError: disk full",
    attempt: int = 1,
    output: str | None = "line 1\nline 2",
) -> Event:
    """A realistic event of ``kind`` with a finished run record, as the scheduler builds it."""
    status = {
        EventKind.SUCCEEDED: RunStatus.SUCCEEDED,
        EventKind.TIMED_OUT: RunStatus.TIMED_OUT,
        EventKind.MISSED: RunStatus.MISSED,
        EventKind.SKIPPED: RunStatus.SKIPPED,
    }.get(kind, RunStatus.FAILED)
    if kind is EventKind.SUCCEEDED:
        error = None
    record = RunRecord(
        name,
        _WHEN,
        attempt,
        status,
        _WHEN + _dt.timedelta(seconds=1),
        _WHEN + _dt.timedelta(seconds=3.5),
        error,
        "node-a:42",
        output,
    )
    return Event(
        kind,
        name,
        _WHEN + _dt.timedelta(seconds=4),
        None,
        record,
        _WHEN,
        attempt,
        error,
        30.0 if kind is EventKind.RETRY_SCHEDULED else None,
        recovered,
    )


class NotifierContract:
    """What every notifier guarantees; subclass and provide ``notifier`` and ``received``."""

    @pytest.fixture
    def notifier(self) -> Any:
        """The notifier under test (the subclass must override this)."""
        pytest.fail("a NotifierContract subclass must provide a `notifier` fixture")

    @pytest.fixture
    def received(self) -> Callable[[], Sequence[str]]:
        """The text of each delivery so far (the subclass must override this)."""
        pytest.fail("a NotifierContract subclass must provide a `received` fixture")

    @pytest.fixture
    def broken_notifier(self) -> Any:
        """A notifier of the same kind that cannot deliver (optional)."""
        pytest.skip("this NotifierContract subclass provides no `broken_notifier` fixture")

    @pytest.fixture
    def secrets(self) -> Sequence[str]:
        """Strings (passwords, tokens) that must never appear in a log or ``repr``."""
        return ()

    # -- the guarantees ---------------------------------------------------------
    def test_is_a_notifier(self, notifier: Any) -> None:
        """The object satisfies the Notifier protocol."""
        assert isinstance(notifier, Notifier)

    def test_failure_is_delivered(self, notifier: Any, received: Callable[[], Sequence[str]]) -> None:
        """A failure event is delivered once, naming the task, by the time notify returns."""
        before = len(received())
        assert notifier.notify(contract_event(EventKind.FAILED, "nightly-backup")) is None
        after = received()
        assert len(after) == before + 1
        assert "nightly-backup" in after[-1]

    @pytest.mark.parametrize(
        ("kind", "recovered"),
        [
            (EventKind.SUCCEEDED, False),
            (EventKind.SUCCEEDED, True),
            (EventKind.RETRY_SCHEDULED, False),
            (EventKind.TIMED_OUT, False),
            (EventKind.MISSED, False),
        ],
    )
    def test_every_category_is_delivered(
        self, notifier: Any, received: Callable[[], Sequence[str]], kind: EventKind, recovered: bool
    ) -> None:
        """Success, recovery, retry, timeout and missed events are each delivered."""
        before = len(received())
        notifier.notify(contract_event(kind, recovered=recovered))
        assert len(received()) == before + 1

    def test_bare_event_is_delivered(self, notifier: Any, received: Callable[[], Sequence[str]]) -> None:
        """An event with no task, record, attempt or error is still delivered."""
        before = len(received())
        notifier.notify(Event(EventKind.FAILED, "bare-task", _WHEN))
        assert len(received()) == before + 1

    def test_hostile_text_is_delivered(self, notifier: Any, received: Callable[[], Sequence[str]]) -> None:
        """Markup, quotes, newlines, non-ASCII text and long output do not break delivery."""
        name = "weird <b>name</b> \"quoted\" 'single' & café ✓"
        error = "RuntimeError: <script>alert(1)</script>\r\nSubject: injected\n" + "x" * 5000
        output = "\n".join(f"line {i} ` $HOME %s {{x}}" for i in range(500))
        before = len(received())
        notifier.notify(contract_event(EventKind.FAILED, name, error=error, output=output))
        assert len(received()) == before + 1

    def test_concurrent_notifications_are_all_delivered(
        self, notifier: Any, received: Callable[[], Sequence[str]]
    ) -> None:
        """notify is safe to call from several threads at once."""
        before = len(received())
        errors: list[BaseException] = []

        def send(index: int) -> None:
            try:
                notifier.notify(contract_event(EventKind.FAILED, f"task-{index}"))
            except BaseException as exc:  # collected and re-raised in the test thread
                errors.append(exc)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(received()) == before + 6

    def test_failure_to_deliver_is_reported_not_leaked(
        self, broken_notifier: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A delivery that fails raises NotificationError or logs the reason; nothing else escapes."""
        failures_before = getattr(broken_notifier, "failures", None)
        with caplog.at_level(logging.DEBUG, logger="autocron"):
            try:
                broken_notifier.notify(contract_event())
            except NotificationError as exc:
                assert str(exc)
            else:
                assert any(
                    r.levelno >= logging.WARNING and r.name.startswith("autocron") for r in caplog.records
                )
        if failures_before is not None:
            assert broken_notifier.failures == failures_before + 1

    def test_secrets_never_logged(
        self,
        notifier: Any,
        secrets: Sequence[str],
        caplog: pytest.LogCaptureFixture,
        request: pytest.FixtureRequest,
    ) -> None:
        """Configured passwords and tokens appear in no log record and not in repr()."""
        with caplog.at_level(logging.DEBUG):
            notifier.notify(contract_event())
            if "broken_notifier" in _fixture_names(request):
                broken = request.getfixturevalue("broken_notifier")
                try:
                    broken.notify(contract_event())
                except NotificationError as exc:
                    for secret in secrets:
                        assert secret not in str(exc)
        logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
        for secret in secrets:
            assert secret not in logged
            assert secret not in repr(notifier)


def _fixture_names(request: pytest.FixtureRequest) -> list[str]:
    """Fixtures the subclass overrides (the contract's own ``broken_notifier`` only skips)."""
    # Compared by class dictionaries: pytest hands out a fresh wrapper on each attribute access.
    mro = [cls for cls in type(request.instance).__mro__ if cls is not NotifierContract]
    return [name for name in ("broken_notifier",) if any(name in vars(cls) for cls in mro)]
