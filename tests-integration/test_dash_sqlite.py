"""The dashboard over a real SQLite database written by a real scheduler, read back as the CLI does."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

from autocron_core import AutoCron
from autocron_dash import show_dashboard, show_task

SqlStore = pytest.importorskip("autocron_store").SqlStore


def test_dashboard_reads_what_a_scheduler_recorded(tmp_path: Path) -> None:
    """Runs of command tasks recorded in SQLite show up, with output and errors, from a fresh store."""
    url = f"sqlite:///{tmp_path / 'autocron.db'}"
    scheduler = AutoCron(store=url, timezone="UTC")
    scheduler.add_task("hello", command=[sys.executable, "-c", "print('hello from the task')"], every="1h")
    scheduler.add_task(
        "broken", command=[sys.executable, "-c", "import sys; sys.exit('bad input')"], every="1h"
    )
    try:
        for _ in range(3):
            assert scheduler.run_task(name="hello", timeout=30)
        for _ in range(2):
            assert not scheduler.run_task(name="broken", timeout=30)
    finally:
        scheduler.close()

    store = SqlStore(url)  # what `autocron dashboard` opens: the database alone
    try:
        out = io.StringIO()
        show_dashboard(store, console=Console(file=out, width=200), json=True)
        tasks = {t["name"]: t for t in json.loads(out.getvalue())["tasks"]}
        assert tasks["hello"]["succeeded"] == 3 and tasks["hello"]["status"] == "ok"
        assert tasks["broken"]["failed"] == 2 and tasks["broken"]["status"] == "failing"
        assert tasks["broken"]["failure_streak"] == 2 and tasks["hello"]["schedule"] == "every 1h"

        console = Console(record=True, width=200, force_terminal=True, color_system="standard")
        show_dashboard(store, console=console)
        text = console.export_text()
        assert "hello" in text and "broken" in text and "never succeeded" in text

        console = Console(record=True, width=200)
        show_task("hello", store, console=console)
        assert "hello from the task" in console.export_text()
    finally:
        store.close()
