"""The web dashboard in real Chromium (Playwright with the system's browser): read, log in, act, watch live.

Screenshots of each page land in the test's temporary folder, and also in
``$AUTOCRON_SCREENSHOTS_DIR`` when it is set (``docs/img/`` holds the ones
docs/dashboard.md shows: ``AUTOCRON_SCREENSHOTS_DIR=docs/img pytest -k browser``).
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autocron_dash.web import DashboardServer, serve_dashboard

from .web_fixtures import add_success, demo_db

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("AUTOCRON_CHROMIUM", "/usr/bin/chromium")
TOKEN = "browser-test-token-42"
#: Generous: a loaded 2-core machine runs these beside other suites.
WAIT_MS = 30_000

pytestmark = [
    pytest.mark.realtime,
    # Where services are required (.ci/run), a missing browser fails the tests instead of skipping them.
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("AUTOCRON_TEST_REQUIRE_SERVICES"),
        reason=f"no Chromium at {CHROMIUM} (.ci/run installs it)",
    ),
]


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Any]:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    wanted = os.environ.get("AUTOCRON_SCREENSHOTS_DIR")

    def take(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if wanted:
            Path(wanted).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(wanted) / path.name)
        return path

    yield take


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[DashboardServer, str]]:
    url = demo_db(tmp_path, _dt.datetime.now(_dt.timezone.utc))
    with serve_dashboard(url, port=0, token=TOKEN) as running:
        yield running, url


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _runs(page: Any) -> int:
    return int(page.locator("tr.run").count())


def test_read_log_in_run_now_watch_live_and_pause(
    server: tuple[DashboardServer, str], browser: Any, shots: Any
) -> None:
    """Open the overview, click into a task, run it with the token, see runs arrive live, pause it."""
    running, url = server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(running.url + "/")
    page.wait_for_selector("table.tasks")
    assert page.locator("table.tasks tbody tr").count() == 5
    shots(page, "web-overview")

    page.click("text=sync-crm")
    page.wait_for_selector("h1.task-name")
    assert page.inner_text("h1.task-name") == "sync-crm"
    assert page.locator("svg.plot circle").count() > 0
    assert _runs(page) == 50  # one page of the history

    page.click("text=Log in with the token")
    page.fill("#token", TOKEN)
    page.click("#login")
    page.wait_for_selector("#run-now")
    assert TOKEN not in page.content()

    newest = page.inner_text("tr.run td")
    page.click("#run-now")
    page.wait_for_selector("text=Run started.")
    # The run lasts about a second: it shows up as the newest row and finishes, without a reload.
    page.evaluate("window.__sameDocument = true")
    page.wait_for_function(
        "t => { const row = document.querySelector('tr.run');"
        " return row.querySelector('td').innerText !== t && row.dataset.status === 'succeeded'; }",
        arg=newest,
        timeout=WAIT_MS,
    )
    assert page.evaluate("window.__sameDocument") is True
    assert "done" in (page.text_content("tr.run td.output pre") or "")  # the output tail, folded
    shots(page, "web-task")

    # A run recorded by another process appears live too.
    page.evaluate("window.__sameDocument = true")
    newest = page.inner_text("tr.run td")
    ahead = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(minutes=1)
    add_success(url, "sync-crm", 0, at=ahead)  # scheduled ahead of every other run: the newest row
    page.wait_for_function(
        "t => document.querySelector('tr.run td').innerText !== t", arg=newest, timeout=WAIT_MS
    )
    assert page.evaluate("window.__sameDocument") is True

    page.fill("#pause-note", "CRM <maintenance> until Monday")
    page.click("#pause")
    page.wait_for_selector("#task-status.paused")
    assert page.inner_text("#pause-shown").startswith("Paused: CRM <maintenance> until Monday")
    assert page.locator("#resume").count() == 1
    shots(page, "web-task-paused")

    page.click("text=Runs")
    page.wait_for_selector("table.runs")
    assert page.locator("table.runs tr.run").count() == 50
    page.select_option("select[name=status]", "failed")
    page.click("form.filters button")
    page.wait_for_selector("table.runs")
    statuses = set(page.eval_on_selector_all("tr.run", "rows => rows.map(r => r.dataset.status)"))
    assert statuses == {"failed"}
    shots(page, "web-runs")
    assert errors == []  # no CSP violation, no script error
    context.close()


def test_reading_works_without_javascript(server: tuple[DashboardServer, str], browser: Any) -> None:
    """With JavaScript off, every page still shows its data."""
    running, _ = server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(running.url + "/")
    assert page.locator("table.tasks tbody tr").count() == 5
    page.click("text=import-orders")
    assert page.locator("tr.run").count() > 0
    context.close()
