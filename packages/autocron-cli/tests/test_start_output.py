"""start in-process (config, bad config, metrics) and the output module's terminal rules."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from autocron_cli import output


def test_start_runs_config_tasks_and_logs(autocron, store, tmp_path: Path, autocron_home: Path) -> None:
    """start --config adds the file's tasks to the stored ones, runs them and logs to the log file."""
    config = tmp_path / "autocron.json"
    config.write_text(json.dumps({"tasks": [{"name": "cfg", "command": "true", "schedule": "0.2s"}]}))
    result = autocron("start", "--config", str(config), "--duration", "1.5")
    assert result.exit_code == 0, result.stderr
    assert any(r.task == "cfg" and r.status.value == "succeeded" for r in store.history("cfg"))
    assert "autocron started" in (autocron_home / "logs" / "autocron.log").read_text()


def test_start_with_bad_config_exits_2(autocron, tmp_path: Path) -> None:
    """A config with problems is refused before anything starts, each problem listed."""
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"tasks": [{"name": "x", "command": "true", "every": "never"}]}))
    result = autocron("start", "--config", str(config), "--duration", "1")
    assert result.exit_code == 2
    assert "bad.json" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("autocron: error: ")


def test_start_bad_options_exit_2(autocron) -> None:
    """A bad duration or log level is bad input."""
    assert autocron("start", "--duration", "soon").exit_code == 2
    assert autocron("start", "--log-level", "LOUD", "--duration", "0.1").exit_code == 2


def test_start_serves_metrics(autocron, monkeypatch) -> None:
    """--metrics-port hands the scheduler to serve_metrics and closes the server at the end."""
    dash = pytest.importorskip("autocron_dash")
    seen = {}

    class Server:
        def close(self) -> None:
            seen["closed"] = True

    def fake_serve(scheduler, port, host):
        seen.update(port=port, host=host, health=scheduler.health())
        return Server()

    monkeypatch.setattr(dash, "serve_metrics", fake_serve)
    assert autocron("start", "--metrics-port", "9999", "--duration", "0.2").exit_code == 0
    assert seen["port"] == 9999
    assert seen["host"] == "127.0.0.1"
    assert "loop_alive" in seen["health"]
    assert seen["closed"]


def test_start_real_metrics_endpoint(autocron, monkeypatch) -> None:
    """With the real autocron-dash, /healthz answers while start runs."""
    dash = pytest.importorskip("autocron_dash")
    real = dash.serve_metrics
    answers = []

    def serve_and_probe(scheduler, port, host):
        server = real(scheduler, 0, host)
        scheduler.start(blocking=False)
        with urllib.request.urlopen(f"http://{host}:{server.port}/healthz", timeout=5) as response:
            answers.append(json.loads(response.read()))
        return server

    monkeypatch.setattr(dash, "serve_metrics", serve_and_probe)
    assert autocron("start", "--metrics-port", "1", "--duration", "0.2").exit_code == 0
    assert answers and answers[0].get("loop_alive") is True


class _Tty:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_plain_table_without_terminal(capsys) -> None:
    """Off a terminal, tables are aligned plain text without escape codes."""
    output.table(["a", "bb"], [("x", None), ("long", 1.5)])
    assert capsys.readouterr().out.splitlines() == ["a     bb", "x     -", "long  1.5"]


def test_error_is_one_line(capsys) -> None:
    """An error message is cut to its first line."""
    output.error("first line\nsecond line")
    assert capsys.readouterr().err == "autocron: error: first line\n"


@pytest.mark.parametrize(("no_color", "coloured"), [("", True), ("1", False)])
def test_terminal_colour_honours_no_color(monkeypatch, no_color: str, coloured: bool) -> None:
    """On a terminal errors are red, unless NO_COLOR is set."""
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    monkeypatch.setenv("NO_COLOR", no_color)
    output.error("boom")
    assert ("\x1b[" in "".join(tty.parts)) is coloured


def test_terminal_table_uses_rich(monkeypatch) -> None:
    """On a terminal a table is drawn by rich, with colour only without NO_COLOR."""
    monkeypatch.setenv("NO_COLOR", "1")
    tty = _Tty()
    monkeypatch.setattr("sys.stdout", tty)
    output.table(["task", "status"], [("a", "failed")], status_column="status")
    text = "".join(tty.parts)
    assert "failed" in text
    assert "\x1b[31m" not in text
