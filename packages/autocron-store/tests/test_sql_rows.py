"""SqlStore input hardening: unreadable rows, URL options and names that cannot be stored."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from autocron_core.errors import AutoCronError, ConfigError, TaskError
from autocron_core.task import build_task
from autocron_store import SqlStore

#: A next run beyond year 9999 in UTC: --at 9999-12-31T23:00 in America/New_York.
FAR_FUTURE_US = 253_402_318_800_000_000 + 4 * 3600 * 1_000_000


def _raw_row(store: SqlStore, name: str, definition: str, next_run_us: int | None = None) -> None:
    """Write a task row directly, as a damaged database or an older bug left it."""
    with store._engine.begin() as conn:
        conn.execute(
            insert(store.tables.tasks).values(
                name=name, task_id="deadbeef", kind="command", definition=definition, next_run_us=next_run_us,
                run_count=0, fail_count=0, paused=False, updated_at_us=0,
            )
        )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    """A new SQLite store."""
    return SqlStore(f"sqlite:///{tmp_path / 'a.db'}")


def test_a_far_future_row_costs_only_that_row(store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    """A row whose next run is beyond year 9999 is reported and skipped; the other tasks load."""
    store.save_task(build_task("good", command=["true"], every="5m"))
    good = json.dumps({"name": "far", "command": ["true"], "every": 300})
    _raw_row(store, "far", good, FAR_FUTURE_US)
    _raw_row(store, "garbage", "{not json")
    _raw_row(store, "list", "[1, 2]")
    with caplog.at_level(logging.ERROR, "autocron.store.sql"):
        tasks = store.load_tasks()
    assert [t.name for t in tasks] == ["good"]
    assert sorted(name for name, _ in store.load_errors) == ["far", "garbage", "list"]
    assert all(reason for _, reason in store.load_errors)
    assert "far" in caplog.text
    assert store.delete_task("far") is True
    store.load_tasks()
    assert sorted(name for name, _ in store.load_errors) == ["garbage", "list"]


def test_a_task_whose_next_run_cannot_be_read_back_is_never_saved(store: SqlStore) -> None:
    """A task whose next run lies beyond year 9999 is a TaskError naming next_run; nothing is stored."""
    task = build_task("far", command=["true"], every="5m")
    task.next_run_us = FAR_FUTURE_US
    with pytest.raises(TaskError) as info:
        store.save_task(task)
    assert info.value.field == "next_run"
    with pytest.raises(TaskError):
        store.save_state(task)
    assert store.load_tasks() == [] and store.load_errors == []


def test_a_name_that_is_not_utf8_is_a_task_error(store: SqlStore) -> None:
    """A surrogate-escaped (non-UTF-8) task name is refused by field, never an encoding traceback."""
    task = build_task("ok", command=["true"], every="5m")
    task.name = "caf\udce9"  # what os.fsdecode gives for latin-1 bytes
    with pytest.raises(TaskError) as info:
        store.save_task(task)
    assert info.value.field == "name"


@pytest.mark.parametrize(
    ("query", "field"),
    [("keep_runs=lots", "keep_runs"), ("busy_timeout=abc", "busy_timeout"), ("keep_days=abc", "keep_days"),
     ("keep_days=nan", "keep_days"),
     ("prefix=a;drop", "prefix")],
)  # fmt: skip
def test_bad_url_options_are_config_errors_naming_the_option(tmp_path: Path, query: str, field: str) -> None:
    """?keep_runs=lots and friends give a ConfigError naming the option and its value."""
    with pytest.raises(ConfigError) as info:
        SqlStore(f"sqlite:///{tmp_path / 'a.db'}?{query}")
    assert info.value.field == field
    assert query.split("=", 1)[1] in str(info.value)
    assert "\n" not in str(info.value)


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from(["keep_runs", "keep_days", "busy_timeout", "lease"]),
    value=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)
def test_property_any_url_option_value_opens_or_is_a_clean_error(
    tmp_path_factory: pytest.TempPathFactory, key: str, value: str
) -> None:
    """Any text as a store URL option either opens the store or is an AutoCronError, nothing else."""
    from urllib.parse import quote

    path = tmp_path_factory.mktemp("opt") / "a.db"
    with contextlib.suppress(AutoCronError):
        SqlStore(f"sqlite:///{path}?{key}={quote(value)}").close()


_NAMES = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=30, deadline=None)
@given(names=st.lists(_NAMES, min_size=1, max_size=4, unique=True), far=st.booleans())
def test_property_one_bad_row_never_hides_the_others(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], far: bool
) -> None:
    """Whatever garbage one row holds, every other stored task still loads."""
    store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('rows') / 'a.db'}")
    try:
        saved = []
        for name in names:
            try:
                store.save_task(build_task(name, command=["true"], every="5m"))
            except AutoCronError:
                continue
            saved.append(name)
        _raw_row(store, "\x00broken", "{}" if not far else '{"name": "x", "command": ["true"], "every": 1}',
                 FAR_FUTURE_US if far else None)  # fmt: skip
        assert sorted(t.name for t in store.load_tasks()) == sorted(saved)
        assert [name for name, _ in store.load_errors] == ["\x00broken"]
    finally:
        store.close()


def test_a_far_future_moment_is_refused_before_the_row_exists() -> None:
    """The year 9999 bound is exact: 9999-12-31T23:59:59.999999 UTC is storable, one step later is not."""
    task = build_task("edge", command=["true"], every="5m")
    task.next_run_us = (
        (_dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=_dt.timezone.utc)
         - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)) // _dt.timedelta(microseconds=1)
    )  # fmt: skip
    from autocron_store._document import check_writable

    check_writable(task, {})
    task.next_run_us += 1
    with pytest.raises(TaskError):
        check_writable(task, {})
