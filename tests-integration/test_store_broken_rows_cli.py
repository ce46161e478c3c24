"""The CLI over a store holding an unreadable row, and store options it must refuse (issue 15: 3, 18)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from autocron_cli.main import cli
from autocron_core.task import build_task
from autocron_store import SqlStore

#: 9999-12-31T23:00 in America/New_York: after year 9999 in UTC.
FAR_FUTURE_US = 253_402_318_800_000_000 + 4 * 3600 * 1_000_000


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="autocron", terminal_width=200)
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    """An SQLite store with one good task and one row whose next run is beyond year 9999."""
    path = str(tmp_path / "a.db")
    store = SqlStore(path)
    store.save_task(build_task("good", command=["true"], every="5m"))
    with store._engine.begin() as conn:
        conn.execute(
            insert(store.tables.tasks).values(
                name="far", task_id="deadbeef", kind="command", updated_at_us=0, next_run_us=FAR_FUTURE_US,
                definition=json.dumps({"name": "far", "command": ["true"], "every": 300}),
                run_count=0, fail_count=0, paused=False,
            )
        )  # fmt: skip
    store.close()
    return path


def test_list_shows_a_broken_row_and_the_good_tasks(db: str) -> None:
    """autocron list still works with an unreadable row, and shows it as broken with its reason."""
    code, out = _run("--store", db, "list")
    assert code == 0, out
    assert "good" in out and "far" in out and "broken" in out
    code, out = _run("--store", db, "list", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["far"]["broken"] is True and rows["far"]["error"]
    assert "broken" not in rows["good"]


def test_remove_deletes_a_broken_row(db: str) -> None:
    """autocron remove NAME deletes the unreadable row; the good task stays."""
    code, out = _run("--store", db, "remove", "far")
    assert code == 0, out
    code, out = _run("--store", db, "list", "--json")
    assert [row["name"] for row in json.loads(out)] == ["good"]
    assert _run("--store", db, "remove", "far")[0] == 2


@pytest.mark.parametrize("query", ["keep_runs=lots", "busy_timeout=abc", "keep_days=abc"])
def test_bad_store_url_options_exit_2(tmp_path: Path, query: str) -> None:
    """--store x.db?keep_runs=lots is a one-line error naming the option, exit 2."""
    code, out = _run("--store", f"sqlite:///{tmp_path / 'a.db'}?{query}", "list")
    assert code == 2, out
    assert query.split("=", maxsplit=1)[0] in out and "unexpected" not in out.lower()


def test_a_scheduler_over_a_broken_row_runs_syncs_and_serves_metrics(db: str) -> None:
    """show, run, the daemon's store sync and /metrics keep working beside an unreadable row."""
    import urllib.request

    from autocron_core import AutoCron
    from autocron_dash import serve_metrics

    assert _run("--store", db, "show", "good")[0] == 0
    code, out = _run("--store", db, "run", "good")
    assert code == 0, out
    scheduler = AutoCron(store=SqlStore(db), log_level=None)
    try:
        assert [t.name for t in scheduler.list_tasks()] == ["good"]
        scheduler.sync_with_store()  # what `autocron start` does every 2 s
        server = serve_metrics(scheduler, port=0)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as reply:
                assert reply.status == 200
                assert 'task="good"' in reply.read().decode()
        finally:
            server.close()
    finally:
        scheduler.close()
