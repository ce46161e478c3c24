"""The web dashboard over HTTP: every route, the token and CSRF rules, hostile names."""

from __future__ import annotations

import datetime as _dt
import html
import itertools
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from starlette.testclient import TestClient

from autocron_core import AutoCron, ConfigError, RunStatus
from autocron_dash.web import WebDashboard, serve_dashboard
from autocron_dash.web._security import check_bind, host_allowed, is_loopback
from autocron_store import SqlStore

from .conftest import define, record, write
from .web_fixtures import HOSTILE, add_success, csrf_of, login, make_db

TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:8765"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return make_db(tmp_path)


@pytest.fixture
def web(db: str) -> WebDashboard:
    return WebDashboard(db, token=TOKEN)


@pytest.fixture
def client(web: WebDashboard) -> Iterator[TestClient]:
    with TestClient(web.app, base_url=BASE) as c:
        yield c


class TestReading:
    def test_overview_lists_every_task_with_figures(self, client: TestClient) -> None:
        """The overview shows each task's status, schedule in words, success rate and a sparkline."""
        page = client.get("/")
        assert page.status_code == 200
        for name in ("backup", "flaky", "resting", "fresh"):
            assert f">{name}</a>" in page.text
        assert "failing x3" in page.text
        assert "every 1m" in page.text
        assert '<svg class="spark"' in page.text
        assert "Recommendations" in page.text

    def test_task_page_has_definition_fires_plot_and_history(self, client: TestClient) -> None:
        """A task page shows its definition, next fire times with the zone, a plot and its runs."""
        page = client.get("/task", params={"name": "flaky"})
        assert page.status_code == 200
        assert "Next fire times" in page.text
        assert re.search(r"<li>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</li>", page.text)
        assert '<svg class="plot"' in page.text
        assert page.text.count('class="run ') == 6
        assert "ValueError: boom" in page.text

    def test_task_history_filters_by_status_and_day(self, client: TestClient) -> None:
        """The status and date filters narrow the history table."""
        failed = client.get("/task", params={"name": "flaky", "status": "failed"})
        assert failed.text.count('data-status="failed"') == 4
        assert 'data-status="succeeded"' not in failed.text
        none = client.get("/task", params={"name": "flaky", "since": "2026-01-06"})
        assert "No runs match." in none.text
        day = client.get("/task", params={"name": "flaky", "since": "2026-01-05", "until": "2026-01-05"})
        assert day.text.count('class="run ') == 6

    def test_history_pages_by_key_without_overlap(self, tmp_path: Path) -> None:
        """'Older runs' pages through a long history, each run exactly once."""
        url = f"sqlite:///{tmp_path / 'long.db'}"
        store = SqlStore(url)
        define(store, "long")
        write(store, [record("long", i, RunStatus.SUCCEEDED) for i in range(120)])
        store.close()
        seen: list[str] = []
        with TestClient(WebDashboard(url).app, base_url=BASE) as c:
            link: str | None = "/task?name=long"
            while link:
                page = c.get(html.unescape(link)).text
                seen += re.findall(r'<tr class="run[^>]*>\s*<td title="[^"]*">([^<]+)</td>', page)
                found = re.search(r'<a rel="next" href="([^"]+)"', page)
                link = found.group(1) if found else None
        assert len(seen) == 120 and len(set(seen)) == 120

    def test_runs_page_lists_runs_across_tasks(self, client: TestClient) -> None:
        """The runs page shows every task's runs, with the task column, filtered by status."""
        page = client.get("/runs", params={"status": "skipped"})
        assert page.status_code == 200
        assert page.text.count('data-status="skipped"') == 5
        assert ">overlapper</a>" in page.text

    @pytest.mark.parametrize(
        ("query", "field"),
        [({"status": "exploded"}, "status"), ({"since": "yesterday"}, "since"), ({"after": "x.y"}, "after"),
         ({"since": "2026-02-01", "until": "2026-01-01"}, "until"),
         ({"after": "99999999999999999999.1.x"}, "after"), ({"after": "1.-1.x"}, "after"),
         ({"since": "2026-13-01"}, "since")],
    )  # fmt: skip
    def test_bad_filters_are_a_400_naming_the_field(
        self, client: TestClient, query: dict[str, str], field: str
    ) -> None:
        """A bad filter value is refused with a one-line error naming the field and the value."""
        page = client.get("/runs", params=query)
        assert page.status_code == 400
        assert f"{field}=" in html.unescape(page.text)

    def test_the_last_day_of_year_9999_is_a_valid_filter(self, client: TestClient) -> None:
        """A day filter at the end of the calendar reads fine (no overflow), matching nothing."""
        page = client.get("/runs", params={"since": "9999-12-31", "until": "9999-12-31"})
        assert page.status_code == 200 and "No runs match." in page.text

    def test_unknown_task_is_a_404(self, client: TestClient) -> None:
        """A task with neither definition nor history is a 404 page."""
        assert client.get("/task", params={"name": "nope"}).status_code == 404

    def test_live_part_answers_at_once_when_behind(self, client: TestClient) -> None:
        """A live request from an older version gets the redrawn part at once, with the new version."""
        part = client.get("/live/overview", params={"v": "-1"})
        assert part.status_code == 200
        assert part.text.startswith('<div id="live" hx-get="/live/overview?v=')
        assert "<html" not in part.text

    def test_live_part_waits_for_a_change(self, web: WebDashboard, client: TestClient, db: str) -> None:
        """A live request at the current version returns once another process records a run."""
        version = web.changes.version
        result: dict[str, Any] = {}

        def poll() -> None:
            result["part"] = client.get("/live/task", params={"name": "backup", "v": str(version)})

        thread = threading.Thread(target=poll)
        thread.start()
        deadline = time.monotonic() + 60
        while not web.changes.waiting and time.monotonic() < deadline:  # the request is held
            time.sleep(0.01)
        assert web.changes.version == version
        add_success(db, "backup", 500)
        thread.join(60)
        assert not thread.is_alive()
        assert result["part"].status_code == 200
        assert web.changes.version > version
        assert result["part"].text.count('class="run ') == 22

    def test_metrics_and_health(self, client: TestClient) -> None:
        """/metrics counts runs by task and status from the store; /healthz says the store answers."""
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert 'autocron_runs_total{status="failed",task="flaky"} 4.0' in metrics.text
        assert 'autocron_task_paused{task="resting"} 1.0' in metrics.text
        assert client.get("/healthz").json() == {"store": "ok"}

    def test_security_headers_on_every_response(self, client: TestClient) -> None:
        """Pages carry a strict CSP, no framing and no referrer."""
        for path in ("/", "/runs", "/login", "/static/htmx.min.js", "/nope"):
            headers = client.get(path).headers
            assert "script-src 'self'" in headers["content-security-policy"]
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer"

    def test_htmx_is_served_from_the_package(self, client: TestClient) -> None:
        """htmx is a vendored static file of the noted release, with its licence: the page works offline."""
        from autocron_dash.web import HTMX_VERSION

        script = client.get("/static/htmx.min.js")
        assert script.status_code == 200
        assert f'version:"{HTMX_VERSION}"' in script.text
        assert "Zero-Clause BSD" in client.get("/static/htmx.LICENSE.txt").text
        assert 'src="/static/htmx.min.js"' in client.get("/").text


class TestHostileNames:
    @pytest.mark.parametrize("name", HOSTILE)
    def test_every_page_escapes_the_name(self, client: TestClient, name: str) -> None:
        """Markup, quotes, option-like and very long names show as text on every page."""
        for page in (client.get("/"), client.get("/task", params={"name": name}), client.get("/runs")):
            assert page.status_code == 200
            if "<" in name or '"' in name:
                assert name not in page.text
        task = client.get("/task", params={"name": name}).text
        assert str(escape(name)) in task
        assert str(escape(f"out {name}")) in task

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=60).map(
            lambda s: "<b>" + s
        )
    )
    def test_rendered_pages_never_hold_the_unescaped_name(self, tmp_path_factory: Any, name: str) -> None:
        """Whatever a task is called, the page holds its escaped text, never the raw markup."""
        store = AutoCron(log_level=None)
        store.add_task(name=name.strip() or "<b>x", command=["true"], every="1m")
        with TestClient(WebDashboard(store).app, base_url=BASE) as c:
            for page in (c.get("/"), c.get("/task", params={"name": store.list_tasks()[0].name})):
                assert page.status_code == 200
                assert "<b>" not in page.text


class TestHostAndBind:
    def test_dns_rebinding_host_is_refused_on_loopback(self, client: TestClient) -> None:
        """A request naming another host (a rebinding page) is answered 421 with no data."""
        page = client.get("/", headers={"host": "evil.example:8765"})
        assert page.status_code == 421
        assert "flaky" not in page.text

    @pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "127.0.0.1"])
    def test_loopback_host_names_pass(self, host: str) -> None:
        """Loopback addresses and localhost, with or without a port, are accepted."""
        assert host_allowed(host, True)

    @pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
    def test_non_loopback_bind_without_token_is_refused(
        self, host: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Binding beyond loopback without a token fails with an error saying why."""
        monkeypatch.delenv("AUTOCRON_DASH_TOKEN", raising=False)
        assert not is_loopback(host)
        with pytest.raises(ConfigError, match="non-loopback address only with a token"):
            check_bind(host, None)
        with pytest.raises(ConfigError, match="host="):
            serve_dashboard("sqlite:///unused.db", host=host, port=0)

    def test_non_loopback_reading_needs_the_token(self, db: str) -> None:
        """Served beyond loopback, pages redirect to the login and metrics want the bearer token."""
        with TestClient(
            WebDashboard(db, host="0.0.0.0", token=TOKEN).app, base_url="http://10.0.0.5:8765"
        ) as c:
            page = c.get("/", follow_redirects=False)
            assert page.status_code == 303 and page.headers["location"].startswith("/login")
            assert c.get("/metrics").status_code == 401
            assert c.get("/live/overview", params={"v": "0"}).status_code == 401
            bearer = c.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
            assert bearer.status_code == 200
            assert (
                c.get("/", headers={"authorization": "Bearer wrong"}, follow_redirects=False).status_code
                == 303
            )
            login(c, TOKEN)
            assert c.get("/").status_code == 200


class TestActions:
    def test_actions_need_a_session(self, client: TestClient) -> None:
        """Without logging in, an action is refused and nothing changes."""
        page = client.post("/actions/pause", data={"name": "backup", "csrf": "x"})
        assert page.status_code == 403
        assert "log in" in page.text
        assert "badge paused" not in client.get("/task", params={"name": "backup"}).text

    def test_wrong_token_does_not_log_in(self, client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
        """A wrong token is refused, logged without the value, and sets no cookie."""
        page = client.post("/login", data={"token": "guess-1234", "next": "/"}, follow_redirects=False)
        assert page.status_code == 403
        assert "autocron_session" not in page.headers.get("set-cookie", "")
        assert "guess-1234" not in caplog.text

    def test_session_cookie_is_strict_and_httponly(self, client: TestClient) -> None:
        """The session cookie is HttpOnly and SameSite=Strict, and the token is not in it."""
        page = client.post("/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert TOKEN.lower() not in cookie

    def test_pause_and_resume_with_csrf(self, client: TestClient, db: str) -> None:
        """Logged in, pause and resume change the stored task; the token never reaches a page."""
        csrf = login(client, TOKEN)
        page = client.post("/actions/pause", data={"name": "backup", "csrf": csrf, "note": "disk swap"})
        assert page.status_code == 200
        assert "badge paused" in page.text
        assert TOKEN not in page.text
        store = SqlStore(db)
        assert next(t for t in store.load_tasks() if t.name == "backup").paused
        store.close()
        assert (
            "badge paused" not in client.post("/actions/resume", data={"name": "backup", "csrf": csrf}).text
        )

    def test_missing_or_foreign_csrf_is_refused(self, client: TestClient, web: WebDashboard) -> None:
        """An action without this session's CSRF token (missing, or another session's) is refused."""
        login(client, TOKEN)
        assert client.post("/actions/pause", data={"name": "backup"}).status_code == 403
        other = web.keys.csrf_token("another-session")
        refused = client.post("/actions/pause", data={"name": "backup", "csrf": other})
        assert refused.status_code == 403 and "CSRF" in refused.text

    def test_cross_origin_post_is_refused(self, client: TestClient) -> None:
        """A form posted from another site (its Origin, or Sec-Fetch-Site) is refused even with a session."""
        csrf = login(client, TOKEN)
        for headers in ({"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"}):
            page = client.post("/actions/pause", data={"name": "backup", "csrf": csrf}, headers=headers)
            assert page.status_code == 403
        same = client.post("/actions/pause", data={"name": "backup", "csrf": csrf}, headers={"origin": BASE})
        assert same.status_code == 200

    def test_login_redirects_only_to_this_site(self, client: TestClient) -> None:
        """The login's 'next' cannot send the browser to another site."""
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            page = client.post("/login", data={"token": TOKEN, "next": target}, follow_redirects=False)
            assert page.headers["location"] == "/"

    def test_run_now_on_a_store_records_a_run(self, tmp_path: Path) -> None:
        """Run now without a live scheduler runs the task in the server and records it in the store."""
        url = f"sqlite:///{tmp_path / 'run.db'}"
        with AutoCron(store=url, log_level=None) as scheduler:
            scheduler.add_task(name="echo -x", command=["echo", "hello <b>"], every="1h")
        web = WebDashboard(url, token=TOKEN)
        with TestClient(web.app, base_url=BASE) as c:
            csrf = login(c, TOKEN)
            page = c.post("/actions/run", data={"name": "echo -x", "csrf": csrf})
            assert page.status_code == 200 and "Run started." in page.text
            assert web.actions is not None
            web.actions.join(60)
            page = c.get("/task", params={"name": "echo -x"})
            assert 'data-status="succeeded"' in page.text
            assert "hello &lt;b&gt;" in page.text

    def test_unknown_task_action_is_a_400(self, client: TestClient) -> None:
        """Acting on a name no task has is refused with an error naming the field."""
        csrf = login(client, TOKEN)
        page = client.post("/actions/run", data={"name": "ghost", "csrf": csrf})
        assert page.status_code == 400 and "name=" in html.unescape(page.text)

    def test_without_a_token_actions_are_off(self, db: str) -> None:
        """A dashboard without a token shows no action forms and refuses every action."""
        with TestClient(WebDashboard(db).app, base_url=BASE) as c:
            page = c.get("/task", params={"name": "backup"})
            assert "Actions are off" in page.text and 'name="csrf"' not in page.text
            assert c.post("/actions/run", data={"name": "backup"}).status_code == 403
            assert c.post("/login", data={"token": ""}).status_code == 403

    def test_live_scheduler_actions_go_through_it(self) -> None:
        """Beside a live scheduler, pause and run now act on it directly."""
        scheduler = AutoCron(log_level=None)
        scheduler.add_task(name="job", command=["true"], every="1h")
        with TestClient(WebDashboard(scheduler, token=TOKEN).app, base_url=BASE) as c:
            csrf = login(c, TOKEN)
            c.post("/actions/pause", data={"name": "job", "csrf": csrf})
            assert scheduler.get_task(name="job").paused  # type: ignore[union-attr]
            c.post("/actions/resume", data={"name": "job", "csrf": csrf})
            assert not scheduler.get_task(name="job").paused  # type: ignore[union-attr]
            assert csrf_of(c.get("/task", params={"name": "job"}).text) == csrf


def test_served_on_a_free_port(db: str) -> None:
    """serve_dashboard runs uvicorn in a thread on the port it reports, and close() frees it."""
    import urllib.request

    server = serve_dashboard(db, port=0, token=TOKEN)
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=30) as response:  # noqa: S310 - loopback
            assert response.status == 200
    finally:
        server.close()


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_importing_autocron_dash_imports_no_web_library() -> None:
    """`import autocron_dash` (and the terminal dashboard) loads neither Starlette, uvicorn nor Jinja2."""
    result = _python(
        "import sys, autocron_dash; autocron_dash.Dashboard; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_missing_extra_names_the_install_line() -> None:
    """Without Starlette, the web dashboard's import error carries the pip line of the extra."""
    result = _python(
        "import sys; sys.modules['starlette'] = None\n"
        "try:\n    from autocron_dash import serve_dashboard\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    assert 'pip install "autocron-dash[web]"' in result.stdout, result.stderr


class TestPauseNotesAndBackfill:
    def test_pause_with_a_note_and_backfill_reach_the_scheduler(self) -> None:
        """The pause form records the note and who paused; the backfill form runs the past occurrences."""
        scheduler = AutoCron(log_level=None)
        scheduler.add_task(name="job", command=["true"], every="1h")
        with TestClient(WebDashboard(scheduler, token=TOKEN).app, base_url=BASE) as c:
            csrf = login(c, TOKEN)
            page = c.get("/task", params={"name": "job"}).text
            assert 'id="pause-note"' in page and 'id="backfill"' in page
            done = c.post("/actions/backfill", data={"name": "job", "csrf": csrf, "start": "2026-01-01T00:00",
                                                     "end": "2026-01-01T03:00"})  # fmt: skip
            assert done.status_code in (200, 303), done.text
            bad = c.post("/actions/backfill", data={"name": "job", "csrf": csrf, "start": "2026-01-02T00:00",
                                                    "end": "2026-01-01T00:00"})  # fmt: skip
            assert bad.status_code == 400 and "end=" in html.unescape(bad.text)
            c.post("/actions/pause", data={"name": "job", "csrf": csrf, "note": "  disk <swap>  "})
            shown = c.get("/task", params={"name": "job"}).text
        task = scheduler.get_task(name="job")
        assert task is not None
        assert (task.paused, task.pause_note, task.paused_by) == (True, "disk <swap>", "web")
        assert "disk &lt;swap&gt;" in shown and "disk <swap>" not in shown
        backfilled = [r for r in scheduler.history("job") if r.trigger == "backfill"]
        utc = _dt.timezone.utc
        start, end = _dt.datetime(2026, 1, 1, tzinfo=utc), _dt.datetime(2026, 1, 1, 3, tzinfo=utc)
        fired = sorted(r.scheduled_for for r in backfilled)
        assert len(fired) == 3 and all(start <= f < end for f in fired), "one run per hourly occurrence"
        assert {b - a for a, b in itertools.pairwise(fired)} == {_dt.timedelta(hours=1)}

    def test_a_recorded_note_is_shown_escaped(self) -> None:
        """The pause note, who paused and when, read from the task, show as text."""
        from autocron_dash.web._actions import pause_info

        class Paused:
            pause_note = "<b>maintenance</b>"
            paused_by = "ops"
            paused_at = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)

        info = pause_info(Paused())
        assert (info.note, info.by, info.at) == ("<b>maintenance</b>", "ops", Paused.paused_at)
        assert pause_info(object()).note is None


def test_cluster_nodes_and_leases_show_when_several_nodes_share_the_store(tmp_path: Path) -> None:
    """With two live nodes, the overview lists them and which node holds each running run."""
    store = SqlStore(f"sqlite:///{tmp_path / 'cluster.db'}")
    try:
        define(store, "shared-job")
        store.register_node("node-a")
        store.register_node("node-b")
        running = record("shared-job", 0, RunStatus.SUCCEEDED)
        assert store.claim_run(running._replace(status=RunStatus.RUNNING, finished_at=None, node_id="node-b"))
        with TestClient(WebDashboard(store).app, base_url=BASE) as c:
            page = c.get("/").text
        assert "2 live node(s)" in page
        assert re.search(r"<tr><td>shared-job</td><td><code>node-b</code></td>", page)
        store.unregister_node("node-b")
        with TestClient(WebDashboard(store).app, base_url=BASE) as c:
            assert "Cluster" not in c.get("/").text  # one node: nothing to show
    finally:
        store.close()
