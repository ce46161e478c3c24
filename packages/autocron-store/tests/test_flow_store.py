"""Issue 17 in every store: pause notes and flow options persist; run triggers are kept."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from autocron_core import AutoCron
from autocron_core.records import RunRecord, RunStatus
from autocron_core.testing import FakeClock
from autocron_store import SqlStore

T0 = _dt.datetime(2026, 1, 5, 12, 0, tzinfo=_dt.timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql", "mysql", "yaml", "json"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each kind (servers skip when not configured)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'flow.db'}"
    if request.param in ("yaml", "json"):
        return str(tmp_path / f"tasks.{request.param}")
    value: str = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")
    return value


def test_pause_note_and_flow_options_survive_a_restart(url: str) -> None:
    """A note, who paused and when, after=, after_policy=, when= and pause_after_failures= are
    read back by the next process, from every store."""
    first = AutoCron(timezone="UTC", store=url, clock=FakeClock(T0))
    first.add_task("extract", command=["true"], every="1h")
    first.add_task(
        "load", command=["true"], cron="0 6 * * *", after=["extract"], after_policy="any",
        when="os.path:exists", pause_after_failures=4,
    )  # fmt: skip
    first.pause_task("load", note="vendor API down — ticket #42 <b>", by="ops")
    first.close()
    second = AutoCron(timezone="UTC", store=url)
    try:
        load = second.get_task(name="load")
        assert load is not None and load.paused
        assert (load.pause_note, load.paused_by, load.paused_at) == (
            "vendor API down — ticket #42 <b>",
            "ops",
            T0,
        )
        assert load.flow is not None
        flow = load.flow
        assert (flow.after, flow.after_policy, flow.when_ref, flow.pause_after_failures) == (
            ("extract",), "any", "os.path:exists", 4
        )  # fmt: skip
        second.resume_task("load")
    finally:
        second.close()
    third = AutoCron(timezone="UTC", store=url)
    try:
        load = third.get_task(name="load")
        assert load is not None and not load.paused
        assert (load.pause_note, load.paused_by, load.paused_at) == (None, None, None)
        assert load.resumed_at is not None
    finally:
        third.close()


def test_a_pause_made_elsewhere_reaches_a_running_node(tmp_path: Path) -> None:
    """A pause with a note saved by another process (the CLI) reaches a scheduler's sync with its note."""
    url = f"sqlite:///{tmp_path / 'sync.db'}"
    daemon = AutoCron(timezone="UTC", store=url)
    cli = AutoCron(timezone="UTC", store=url)
    try:
        daemon.add_task("job", command=["true"], every="1h")
        cli.sync_with_store()
        cli.pause_task("job", note="maintenance", by="alice")
        daemon.sync_with_store()
        task = daemon.get_task(name="job")
        assert (
            task is not None and task.paused and (task.pause_note, task.paused_by) == ("maintenance", "alice")
        )
    finally:
        daemon.close()
        cli.close()


@pytest.mark.parametrize("trigger", ["schedule", "manual", "backfill", "dependency"])
def test_every_trigger_round_trips_through_sql(tmp_path: Path, trigger: str) -> None:
    """A record's trigger is stored and read back, by the store and by the read-only reader."""
    from autocron_store._reads import open_reader

    path = tmp_path / "t.db"
    store = SqlStore(f"sqlite:///{path}")
    record = RunRecord("job", T0, 1, RunStatus.RUNNING, T0, None, None, "n", None, trigger)
    assert store.claim_runs([record]) == [True]
    store.finish_runs([record.finished(RunStatus.SUCCEEDED, T0)])
    assert store.history("job")[0].trigger == trigger
    store.close()
    reader = open_reader(f"sqlite:///{path}")
    assert reader is not None
    try:
        assert reader.history("job", 1)[0].trigger == trigger
    finally:
        reader.close()
