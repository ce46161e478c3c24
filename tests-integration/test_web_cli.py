"""`autocron dashboard --web` and `autocron start --web` end to end: real processes, SQLite, HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.realtime

#: Generous: a loaded 2-core machine starts Python processes slowly.
DEADLINE = 60.0


def autocron(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m autocron_cli ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "autocron_cli", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


class Served:
    """A background `autocron ... --web` process, its URL and the token it printed."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autocron_cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1", **(env or {})},
        )
        self.lines: list[str] = []
        assert self.process.stdout is not None
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and not any("Web dashboard at" in line for line in self.lines):
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
        found = next(
            (re.search(r"at (http://\S+?)/ ", line) for line in self.lines if "Web dashboard" in line), None
        )
        assert found, (
            f"no URL in {self.lines!r}; stderr: {self.process.stderr.read() if self.process.stderr else ''}"
        )
        self.url = found.group(1)
        if self.process.stdout is not None:
            token_line = self.process.stdout.readline()
            self.lines.append(token_line)
        tokens = [
            line.rsplit(": ", 1)[1].strip() for line in self.lines if line.startswith("Token for actions")
        ]
        self.token = tokens[0] if tokens else None

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=DEADLINE)
        return self.process.returncode, err


class Browser:
    """A cookie-keeping HTTP client that sends forms as a browser on the same origin does."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=DEADLINE) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base + path, data=data, headers={"Origin": self.base})  # noqa: S310 - loopback
        try:
            with self.opener.open(request, timeout=DEADLINE) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def csrf(self) -> str:
        page = self.get("/runs")[1]
        return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


@pytest.fixture
def with_task() -> Iterator[None]:
    result = autocron("schedule", "--name", "hello web", "--command", "echo hi from the web", "--every", "1h")
    assert result.returncode == 0, result.stderr
    yield


def test_non_loopback_without_token_exits_2() -> None:
    """Binding beyond loopback without AUTOCRON_DASH_TOKEN stops with exit 2 and says why."""
    env = {k: v for k, v in os.environ.items() if k != "AUTOCRON_DASH_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "autocron_cli", "dashboard", "--web", "--host", "0.0.0.0", "--port", "0"],  # noqa: S104 - the refusal is the point
        capture_output=True, text=True, timeout=DEADLINE, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr and "AUTOCRON_DASH_TOKEN" in result.stderr


def test_dashboard_web_serves_the_store_and_runs_now(with_task: None) -> None:
    """`dashboard --web` prints its URL and a token once; with it, run now records a run in the store."""
    served = Served("dashboard", "--web", "--port", "0")
    try:
        assert served.token and len(served.token) >= 40
        assert served.token not in served.url
        browser = Browser(served.url)
        status, page = browser.get("/")
        assert status == 200 and "hello web" in page
        assert browser.post("/login", {"token": served.token, "next": "/"})[0] == 200
        status, page = browser.post("/actions/run", {"name": "hello web", "csrf": browser.csrf()})
        assert status == 200 and "Run started." in page
        end = time.monotonic() + DEADLINE
        runs: list[dict[str, Any]] = []
        while time.monotonic() < end and not runs:
            listed = json.loads(autocron("history", "hello web", "--json").stdout)
            runs = [r for r in listed if r["status"] == "succeeded"]
            time.sleep(0.2)
        assert runs and "hi from the web" in runs[0]["output"]
    finally:
        code, err = served.stop()
    assert code == 0, err
    log = Path(os.environ["AUTOCRON_HOME"]) / "logs" / "autocron.log"
    assert served.token not in (log.read_text() if log.exists() else "")
    assert served.token not in err


def test_start_web_acts_through_the_live_scheduler(with_task: None) -> None:
    """`start --web` serves beside the running scheduler: pause and resume act on it, and health is live."""
    token = "start-web-token-for-the-test"
    served = Served(
        "start", "--web", "--web-port", "0", "--duration", "60s", env={"AUTOCRON_DASH_TOKEN": token}
    )
    try:
        assert served.token is None  # a configured token is never printed
        browser = Browser(served.url)
        status, health = browser.get("/healthz")
        assert status == 200 and json.loads(health)["loop_alive"] is True
        assert browser.post("/login", {"token": token, "next": "/"})[0] == 200
        status, page = browser.post("/actions/pause", {"name": "hello web", "csrf": browser.csrf()})
        assert status == 200 and "badge paused" in page
        listed = json.loads(autocron("list", "--json").stdout)
        assert next(t for t in listed if t["name"] == "hello web")["status"] == "paused"
        metrics = browser.get("/metrics")[1]
        assert 'autocron_task_paused{task="hello web"} 1.0' in metrics
    finally:
        code, err = served.stop()
    assert code == 0, err
    assert token not in err
