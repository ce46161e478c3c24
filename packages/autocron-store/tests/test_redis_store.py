"""RedisStore passes the shared store contract, and keeps what a Redis store must keep.

Every test has a key prefix of its own on the shared server (the ``redis_url``
fixture), and deletes only its own keys.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core.errors import ConfigError, StoreError
from autocron_core.protocols import BatchStore, ClusterStore
from autocron_core.records import RunRecord, RunStatus
from autocron_core.registry import open_store
from autocron_core.stats import stats_by_task
from autocron_core.testing.store_contract import StoreContract
from autocron_store import RedisStore
from autocron_store._redis_keys import decode_record, encode_record, sort_key
from autocron_store._redis_urls import parse_redis_url

pytestmark = pytest.mark.redis

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


def _keys_text(store: RedisStore) -> str:
    """Every key under the store's prefix and its value, as text."""
    chunks = []
    for key in sorted(store.client.scan_iter(match=f"{store.keys}*")):
        kind = store.client.type(key)
        if kind == "string":
            value: Any = store.client.get(key)
        elif kind == "hash":
            value = store.client.hgetall(key)
        elif kind == "zset":
            value = store.client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = sorted(store.client.smembers(key))
        else:
            value = store.client.lrange(key, 0, -1)
        chunks.append(f"{key} {json.dumps(value, default=str)}")
    return "\n".join(chunks)


def _delete_prefix(store: RedisStore) -> None:
    """Delete every key under the store's own prefix."""
    keys = list(store.client.scan_iter(match=f"{store.keys}*"))
    if keys:
        store.client.delete(*keys)


class TestRedisStore(StoreContract):
    """RedisStore over the shared Redis server, under a prefix of its own."""

    @pytest.fixture
    def store(self, redis_url: str) -> Iterator[RedisStore]:
        """A Redis store under a fresh prefix."""
        store = RedisStore(redis_url)
        yield store
        store.close()

    def reopen(self, store: Any) -> Any:
        return RedisStore(self._url, prefix=store.prefix)

    @pytest.fixture(autouse=True)
    def _remember_url(self, redis_url: str) -> None:
        self._url = redis_url

    def raw_text(self, store: Any) -> str:
        return _keys_text(store)

    def break_task(self, store: Any, name: str) -> bool:
        data = json.loads(store.client.hget(f"{store.keys}task", name))
        data["script"] = "/nonexistent/deleted_script.py"
        store.client.hset(f"{store.keys}task", name, json.dumps(data))
        return True

    def store_url(self, store: Any) -> str:
        return self._url


# -- the store as a whole ----------------------------------------------------------------------
@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    """A Redis store under a fresh prefix, with a 30 s lease."""
    opened = RedisStore(redis_url, lease=30)
    yield opened
    opened.close()


def _record(
    task: str = "job", minute: int = 0, attempt: int = 1, node: str = "a", **changes: Any
) -> RunRecord:
    when = T0 + _dt.timedelta(minutes=minute)
    return RunRecord(task, when, attempt, RunStatus.RUNNING, when, None, None, node)._replace(**changes)


def test_redis_urls_open_a_redis_store_through_the_registry(redis_url: str) -> None:
    """redis:// opens through the autocron.stores entry point: a RedisStore, ClusterStore and BatchStore."""
    opened = open_store(redis_url)
    try:
        assert isinstance(opened, RedisStore)
        assert isinstance(opened, ClusterStore) and isinstance(opened, BatchStore)
        assert opened.lease_seconds == 30.0 and opened.keep_runs == 1000
    finally:
        opened.close()


def test_the_password_never_shows_and_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The safe URL hides the password from the URL or AUTOCRON_REDIS_PASSWORD; the client URL carries it."""
    parsed = parse_redis_url("redis://user:s3cr%40t@db.example:6380/2?prefix=team_a&lease=9&socket_timeout=3")
    assert parsed.password == "s3cr@t"
    assert "s3cr" not in parsed.safe and "***" in parsed.safe and "prefix=team_a" in parsed.safe
    assert parsed.client_url == "redis://user:s3cr%40t@db.example:6380/2?socket_timeout=3"
    assert parsed.options == {"prefix": "team_a", "lease": 9.0}
    monkeypatch.setenv("AUTOCRON_REDIS_PASSWORD", "from-env")
    parsed = parse_redis_url("rediss://db.example/0")
    assert parsed.password == "from-env" and "from-env" not in parsed.safe
    assert parsed.client_url == "rediss://:from-env@db.example/0"


def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    """Nothing listens on the port: StoreError naming the URL with its password hidden."""
    with pytest.raises(StoreError) as info:
        RedisStore("redis://:hunter2@127.0.0.1:1/0")
    assert "127.0.0.1:1" in str(info.value) and "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("redis://127.0.0.1/0?lease=0", "lease"),
        ("redis://127.0.0.1/0?lease=nan", "lease"),
        ("redis://127.0.0.1/0?lease=inf", "lease"),
        ("redis://127.0.0.1/0?keep_runs=lots", "keep_runs"),
        ("redis://127.0.0.1/0?prefix=a:b", "prefix"),
        ("redis://127.0.0.1/zero", "store"),
        ("memcached://127.0.0.1/0", "store"),
    ],
)
def test_bad_urls_and_options_are_config_errors_naming_the_field(url: str, field: str) -> None:
    """A bad lease, retention, prefix, database or scheme is a ConfigError naming the field."""
    with pytest.raises(ConfigError) as info:
        RedisStore(url)
    assert info.value.field == field


@pytest.mark.parametrize("keep_days", [float("nan"), float("inf"), -1.0])
def test_a_keep_days_that_is_not_a_number_of_days_is_refused(keep_days: float) -> None:
    """keep_days=NaN, inf or negative is a ConfigError naming keep_days (before any connection)."""
    with pytest.raises(ConfigError) as info:
        RedisStore("redis://127.0.0.1:1/0", keep_days=keep_days)
    assert info.value.field == "keep_days"


def test_a_missing_redis_py_names_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without redis-py, opening a redis:// store says which pip line installs it."""
    import builtins

    real_import = builtins.__import__

    def no_redis(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "redis" or name.startswith("redis."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_redis)
    with pytest.raises(StoreError, match=r"pip install 'autocron-store\[redis\]'"):
        RedisStore("redis://127.0.0.1:6379/0")


def test_a_newer_layout_is_refused(store: RedisStore, redis_url: str) -> None:
    """Data written by a newer AutoCron (layout 2) is not touched: StoreError saying so."""
    store.client.set(f"{store.keys}version", "2")
    with pytest.raises(StoreError, match="newer"):
        RedisStore(redis_url)


def test_two_prefixes_on_one_database_never_meet(redis_url: str) -> None:
    """Two stores with different prefixes claim the same key each, and see only their own."""
    other_prefix = f"t_{uuid.uuid4().hex[:12]}"
    first = RedisStore(redis_url)
    second = RedisStore(redis_url, prefix=other_prefix)
    try:
        assert first.claim_run(_record()) and second.claim_run(_record())
        assert len(first.history()) == len(second.history()) == 1
    finally:
        _delete_prefix(second)
        first.close()
        second.close()


# -- record encoding ----------------------------------------------------------------------------
_moments = st.datetimes(
    min_value=_dt.datetime(1, 1, 2), max_value=_dt.datetime(9999, 12, 30), timezones=st.just(_dt.timezone.utc)
)


@given(
    scheduled=_moments,
    attempt=st.integers(1, 10**6),
    status=st.sampled_from(list(RunStatus)),
    started=st.none() | _moments,
    error=st.none() | st.text(st.characters(exclude_categories=())),
    output=st.none() | st.text(st.characters(exclude_categories=())),
)
@settings(max_examples=200, deadline=None)
def test_every_record_round_trips_exactly(
    scheduled: _dt.datetime, attempt: int, status: RunStatus, started: Any, error: Any, output: Any
) -> None:
    """Any record (years 1 to 9999, any text, surrogates included) encodes and decodes to itself."""
    record = RunRecord("t", scheduled, attempt, status, started, started, error, "n", output)
    flat = encode_record(record)
    assert all(value.isascii() for value in flat)
    assert decode_record(dict(zip(flat[::2], flat[1::2], strict=True))) == record


@given(a=st.tuples(_moments, st.integers(1, 10**6)), b=st.tuples(_moments, st.integers(1, 10**6)))
def test_sort_keys_order_as_occurrence_then_attempt(a: Any, b: Any) -> None:
    """The text order of sort keys is the order of (occurrence, attempt), years 1 to 9999."""
    from autocron_core.schedules import to_utc_us

    ka, kb = sort_key(to_utc_us(a[0]), a[1]), sort_key(to_utc_us(b[0]), b[1])
    assert (ka < kb) == ((a[0], a[1]) < (b[0], b[1]))


def test_a_field_this_version_does_not_know_is_ignored(store: RedisStore) -> None:
    """A run hash with a field a newer RunRecord wrote still reads back (the field left out)."""
    record = _record()
    store.claim_run(record)
    store.client.hset(f"{store.keys}run:job:{sort_key(int(T0.timestamp() * 1_000_000), 1)}", "future", '"x"')
    assert store.history() == [record]


# -- statistics --------------------------------------------------------------------------------
def test_kept_stats_equal_the_stats_over_the_records(store: RedisStore) -> None:
    """Counts, percentiles, last run and success from the kept aggregates equal those over the records."""
    rng = random.Random(7)
    statuses = [RunStatus.SUCCEEDED] * 5 + [RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.ABANDONED]
    for task in ("a", "b"):
        for minute in range(60):
            record = _record(task, minute)
            store.claim_run(record)
            if minute % 10 == 9:
                continue  # still running
            late = _dt.timedelta(milliseconds=rng.randint(0, 5000))
            start = record.scheduled_for + late
            done = record._replace(started_at=start).finished(
                rng.choice(statuses), start + _dt.timedelta(milliseconds=rng.randint(1, 90_000))
            )
            store.finish_run(done)
            if minute % 7 == 0:  # finishing the same record twice changes nothing
                store.finish_run(done)
        store.claim_run(_record(task, 100, status=RunStatus.SKIPPED, started_at=None))
    expected = stats_by_task(store.history(limit=10**6))
    got = store.stats()
    assert [s.task for s in got] == ["a", "b"]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine._replace(
            duration_p50=0, duration_p95=0, lateness_p50=0, lateness_p95=0
        ) == theirs._replace(duration_p50=0, duration_p95=0, lateness_p50=0, lateness_p95=0)
        for field in ("duration_p50", "duration_p95", "lateness_p50", "lateness_p95"):
            assert math.isclose(getattr(mine, field), getattr(theirs, field), abs_tol=1e-6), field


def test_pruning_keeps_the_newest_and_the_running_and_fixes_the_stats(redis_url: str) -> None:
    """keep_runs=5: the oldest finished records go with their share of the stats; running claims stay."""
    store = RedisStore(redis_url, keep_runs=5, keep_days=None)
    try:
        store.claim_run(_record("job", 0))  # running: never pruned
        for minute in range(1, 11):
            record = _record("job", minute)
            store.claim_run(record)
            store.finish_run(
                record.finished(RunStatus.SUCCEEDED, record.scheduled_for + _dt.timedelta(seconds=minute))
            )
        assert store.prune() == 5
        kept = store.history("job", 100)
        assert [r.scheduled_for.minute for r in kept] == [10, 9, 8, 7, 6, 0]
        (stats,) = store.stats()
        assert (stats.runs, stats.succeeded, stats.duration_max) == (6, 5, 10.0)
        assert stats == stats_by_task(kept)[0]._replace(
            duration_p50=stats.duration_p50, duration_p95=stats.duration_p95
        )
        assert store.prune() == 0
    finally:
        store.close()


def test_pruning_by_age(redis_url: str) -> None:
    """keep_days=1: records of occurrences older than a day go, newer ones stay."""
    store = RedisStore(redis_url, keep_runs=None, keep_days=1)
    now = _dt.datetime.now(_dt.timezone.utc)
    try:
        for days in (3, 2, 0):
            when = now - _dt.timedelta(days=days)
            store.finish_run(RunRecord("job", when, 1, RunStatus.SUCCEEDED, when, when, None, "a"))
        assert store.prune() == 2
        assert [r.scheduled_for for r in store.history()] == [now - _dt.timedelta(days=0)]
        assert store.stats()[0].succeeded == 1
    finally:
        store.close()


def test_watch_hears_saves_and_deletes_from_another_store(
    store: RedisStore, redis_url: str, tmp_path: Path
) -> None:
    """A definition saved or deleted through another RedisStore reaches watch()'s callback."""
    import threading

    from autocron_core.task import build_task

    heard = threading.Event()
    stop = store.watch(heard.set)
    other = RedisStore(redis_url)
    try:
        script = tmp_path / "s.py"
        script.write_text("print(1)\n")
        deadline = 20
        for _ in range(deadline * 4):  # the subscription may land after the first save
            other.save_task(build_task("w", script=str(script), every="5m"))
            if heard.wait(0.25):
                break
        assert heard.is_set()
        heard.clear()
        assert other.delete_task("w")
        assert heard.wait(10)
    finally:
        stop()
        other.close()


_names = st.text(
    st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
)  # what Task names may hold: no control characters


@given(names=st.lists(_names, min_size=1, max_size=5, unique=True))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_task_name_claims_once_and_reads_back(redis_url: str, names: list[str]) -> None:
    """Names with ":", "*", "[", spaces, markup or a leading "-" are keys like any other: claimed once."""
    store = RedisStore(redis_url, prefix=f"t_{uuid.uuid4().hex[:12]}")  # one prefix per example
    try:
        for name in names:
            assert store.claim_run(_record(name, 1)) is True
            assert store.claim_run(_record(name, 1, node="b")) is False
        assert sorted(r.task for r in store.history(None, 100)) == sorted(names)
        assert [s.task for s in store.stats()] == sorted(names)
        for name in names:
            assert store.history(name) == [_record(name, 1)]
    finally:
        _delete_prefix(store)
        store.close()


def test_history_orders_ties_by_task_name_as_sql_does(store: RedisStore) -> None:
    """Records of one occurrence and attempt come by task name, and a limit cuts that order."""
    for name in ("c", "a", "b"):
        store.claim_run(_record(name, 5))
    store.claim_run(_record("z", 4))
    assert [r.task for r in store.history(None, 2)] == ["a", "b"]
    assert [r.task for r in store.history(None, 10)] == ["a", "b", "c", "z"]


def test_a_name_that_is_not_utf8_is_a_store_error(store: RedisStore) -> None:
    """A lone surrogate in a task name cannot be sent to Redis: StoreError, and nothing is stored."""
    with pytest.raises(StoreError, match="UTF-8"):
        store.claim_run(_record("bad\udc80"))
    assert store.history() == []
