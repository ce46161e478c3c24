"""The original AutoCron's CLI habits work here: its flags, aliases and output shapes.

The original (published as autocron-scheduler) had ``schedule`` flags for its
policies and isolation, ``logs NAME``, ``list --enabled``, ``stats --export``,
``--json`` on ``run`` and ``stop``, and ``--database PATH`` before or after a
command. Each test names the habit it keeps.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core._limits import MAX_MEMORY_MB, MAX_OUTPUT_BYTES


def test_schedule_policy_flags_of_the_original(autocron, store, script: Path) -> None:
    """--overlap-policy, --max-instances, --misfire-grace-time and --no-coalesce set the task's policy."""
    result = autocron(
        "schedule",
        str(script),
        "--every",
        "5m",
        "--overlap-policy",
        "queue",
        "--max-instances",
        "3",
        "--misfire-grace-time",
        "30",
        "--no-coalesce",
    )
    assert result.exit_code == 0, result.stderr
    assert "queue, up to 3 at once, late start up to 30s, every missed run" in result.stdout
    (task,) = store.load_tasks()
    assert task.policy.overlap_policy == "queue"
    assert task.policy.max_instances == 3
    assert task.policy.misfire_grace_time == 30
    assert task.policy.coalesce is False


def test_misfire_grace_time_zero_means_no_grace(autocron, store, script: Path) -> None:
    """--misfire-grace-time 0 is accepted, as the original documented ("use 0 for no grace")."""
    assert autocron("schedule", str(script), "--every", "5m", "--misfire-grace-time", "0").exit_code == 0
    (task,) = store.load_tasks()
    assert task.policy.misfire_grace_time == 0


def test_schedule_isolation_flags_of_the_original(autocron, store, script: Path) -> None:
    """--isolated, --clean-env, --max-memory-mb, --max-output-bytes and --max-cpu-percent reach the task."""
    result = autocron(
        "schedule",
        str(script),
        "--every",
        "5m",
        "--isolated",
        "--clean-env",
        "--max-memory-mb",
        "256",
        "--max-output-bytes",
        "4096",
        "--max-cpu-percent",
        "50",
        "--timeout",
        "10m",
    )
    assert result.exit_code == 0, result.stderr
    assert "safe mode, clean environment, memory 256 MiB, CPU 50%, output 4096 bytes" in result.stdout
    (task,) = store.load_tasks()
    saved = task.to_dict()
    assert saved["safe_mode"] is True
    assert saved["clean_env"] is True
    assert saved["max_memory_mb"] == 256
    assert saved["max_output_bytes"] == 4096
    assert saved["max_cpu_percent"] == 50


def test_disabled_adds_the_task_paused(autocron, store, script: Path) -> None:
    """--disabled saves the task paused: it does not fire until `autocron resume`."""
    result = autocron("schedule", str(script), "--every", "5m", "--disabled", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "paused"
    (task,) = store.load_tasks()
    assert task.paused


def test_disabled_with_os_is_refused(autocron, store, script: Path) -> None:
    """--disabled --os is refused: the OS scheduler would run the task anyway."""
    result = autocron("schedule", str(script), "--every", "5m", "--disabled", "--os")
    assert result.exit_code == 2
    assert "--disabled and --os do not go together" in result.stderr
    assert store.load_tasks() == []


BAD_VALUES = [
    ("--max-instances", "0"),
    ("--max-instances", "-1"),
    ("--max-instances", "inf"),
    ("--max-instances", "two"),
    ("--misfire-grace-time", "-1"),
    ("--misfire-grace-time", "inf"),
    ("--misfire-grace-time", "nan"),
    ("--misfire-grace-time", "later"),
    ("--max-memory-mb", "0"),
    ("--max-memory-mb", "-256"),
    ("--max-memory-mb", "nan"),
    ("--max-memory-mb", "lots"),
    ("--max-output-bytes", "0"),
    ("--max-output-bytes", "-1"),
    ("--max-output-bytes", "1e308"),
    ("--max-output-bytes", "inf"),
    ("--max-cpu-percent", "0"),
    ("--max-cpu-percent", "-5"),
    ("--max-cpu-percent", "101"),
    ("--max-cpu-percent", "nan"),
    ("--max-cpu-percent", "inf"),
    ("--max-cpu-percent", "half"),
    ("--max-cpu-percent", "0.5"),
    ("--max-memory-mb", str(10**12)),
    ("--max-output-bytes", str(10**12)),
    ("--overlap-policy", "sometimes"),
]


@pytest.mark.parametrize(("flag", "value"), BAD_VALUES, ids=[f"{f}={v}" for f, v in BAD_VALUES])
def test_bad_values_of_the_new_flags_exit_2(autocron, store, script: Path, flag: str, value: str) -> None:
    """A bad value for any of the original's flags is one error line naming the flag; nothing is saved."""
    result = autocron("schedule", str(script), "--every", "5m", flag, value)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert flag in line
    assert value in line
    assert "Traceback" not in result.stderr
    assert store.load_tasks() == []


#: Each numeric flag: how Python reads its text (as click does) and the values accepted.
NUMERIC_FLAGS = {
    "--max-instances": (int, lambda n: n >= 1),
    "--max-memory-mb": (int, lambda n: 1 <= n <= MAX_MEMORY_MB),
    "--max-output-bytes": (int, lambda n: 1 <= n <= MAX_OUTPUT_BYTES),
    "--max-cpu-percent": (float, lambda x: math.isfinite(x) and 1 <= x <= 100),
}
NUMBER_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e308", "-0", "0", "0.0", "1e-320", "+1", " 5 ", "1_0"]),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.integers(min_value=1, max_value=120).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def _accepted(flag: str, value: str) -> bool:
    read, valid = NUMERIC_FLAGS[flag]
    try:
        number = read(value)
    except ValueError:
        return False
    return bool(valid(number))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(sorted(NUMERIC_FLAGS)), value=NUMBER_TEXT)
def test_any_text_for_a_numeric_flag_is_saved_valid_or_refused_cleanly(
    autocron, store, script: Path, flag: str, value: str
) -> None:
    """A numeric flag's value is saved exactly when it is a number in range; else one error line."""
    result = autocron("schedule", str(script), "--every", "5m", "--timeout", "1h", flag, value)
    if _accepted(flag, value):
        assert result.exit_code == 0, result.stderr
        (task,) = store.load_tasks()
        key = flag[2:].replace("-", "_")
        saved = getattr(task.policy, key) if key == "max_instances" else getattr(task, key)
        assert saved == NUMERIC_FLAGS[flag][0](value)
        store.delete_task(task.name)
    else:
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.strip().splitlines()
        assert flag in line
        assert store.load_tasks() == []


def test_max_cpu_percent_needs_a_timeout(autocron, store, script: Path) -> None:
    """--max-cpu-percent without --timeout is refused, saying that --timeout is needed."""
    result = autocron("schedule", str(script), "--every", "5m", "--max-cpu-percent", "50")
    assert result.exit_code == 2
    assert "--max-cpu-percent 50 needs --timeout" in result.stderr
    assert store.load_tasks() == []


def test_list_enabled_hides_paused_tasks(autocron, script: Path) -> None:
    """list --enabled lists only the tasks that are not paused."""
    autocron("schedule", str(script), "--every", "5m", "--name", "active")
    autocron("schedule", str(script), "--every", "5m", "--name", "off", "--disabled")
    shown = [task["name"] for task in json.loads(autocron("list", "--enabled", "--json").stdout)]
    assert shown == ["active"]
    every = json.loads(autocron("list", "--json").stdout)
    assert {task["name"]: task["enabled"] for task in every} == {"active": True, "off": False}
    table = autocron("list", "--enabled").stdout
    assert "active" in table
    assert "off" not in table


def test_logs_name_and_lines(autocron, script: Path, failing_script: Path) -> None:
    """`logs NAME` shows only that task's lines and `--lines N` the last N of them."""
    autocron("schedule", str(script), "--every", "1h")
    autocron("schedule", str(failing_script), "--every", "1h", "--retries", "1", "--retry-delay", "0")
    autocron("run", "-q", "hello")
    autocron("run", "-q", "broken")
    only = autocron("logs", "broken")
    assert only.exit_code == 0, only.stderr
    assert "'broken'" in only.stdout
    assert "'hello'" not in only.stdout
    assert len(only.stdout.splitlines()) >= 2
    last = autocron("logs", "broken", "--lines", "1")
    assert last.stdout.splitlines() == only.stdout.splitlines()[-1:]
    clash = autocron("logs", "broken", "--task", "hello")
    assert clash.exit_code == 2


def test_run_json(autocron, script: Path, failing_script: Path) -> None:
    """run --json prints the original's success/task/task_id keys with the run's outcome; exit codes stay."""
    autocron("schedule", str(script), "--every", "1h")
    autocron("schedule", str(failing_script), "--every", "1h")
    ok = autocron("run", "hello", "--json")
    assert ok.exit_code == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["success"] is True
    assert data["task"] == "hello"
    assert data["task_id"]
    assert data["status"] == "succeeded"
    assert "hello from the script" in data["output"]
    bad = autocron("run", "broken", "--json")
    assert bad.exit_code == 1
    failed = json.loads(bad.stdout)
    assert failed["success"] is False
    assert failed["status"] == "failed"


def test_run_and_stop_take_a_task_id(autocron, store, script: Path) -> None:
    """run and stop accept the task's id as well as its name, as the original did."""
    task_id = json.loads(autocron("schedule", str(script), "--every", "1h", "--json").stdout)["task_id"]
    assert json.loads(autocron("run", task_id, "--json").stdout)["task"] == "hello"
    assert autocron("stop", task_id).exit_code == 0
    assert store.load_tasks() == []


@pytest.mark.parametrize("command", ["stop", "remove"])
def test_stop_json(autocron, store, script: Path, command: str) -> None:
    """stop --json prints {"removed": true, "task": NAME}; an unknown name prints false and exits 2."""
    autocron("schedule", str(script), "--every", "1h")
    result = autocron(command, "hello", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"removed": True, "task": "hello"}
    assert store.load_tasks() == []
    again = autocron(command, "hello", "--json")
    assert again.exit_code == 2
    assert json.loads(again.stdout) == {"removed": False, "task": "hello"}


def test_stats_export_json(autocron, script: Path, tmp_path: Path) -> None:
    """stats --export PATH writes the statistics as JSON (the original's format), creating folders."""
    autocron("schedule", str(script), "--every", "1h")
    autocron("run", "-q", "hello")
    target = tmp_path / "reports" / "stats.json"
    result = autocron("stats", "--export", str(target))
    assert result.exit_code == 0, result.stderr
    assert f"Stats exported to {target}" in result.stdout
    (row,) = json.loads(target.read_text(encoding="utf-8"))
    assert row["task"] == "hello"
    assert row["succeeded"] == 1
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind


def test_stats_export_csv_for_one_task(autocron, script: Path, failing_script: Path, tmp_path: Path) -> None:
    """stats NAME --export FILE.csv writes that task's row as CSV."""
    autocron("schedule", str(script), "--every", "1h")
    autocron("schedule", str(failing_script), "--every", "1h")
    autocron("run", "-q", "hello")
    autocron("run", "-q", "broken")
    target = tmp_path / "broken.csv"
    assert autocron("stats", "broken", "--export", str(target)).exit_code == 0
    with target.open(encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["task"] == "broken"
    assert row["failed"] == "1"


def test_global_database_is_an_alias_of_store(autocron, tmp_path: Path, script: Path) -> None:
    """`autocron --database PATH` uses that SQLite file, as `--store PATH` does."""
    database = tmp_path / "tasks.db"
    assert autocron("--database", str(database), "schedule", str(script), "--every", "1h").exit_code == 0
    assert database.exists()
    listed = json.loads(autocron("--store", str(database), "list", "--json").stdout)
    assert [task["name"] for task in listed] == ["hello"]


def test_database_after_the_command(autocron, tmp_path: Path, script: Path) -> None:
    """`autocron list --database PATH` works too: the original accepted it after the command."""
    database = tmp_path / "tasks.db"
    assert autocron("schedule", str(script), "--every", "1h", "--database", str(database)).exit_code == 0
    listed = json.loads(autocron("list", "--json", "--database", str(database)).stdout)
    assert [task["name"] for task in listed] == ["hello"]
    assert json.loads(autocron("list", "--json").stdout) == []  # the test's default store is untouched


def test_bare_autocron_shows_the_help(autocron) -> None:
    """`autocron` with no command prints the help and exits 0, as the original did."""
    result = autocron()
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Usage: autocron [OPTIONS] COMMAND [ARGS]...")
    assert "schedule" in result.stdout
    assert result.stderr == ""
