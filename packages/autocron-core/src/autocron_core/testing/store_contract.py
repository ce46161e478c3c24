"""``StoreContract``: the tests every ``Store`` implementation must pass.

Subclass it in a package's tests and provide a ``store`` fixture::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore(tmp_path / "db")
            yield s
            s.close()

Optional hooks widen what is checked: ``reopen`` (a second store over the same
storage, for persistence), ``raw_text`` (what the store wrote, to look for
secrets), ``break_task`` (make a stored definition unbuildable), ``store_url``
(a URL another process can open, for cross-process claims) and
``supports_stats_window`` (``stats(since=, last_n=)``).
"""

from __future__ import annotations

import datetime as _dt
import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autocron_core.errors import AutoCronError, TaskError
from autocron_core.protocols import BatchStore, claim_many
from autocron_core.records import RunRecord, RunStatus
from autocron_core.task import Task, build_task

__all__ = ["StoreContract"]

UTC = _dt.timezone.utc
T0 = _dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _record(task: str = "job", minute: int = 0, attempt: int = 1, **changes: Any) -> RunRecord:
    scheduled = T0 + _dt.timedelta(minutes=minute)
    base = RunRecord(
        task,
        scheduled,
        attempt,
        RunStatus.RUNNING,
        scheduled + _dt.timedelta(seconds=1),
        None,
        None,
        "node-a",
    )
    return base._replace(**changes)


def _claim_in_process(url: str, barrier: Any, results: Any) -> None:
    from autocron_core.registry import open_store

    store = open_store(url)
    try:
        barrier.wait(30)
        results.put(bool(store.claim_run(_record("shared", minute=7))))
    finally:
        store.close()


class StoreContract:
    """The guarantees of ``autocron_core.protocols.Store``, as tests."""

    #: Whether ``stats`` takes ``since=`` and ``last_n=``.
    supports_stats_window = True

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        """The store under test; subclasses override this fixture."""
        raise NotImplementedError("subclasses of StoreContract provide a `store` fixture")

    # -- hooks ------------------------------------------------------------------
    def reopen(self, store: Any) -> Any | None:
        """A new store over the same storage (``None``: the store is not persistent)."""
        return None

    def raw_text(self, store: Any) -> str | None:
        """Everything the store has written, as text (``None``: nothing to inspect)."""
        return None

    def break_task(self, store: Any, name: str) -> bool:
        """Make the stored definition of ``name`` unbuildable; whether the store can."""
        return False

    def store_url(self, store: Any) -> str | None:
        """A URL another process can open to reach the same storage (``None``: in-process only)."""
        return None

    # -- helpers ----------------------------------------------------------------
    @pytest.fixture
    def script(self, tmp_path: Path) -> str:
        """A harmless Python script file."""
        path = tmp_path / "job_script.py"
        path.write_text("print('hello')\n", encoding="utf-8")
        return str(path)

    def make_task(self, script: str, name: str = "job", kind: str = "script", **options: Any) -> Task:
        """A script or command task built by ``build_task``."""
        options.setdefault("every", "5m")
        if kind == "script":
            return build_task(name, script=script, **options)
        return build_task(name, command=["echo", name], **options)

    @staticmethod
    def definition(task: Task) -> dict[str, Any]:
        """A task's definition without its state."""
        data = task.to_dict()
        data.pop("state", None)
        return data

    # -- definitions --------------------------------------------------------------
    def test_round_trips_script_and_command_tasks(self, store: Any, script: str) -> None:
        """Saved script and command tasks load back with every option."""
        a = self.make_task(
            script,
            "a",
            retries=3,
            retry_delay=5,
            timeout=30,
            tags=["x", "y"],
            cron="*/5 * * * *",
            every=None,
            timezone="Europe/Paris",
            misfire_grace_time=None,
            coalesce=False,
        )
        b = self.make_task(
            script,
            "b",
            kind="command",
            every="1h30m",
            overlap_policy="queue",
            max_instances=2,
            notify=["email"],
            notify_on=["failure", "success"],
            jitter=3,
        )
        store.save_task(a)
        store.save_task(b)
        loaded = {t.name: t for t in store.load_tasks()}
        assert set(loaded) == {"a", "b"}
        assert self.definition(loaded["a"]) == self.definition(a)
        assert self.definition(loaded["b"]) == self.definition(b)

    def test_save_task_is_an_upsert_by_name(self, store: Any, script: str) -> None:
        """Saving a task of an existing name replaces it; there is still one."""
        store.save_task(self.make_task(script, "job", every="5m"))
        store.save_task(self.make_task(script, "job", every="10m", retries=2))
        (task,) = store.load_tasks()
        assert task.to_dict()["every"] == "10m"
        assert task.policy.retries == 2

    def test_load_tasks_restores_state(self, store: Any, script: str) -> None:
        """Next and last run, counters, pause and last status come back."""
        task = self.make_task(script)
        task.next_run_us = 1_772_366_400_123_456
        task.last_run_us = 1_772_366_100_000_001
        task.run_count, task.fail_count, task.paused, task.last_status = 7, 2, True, "failed"
        store.save_task(task)
        (loaded,) = store.load_tasks()
        assert (loaded.next_run_us, loaded.last_run_us) == (task.next_run_us, task.last_run_us)
        assert (loaded.run_count, loaded.fail_count, loaded.paused, loaded.last_status) == (
            7,
            2,
            True,
            "failed",
        )

    def test_save_state_updates_the_state(self, store: Any, script: str) -> None:
        """``save_state`` stores new counters and next run of a saved task."""
        task = self.make_task(script)
        store.save_task(task)
        task.run_count, task.next_run_us, task.last_status = 3, 1_772_366_400_000_000, "succeeded"
        store.save_state(task)
        (loaded,) = store.load_tasks()
        assert (loaded.run_count, loaded.next_run_us, loaded.last_status) == (
            3,
            task.next_run_us,
            "succeeded",
        )

    def test_save_state_of_an_unsaved_task_adds_nothing(self, store: Any, script: str) -> None:
        """``save_state`` does not create a definition."""
        store.save_state(self.make_task(script, "ghost"))
        assert [t.name for t in store.load_tasks()] == []

    def test_delete_task_removes_the_definition_but_keeps_history(self, store: Any, script: str) -> None:
        """``delete_task`` says whether the task existed; its run records stay."""
        store.save_task(self.make_task(script))
        store.finish_run(_record(status=RunStatus.SUCCEEDED, finished_at=T0 + _dt.timedelta(seconds=2)))
        assert store.delete_task("job") is True
        assert store.delete_task("job") is False
        assert store.load_tasks() == []
        assert len(store.history("job")) == 1

    def test_task_ids_survive(self, store: Any, script: str) -> None:
        """A loaded task keeps its id."""
        task = self.make_task(script)
        store.save_task(task)
        assert store.load_tasks()[0].task_id == task.task_id

    def test_secrets_are_never_written(self, store: Any, script: str) -> None:
        """A password in email_config never reaches the storage."""
        task = self.make_task(
            script,
            email_config={
                "to": "ops@example.com",
                "password": "hunter2-secret",
                "password_env": "SMTP_PASSWORD",
            },
        )
        store.save_task(task)
        store.save_state(task)
        text = self.raw_text(store)
        if text is None:
            pytest.skip("this store writes nothing to inspect")
        assert "hunter2-secret" not in text
        assert "SMTP_PASSWORD" in text

    def test_function_arguments_named_like_secrets_are_refused_not_dropped(
        self, store: Any, script: str
    ) -> None:
        """A task argument named token is never silently dropped: saving it is a TaskError naming it."""
        task = build_task("upload", command=["echo", "x"], every="5m", kwargs={"token": "tok-123-secret"})
        try:
            store.save_task(task)
        except TaskError as exc:
            assert exc.field == "kwargs" and exc.value == "token"
            assert "tok-123-secret" not in str(exc)
            assert [t.name for t in store.load_tasks()] == []
            return
        (loaded,) = store.load_tasks()  # a store that keeps it must keep it whole
        assert loaded.kwargs == {"token": "tok-123-secret"}

    #: Names that a case- or accent-insensitive collation would take for one name.
    CASE_ACCENT_PAIRS = (("Backup", "backup"), ("résumé", "resume"), ("JOB", "job"), ("Straße", "strasse"))

    def test_names_differing_in_case_or_accent_are_distinct_tasks(self, store: Any, script: str) -> None:
        """Backup and backup, résumé and resume are two tasks: saving one never overwrites the other."""
        for first, second in self.CASE_ACCENT_PAIRS:
            store.save_task(self.make_task(script, first, retries=1))
            store.save_task(self.make_task(script, second, retries=2))
        loaded = {t.name: t.policy.retries for t in store.load_tasks()}
        assert loaded == {name: i + 1 for pair in self.CASE_ACCENT_PAIRS for i, name in enumerate(pair)}
        assert store.delete_task("backup") is True
        assert "Backup" in {t.name for t in store.load_tasks()}

    def test_runs_of_names_differing_in_case_or_accent_never_collide(self, store: Any) -> None:
        """The runs of job and JOB at one occurrence are both claimed: neither is "claimed elsewhere"."""
        for pair in self.CASE_ACCENT_PAIRS:
            for name in pair:
                assert store.claim_run(_record(name, minute=3)) is True
        names = {r.task for r in store.history(None, 100)}
        assert names == {name for pair in self.CASE_ACCENT_PAIRS for name in pair}

    def test_unbuildable_task_is_reported_not_dropped(self, store: Any, script: str) -> None:
        """A stored task that cannot be rebuilt is named, and is still there on the next load."""
        store.save_task(self.make_task(script, "good"))
        store.save_task(self.make_task(script, "broken"))
        if not self.break_task(store, "broken"):
            pytest.skip("this store keeps task objects, nothing to rebuild")
        for _ in range(2):
            try:
                tasks = store.load_tasks()
            except AutoCronError as exc:
                assert "broken" in str(exc)
                continue
            assert [t.name for t in tasks] == ["good"]
            assert "broken" in [name for name, _ in store.load_errors]

    def test_definitions_survive_a_new_store(self, store: Any, script: str) -> None:
        """Another store over the same storage sees the tasks and their state."""
        task = self.make_task(script)
        task.run_count = 4
        store.save_task(task)
        other = self.reopen(store)
        if other is None:
            pytest.skip("not a persistent store")
        try:
            (loaded,) = other.load_tasks()
            assert loaded.run_count == 4
            assert self.definition(loaded) == self.definition(task)
        finally:
            other.close()

    def test_concurrent_saves_from_threads_all_land(self, store: Any, script: str) -> None:
        """Eight threads saving different tasks at once lose none."""
        tasks = [self.make_task(script, f"t{i}") for i in range(8)]
        barrier = threading.Barrier(len(tasks))
        errors: list[BaseException] = []

        def save(task: Task) -> None:
            try:
                barrier.wait(10)
                store.save_task(task)
            except BaseException as exc:  # collected and re-raised in the test thread
                errors.append(exc)

        threads = [threading.Thread(target=save, args=(t,)) for t in tasks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors
        assert sorted(t.name for t in store.load_tasks()) == sorted(t.name for t in tasks)

    # -- runs -------------------------------------------------------------------
    def test_claim_run_inserts_once(self, store: Any) -> None:
        """The first claim of a key wins; a second returns False and changes nothing."""
        first = _record()
        assert store.claim_run(first) is True
        assert store.claim_run(first._replace(node_id="node-b", started_at=T0)) is False
        (kept,) = store.history("job")
        assert kept == first

    def test_claim_key_is_task_occurrence_and_attempt(self, store: Any) -> None:
        """Another attempt, occurrence or task is another key."""
        assert store.claim_run(_record())
        assert store.claim_run(_record(attempt=2))
        assert store.claim_run(_record(minute=1))
        assert store.claim_run(_record(task="other"))
        assert len(store.history(limit=10)) == 4

    def test_finish_run_replaces_the_claim(self, store: Any) -> None:
        """The finished record replaces the running one, with error and output."""
        claim = _record()
        store.claim_run(claim)
        done = claim.finished(
            RunStatus.FAILED,
            T0 + _dt.timedelta(seconds=3, microseconds=7),
            error="exit code 2",
            output="line 1\nline 2 é",
        )
        store.finish_run(done)
        assert store.history("job") == [done]

    def test_finish_run_without_a_claim_records_it(self, store: Any) -> None:
        """A finished record whose claim is missing is stored anyway."""
        done = _record(status=RunStatus.SUCCEEDED, finished_at=T0 + _dt.timedelta(seconds=2))
        store.finish_run(done)
        assert store.history("job") == [done]

    def test_history_is_newest_first_with_limit_and_filter(self, store: Any) -> None:
        """Records come newest first by occurrence then attempt; limit and name filter apply."""
        for minute in (3, 1, 2):
            store.claim_run(_record(minute=minute))
        store.claim_run(_record(minute=2, attempt=2))
        store.claim_run(_record(task="other", minute=5))
        keys = [(r.scheduled_for, r.attempt) for r in store.history("job")]
        assert keys == sorted(keys, reverse=True)
        assert len(keys) == 4
        assert [r.task for r in store.history(limit=1)] == ["other"]
        assert all(r.task == "job" for r in store.history("job", limit=2))
        assert len(store.history("job", limit=2)) == 2
        assert store.history("nobody") == []

    def test_times_are_aware_and_exact(self, store: Any) -> None:
        """Datetimes given in any zone come back equal, aware, to the microsecond."""
        zone = _dt.timezone(_dt.timedelta(hours=5, minutes=30))
        scheduled = _dt.datetime(2026, 7, 1, 9, 15, 0, 999_999, tzinfo=zone)
        record = RunRecord(
            "job",
            scheduled,
            1,
            RunStatus.SUCCEEDED,
            scheduled + _dt.timedelta(microseconds=1),
            scheduled + _dt.timedelta(seconds=1, microseconds=3),
            None,
            "n",
        )
        store.finish_run(record)
        (back,) = store.history("job")
        assert back == record
        assert back.scheduled_for.utcoffset() is not None and back.started_at is not None
        assert back.started_at.utcoffset() is not None

    def test_eight_threads_claiming_one_key_one_wins(self, store: Any) -> None:
        """Exactly one of eight simultaneous claims of one key succeeds."""
        barrier = threading.Barrier(8)
        results: list[bool] = []
        lock = threading.Lock()

        def claim(node: int) -> None:
            barrier.wait(10)
            won = store.claim_run(_record(node_id=f"node-{node}"))
            with lock:
                results.append(won)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(results) == [False] * 7 + [True]
        assert len(store.history("job")) == 1

    def test_two_processes_claiming_one_key_one_wins(self, store: Any) -> None:
        """Exactly one of two processes claiming one key at once succeeds."""
        url = self.store_url(store)
        if url is None:
            pytest.skip("this store lives in one process")
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(2)
        results = ctx.Queue()
        procs = [ctx.Process(target=_claim_in_process, args=(url, barrier, results)) for _ in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
            assert proc.exitcode == 0
        outcomes = sorted(results.get(timeout=5) for _ in procs)
        assert outcomes == [False, True]
        assert len(store.history("shared")) == 1

    # -- batches (BatchStore; claim_many drives any other store one record at a time) --
    def test_claim_runs_claims_each_free_key_once(self, store: Any) -> None:
        """A batch claims every free key, refuses taken ones, and answers in the order given."""
        assert store.claim_run(_record(minute=1))
        batch = [_record(minute=m, node_id="node-b") for m in (2, 1, 0, 3)]
        assert claim_many(store, batch) == [True, False, True, True]
        kept = {r.scheduled_for: r.node_id for r in store.history("job", limit=10)}
        assert kept == {T0 + _dt.timedelta(minutes=m): ("node-a" if m == 1 else "node-b") for m in range(4)}

    def test_claim_runs_repeated_key_goes_to_its_first_record(self, store: Any) -> None:
        """A key twice in one batch is claimed once, by its first record."""
        batch = [_record(node_id="node-a"), _record(minute=1), _record(node_id="node-b")]
        assert claim_many(store, batch) == [True, True, False]
        assert {r.node_id for r in store.history("job", limit=10)} == {"node-a"}

    def test_claim_runs_refuses_a_key_this_node_claimed_before(self, store: Any) -> None:
        """A key the same node claimed in an earlier batch is not won again by a later one."""
        assert claim_many(store, [_record(minute=m) for m in (0, 1)]) == [True, True]
        later = T0 + _dt.timedelta(minutes=5)
        batch = [_record(minute=m, started_at=later) for m in (2, 1, 3)]
        assert claim_many(store, batch) == [True, False, True]
        starts = {r.scheduled_for: r.started_at for r in store.history("job", limit=10)}
        assert starts[T0 + _dt.timedelta(minutes=1)] == T0 + _dt.timedelta(minutes=1, seconds=1)

    def test_overlapping_batches_from_threads_claim_each_key_once(self, store: Any) -> None:
        """Four threads claiming overlapping batches at once win every key exactly once between them."""
        barrier = threading.Barrier(4)
        wins: list[tuple[int, int]] = []
        lock = threading.Lock()

        def claim(node: int) -> None:
            # Each thread's batch covers the same 40 keys in its own order.
            minutes = list(range(40))[node * 10 :] + list(range(40))[: node * 10]
            batch = [_record(task=f"t{m % 4}", minute=m, node_id=f"node-{node}") for m in minutes]
            barrier.wait(10)
            won = claim_many(store, batch)
            with lock:
                wins.extend((node, m) for m, ok in zip(minutes, won, strict=True) if ok)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(m for _, m in wins) == list(range(40))
        stored = {(r.task, r.scheduled_for): r.node_id for r in store.history(limit=100)}
        assert len(stored) == 40
        assert all(stored[(f"t{m % 4}", T0 + _dt.timedelta(minutes=m))] == f"node-{n}" for n, m in wins)

    def test_finish_runs_finishes_every_record_and_saves_states(self, store: Any, script: str) -> None:
        """A group of finishes replaces every claim, records a missing one, and saves task states."""
        if not isinstance(store, BatchStore):
            pytest.skip("this store finishes runs one at a time")
        task = self.make_task(script)
        store.save_task(task)
        claims = [_record(minute=m) for m in range(3)]
        claim_many(store, claims)
        done = [
            c.finished(
                RunStatus.SUCCEEDED if c.scheduled_for != T0 else RunStatus.FAILED,
                c.scheduled_for + _dt.timedelta(seconds=2),
            )
            for c in claims
        ]
        done.append(_record(minute=9, status=RunStatus.SUCCEEDED, finished_at=T0 + _dt.timedelta(minutes=9)))
        task.run_count = 4
        store.finish_runs(done, [task])
        assert sorted(store.history("job", limit=10), key=lambda r: r.scheduled_for) == done
        (loaded,) = [t for t in store.load_tasks() if t.name == "job"]
        assert loaded.run_count == 4

    # -- stats (not part of the protocol, but every store here offers it) -------------
    def _fill_stats(self, store: Any) -> None:
        for i in range(21):  # durations 0..20 s, each started 1 s late
            record = _record(minute=i, status=RunStatus.SUCCEEDED)
            started = T0 + _dt.timedelta(minutes=i, seconds=1)
            store.finish_run(record._replace(finished_at=started + _dt.timedelta(seconds=i)))
        store.finish_run(_record(minute=30, status=RunStatus.FAILED, finished_at=T0 + _dt.timedelta(hours=1)))
        store.finish_run(
            _record(
                minute=31, status=RunStatus.MISSED, started_at=None, finished_at=T0 + _dt.timedelta(hours=1)
            )
        )
        store.finish_run(
            _record(task="other", status=RunStatus.TIMED_OUT, finished_at=T0 + _dt.timedelta(hours=1))
        )

    def test_stats_counts_and_percentiles(self, store: Any) -> None:
        """Counts per status, duration and lateness percentiles, last run and success."""
        if not hasattr(store, "stats"):
            pytest.skip("no stats()")
        self._fill_stats(store)
        by_task = {s.task: s for s in store.stats()}
        job = by_task["job"]
        assert (job.runs, job.succeeded, job.failed, job.missed, job.timed_out) == (22, 21, 1, 1, 0)
        assert job.duration_p50 == pytest.approx(10.0)
        assert job.duration_p95 == pytest.approx(19.0)
        assert job.duration_max == pytest.approx(20.0)
        assert job.lateness_p50 == pytest.approx(1.0)
        assert job.lateness_p95 == pytest.approx(1.0)
        assert job.last_run == T0 + _dt.timedelta(minutes=30, seconds=1)
        assert job.last_success == T0 + _dt.timedelta(minutes=20, seconds=21)
        assert job.success_rate == pytest.approx(21 / 22)
        assert by_task["other"].timed_out == 1
        assert by_task["other"].duration_p50 is None

    def test_stats_of_one_task_without_runs(self, store: Any) -> None:
        """A named task with no runs gives one TaskStats of zeros."""
        if not hasattr(store, "stats"):
            pytest.skip("no stats()")
        (empty,) = store.stats("nobody")
        assert (empty.task, empty.runs, empty.duration_p50, empty.last_run) == ("nobody", 0, None, None)

    def test_stats_since_and_last_n(self, store: Any) -> None:
        """``since`` and ``last_n`` narrow the records each task's stats cover."""
        if not self.supports_stats_window:
            pytest.skip("stats() has no since/last_n here")
        self._fill_stats(store)
        (recent,) = store.stats("job", since=T0 + _dt.timedelta(minutes=16))
        assert (recent.succeeded, recent.failed, recent.missed) == (5, 1, 1)
        assert recent.duration_p50 == pytest.approx(18.0)
        (last,) = store.stats("job", last_n=3)
        assert (last.succeeded, last.failed, last.missed, last.runs) == (1, 1, 1, 2)
        assert last.duration_max == pytest.approx(20.0)
        both = {s.task: s for s in store.stats(last_n=1)}
        assert both["job"].missed == 1 and both["job"].runs == 0
        assert both["other"].timed_out == 1
