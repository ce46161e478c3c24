"""``autocron import`` with the original AutoCron's artefacts, into real SQLite databases."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner, Result

from autocron_cli.main import cli


def _seed_fixtures() -> ModuleType:
    # One builder of the original's schema for every package's tests: autocron-store's.
    path = Path(__file__).parents[2] / "autocron-store" / "tests" / "seed_fixtures.py"
    spec = importlib.util.spec_from_file_location("seed_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


seed = _seed_fixtures()


def autocron(*args: str) -> Result:
    """Run ``autocron ARGS`` with stdout and stderr apart."""
    return CliRunner().invoke(cli, list(args), prog_name="autocron", terminal_width=200)


@pytest.fixture
def script(tmp_path: Path) -> str:
    """The script the original's task runs."""
    path = tmp_path / "backup.py"
    path.write_text("print('ok')\n")
    return str(path)


EXECUTIONS = [
    {"task_name": "backup", "timestamp": "2099-01-01T09:10:02+00:00", "success": True, "duration": 2.0},
    {
        "task_name": "backup",
        "timestamp": "2099-01-01T09:15:02+00:00",
        "success": False,
        "duration": 1.0,
        "error": "exit code 3",
    },
]


def _seed_db(path: Path, script: str) -> Path:
    return seed.make_seed_db(path, [seed.seed_payload("backup", script)], EXECUTIONS)


@pytest.fixture
def elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """HOME and XDG_STATE_HOME in the test's folder, where the original would look."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    return home


def test_import_database_prints_counts_and_fills_the_store(tmp_path: Path, script: str) -> None:
    """Importing the original's database reports the counts; its tasks and runs are then listed."""
    source = _seed_db(tmp_path / "seed.db", script)
    target = str(tmp_path / "new.db")
    result = autocron("--store", target, "import", str(source))
    assert result.exit_code == 0, result.stderr
    assert "1 task imported, 0 skipped; 2 runs imported" in result.stdout
    (task,) = json.loads(autocron("--store", target, "list", "--json").stdout)
    assert task["name"] == "backup"
    runs = json.loads(autocron("--store", target, "history", "--json").stdout)
    assert [r["status"] for r in runs] == ["failed", "succeeded"]
    assert task["status"] == "failed"  # the last imported run's, not "never run"
    assert runs[0]["error"] == "exit code 3"


def test_import_twice_with_json_adds_nothing(tmp_path: Path, script: str) -> None:
    """--json reports counts; a second import skips the task and finds the runs already there."""
    source = str(_seed_db(tmp_path / "seed.db", script))
    target = str(tmp_path / "new.db")
    first = json.loads(autocron("--store", target, "import", source, "--json").stdout)
    assert first["sources"][0]["tasks_imported"] == ["backup"]
    result = autocron("--store", target, "import", source, "--json")
    assert result.exit_code == 0, result.stderr
    (again,) = json.loads(result.stdout)["sources"]
    assert again["tasks_imported"] == []
    assert again["tasks_skipped"][0]["task"] == "backup"
    assert (again["runs_imported"], again["runs_present"]) == (0, 2)


def test_replace_overwrites_a_task_of_the_same_name(tmp_path: Path, script: str) -> None:
    """--replace saves the original's task over one of the same name."""
    source = str(_seed_db(tmp_path / "seed.db", script))
    target = str(tmp_path / "new.db")
    autocron("--store", target, "schedule", script, "--name", "backup", "--every", "1h")
    result = autocron("--store", target, "import", source, "--replace", "--json")
    assert json.loads(result.stdout)["sources"][0]["tasks_replaced"] == ["backup"]
    (task,) = json.loads(autocron("--store", target, "list", "--json").stdout)
    assert task["every"] == "5m"


def test_dry_run_changes_nothing(tmp_path: Path, script: str) -> None:
    """--dry-run shows what would be imported and writes no task or run."""
    source = str(_seed_db(tmp_path / "seed.db", script))
    target = str(tmp_path / "new.db")
    result = autocron("--store", target, "import", source, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "1 task to import" in result.stdout
    assert "nothing was changed" in result.stderr
    assert json.loads(autocron("--store", target, "list", "--json").stdout) == []


def test_a_file_in_no_known_format_exits_2(tmp_path: Path) -> None:
    """A file that is none of the three formats is one error line and exit code 2."""
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    result = autocron("--store", str(tmp_path / "new.db"), "import", str(path))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert str(path) in line
    assert "analytics.json" in line


def test_seed_database_at_the_default_path_gives_the_import_command(autocron_home: Path, script: str) -> None:
    """Any command on the original's database at the default path says what it is and what to run."""
    _seed_db(autocron_home / "autocron.db", script)
    result = autocron("list")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert str(autocron_home / "autocron.db") in line
    assert "database of the original AutoCron" in line
    assert "run 'autocron import'" in line


def test_import_without_path_moves_the_default_seed_database_aside(
    autocron_home: Path, script: str, elsewhere: Path
) -> None:
    """'autocron import' keeps the original's file as a backup and imports it into a new default database."""
    default = autocron_home / "autocron.db"
    _seed_db(default, script)
    result = autocron("import")
    assert result.exit_code == 0, result.stderr
    (backup,) = autocron_home.glob("autocron.db.seed-backup-*")
    assert str(backup) in result.stdout
    # The backup is still the original's database, whole.
    assert sqlite3.connect(backup).execute("SELECT COUNT(*) FROM executions").fetchone()[0] == 2
    (task,) = json.loads(autocron("list", "--json").stdout)
    assert task["name"] == "backup"
    assert len(json.loads(autocron("history", "--json").stdout)) == 2


def test_import_without_path_finds_the_originals_files(
    autocron_home: Path, elsewhere: Path, script: str
) -> None:
    """Without PATH the original's database in its state folder and its analytics.json are imported."""
    state = elsewhere / ".local" / "state" / "autocron"
    state.mkdir(parents=True)
    _seed_db(state / "autocron.db", script)
    seed.make_analytics(
        autocron_home / "analytics.json",
        {"legacy": [{"timestamp": "2099-01-02T10:00:00", "success": True, "duration": 1.0}]},
    )
    result = autocron("import", "--json")
    assert result.exit_code == 0, result.stderr
    kinds = {item["kind"]: item for item in json.loads(result.stdout)["sources"]}
    assert kinds["database"]["runs_imported"] == 2
    assert kinds["analytics"]["runs_imported"] == 1


def test_import_without_path_and_nothing_found_exits_2(elsewhere: Path) -> None:
    """With no PATH and nothing of the original's to find, the error lists where it looked."""
    result = autocron("import")
    assert result.exit_code == 2
    assert "give the PATH" in result.stderr
    assert "analytics.json" in result.stderr


def test_dry_run_in_place_counts_what_the_new_database_would_prune(autocron_home: Path, script: str) -> None:
    """A dry run on the default seed database reports the same counts as the import that follows."""
    old = {"task_name": "backup", "timestamp": "2001-01-01T00:00:00+00:00", "success": True, "duration": 1.0}
    seed.make_seed_db(
        autocron_home / "autocron.db", [seed.seed_payload("backup", script)], [*EXECUTIONS, old]
    )
    dry = json.loads(autocron("import", "--dry-run", "--json").stdout)
    assert dry["moved"]["to"].startswith(str(autocron_home / "autocron.db.seed-backup-"))
    assert (autocron_home / "autocron.db").exists()
    real = json.loads(autocron("import", "--json").stdout)
    counts = [{k: item["sources"][0][k] for k in ("runs_imported", "runs_expired")} for item in (dry, real)]
    assert counts[0] == counts[1] == {"runs_imported": 2, "runs_expired": 1}


def test_a_task_that_ran_without_history_is_not_listed_as_never_run(tmp_path: Path, script: str) -> None:
    """A task the original ran (run_count, last_run) but kept no executions of lists as unknown."""
    source = seed.make_seed_db(tmp_path / "seed.db", [seed.seed_payload("backup", script)], [])
    target = str(tmp_path / "new.db")
    assert autocron("--store", target, "import", str(source)).exit_code == 0
    (task,) = json.loads(autocron("--store", target, "list", "--json").stdout)
    assert task["runs"] > 0
    assert task["status"] == "unknown"
