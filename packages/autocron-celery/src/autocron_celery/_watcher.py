"""One thread per executor that polls the result backend for submitted attempts' outcomes."""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from autocron_core.protocols import Outcome
from autocron_core.records import RunStatus

from ._outcome import outcome_from_meta

__all__ = ["Pending", "ResultWatcher"]

logger = logging.getLogger("autocron.celery")


class Pending:
    """One submitted attempt whose outcome has not arrived yet."""

    __slots__ = ("claim_id", "expires_at", "report", "started_at", "timeout")

    def __init__(
        self,
        claim_id: str,
        report: Callable[[Outcome], None],
        expires_at: _dt.datetime | None,
        timeout: float | None,
    ) -> None:
        self.claim_id = claim_id
        self.report = report
        self.expires_at = expires_at
        self.timeout = timeout
        self.started_at: _dt.datetime | None = None


class ResultWatcher:
    """Polls the app's result backend for every pending attempt, one batch per turn.

    A key-value backend (Redis, memcached, ...) is read with one ``MGET`` of
    every pending key per turn; other backends one ``get_task_meta`` per
    attempt. An attempt still ``PENDING`` (no worker has started it: the app
    must track started tasks, see ``worker.WORKER_SETTINGS``) ``slack``
    seconds after its ``expires_at`` is reported ``missed``: the broker drops
    an expired message (its TTL) and a worker refuses one, so it will never run.
    """

    def __init__(self, backend: Any, interval: float, slack: float) -> None:
        self._backend = backend
        self._interval = interval
        self._slack = slack
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._mget = getattr(backend, "mget", None) if hasattr(backend, "get_key_for_task") else None

    def add(self, task_id: str, pending: Pending) -> None:
        """Watch ``task_id`` (before its message is sent, so no outcome is missed)."""
        with self._lock:
            self._pending[task_id] = pending
            self._closed = False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="autocron-celery-results", daemon=True)
                self._thread.start()
            self._wake.notify()

    def discard(self, task_id: str) -> None:
        """Stop watching ``task_id`` (its message could not be sent)."""
        with self._lock:
            self._pending.pop(task_id, None)

    def close(self) -> None:
        """End the thread; pending attempts are left unreported (the scheduler records them)."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)

    def _run(self) -> None:
        failures = 0
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                ids = list(self._pending)
            try:
                metas = self._read(ids)
                failures = 0
            except Exception as exc:  # the backend is down: say so, keep trying, slower
                failures += 1
                if failures == 1 or failures % 50 == 0:
                    logger.warning("result backend unreachable (%d tries): %s", failures, exc)
                metas = {}
            now = _dt.datetime.now(_dt.timezone.utc)
            for task_id in ids:
                self._look(task_id, metas.get(task_id), now, reachable=failures == 0)
            with self._lock:
                if self._closed:
                    return
                self._wake.wait(self._interval * min(1 + failures, 10))

    def _read(self, ids: list[str]) -> dict[str, dict[str, Any] | None]:
        backend = self._backend
        if self._mget is not None:
            values = self._mget([backend.get_key_for_task(task_id) for task_id in ids])
            return {
                task_id: (backend.decode_result(value) if value else None)
                for task_id, value in zip(ids, values, strict=True)
            }
        return {task_id: backend.get_task_meta(task_id, cache=False) for task_id in ids}

    def _look(self, task_id: str, meta: dict[str, Any] | None, now: _dt.datetime, reachable: bool) -> None:
        with self._lock:
            pending = self._pending.get(task_id)
        if pending is None:
            return
        status = meta.get("status") if meta else None
        outcome: Outcome | None = None
        if status == "STARTED":
            if pending.started_at is None:
                pending.started_at = now
        elif status is not None and status not in ("PENDING", "RECEIVED", "RETRY"):
            outcome = outcome_from_meta(meta or {}, pending.timeout, pending.started_at)
        elif (
            reachable
            and pending.started_at is None
            and pending.expires_at is not None
            and now > pending.expires_at + _dt.timedelta(seconds=self._slack)
        ):
            outcome = Outcome(
                RunStatus.MISSED,
                f"expired: no worker started it before {pending.expires_at.isoformat()} (misfire_grace_time)",
            )
        if outcome is None:
            return
        with self._lock:
            if self._pending.pop(task_id, None) is None:  # reported already
                return
        try:
            pending.report(outcome)
        except Exception:
            logger.exception("the outcome of %s could not be handed back", pending.claim_id)
