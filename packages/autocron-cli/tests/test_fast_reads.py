"""Read-only commands on an SQLite store print what they printed through SqlStore, without SQLAlchemy."""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autocron_cli.main import cli
from autocron_core import RunRecord, RunStatus, build_task

T0 = _dt.datetime(2026, 3, 1, tzinfo=_dt.timezone.utc)

READ_COMMANDS = [
    ["list"],
    ["list", "--json"],
    ["list", "--enabled"],
    ["history"],
    ["history", "job-1", "-n", "7"],
    ["history", "job-1", "--json"],
    ["history", "nobody"],
    ["stats"],
    ["stats", "job-2", "--json"],
    ["stats", "nobody"],
    ["dashboard"],
    ["dashboard", "--last", "5"],
    ["dashboard", "--task", "job-0"],
    ["dashboard", "--json"],
]


@pytest.fixture
def database(tmp_path: Path) -> str:
    """An SQLite store with three tasks (one paused, one broken) and some history."""
    from autocron_store import SqlStore

    url = f"sqlite:///{tmp_path / 'autocron.db'}"
    store = SqlStore(url, keep_runs=None, keep_days=None)
    statuses = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SUCCEEDED, RunStatus.SKIPPED]
    for t in range(3):
        task = build_task(f"job-{t}", command=["true"], every=f"{t + 1}m", timezone="UTC", timeout=60)
        task.paused = t == 2
        store.save_task(task)
        for i in range(30):
            scheduled = T0 + _dt.timedelta(minutes=i)
            status = statuses[(i + t) % len(statuses)]
            started = None if status is RunStatus.SKIPPED else scheduled + _dt.timedelta(seconds=i % 3)
            finished = None if started is None else started + _dt.timedelta(seconds=5 + i % 7 + t)
            error = "RuntimeError: boom\nTraceback" if status is RunStatus.FAILED else None
            store.claim_run(RunRecord(f"job-{t}", scheduled, 1, status, started, finished, error, "n1", "o"))
    store.save_task(build_task("broken", command=["true"], every="1m", timezone="UTC"))
    store.close()
    import sqlite3

    with sqlite3.connect(tmp_path / "autocron.db") as conn:
        conn.execute("UPDATE tasks SET definition = '{garbled' WHERE name = 'broken'")
    return url


def _run(url: str, args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--store", url, *args], prog_name="autocron", terminal_width=80)
    out = result.stdout
    if "--json" in args and args[0] == "dashboard":
        data = json.loads(out)
        data.pop("generated_at")  # the moment it ran
        out = json.dumps(data)
    return result.exit_code, out, result.stderr


@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_read_commands_print_the_same_as_through_sql_store(
    database: str, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """list, history, stats and dashboard give the same output and exit code as before."""
    import autocron_store._reads as reads

    opened: list[object] = []
    real = reads.open_reader
    monkeypatch.setattr(reads, "open_reader", lambda url: opened.append(real(url)) or opened[-1])
    fast = _run(database, args)
    assert opened and opened[0] is not None  # the reader did answer
    monkeypatch.setattr(reads, "open_reader", lambda url: None)  # as before: SqlStore
    slow = _run(database, args)
    assert fast == slow


@pytest.mark.parametrize(
    "args", [["list"], ["history", "job-1"], ["stats"], ["dashboard"], ["dashboard", "--json"]], ids=" ".join
)
def test_read_commands_do_not_import_sqlalchemy(database: str, args: list[str]) -> None:
    """On an SQLite store, list, history, stats and dashboard run without loading SQLAlchemy."""
    code = (
        "import sys\nfrom autocron_cli.main import main\n"
        f"try:\n    main({['--store', database, *args]!r})\nexcept SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'yaml'}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "AUTOCRON_DATABASE"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "LOADED []", result.stdout[-300:]


def test_a_new_store_is_still_created_by_list(tmp_path: Path) -> None:
    """`autocron list` on a database that does not exist yet creates it, as before (no reader)."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, _out, err = _run(url, ["list"])
    assert code == 0 and "no tasks yet" in err
    assert (tmp_path / "new.db").exists()
