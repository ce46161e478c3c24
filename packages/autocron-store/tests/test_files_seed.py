"""Task files written by the original AutoCron load with every field kept (issue 14).

The fixtures in ``fixtures/seed/`` follow the original's ``Task.to_dict`` and
``save_tasks`` exactly. Their scripts are relative, which the original read
from its working directory: each test works in a copy and runs from there.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron
from autocron_core.errors import ConfigError, TaskError
from autocron_core.task import Task, build_task
from autocron_core.timezones import resolve_timezone
from autocron_store import FileStore
from autocron_store._document import _SEED_KEYS, TaskFileWarning, read_document

SEED = Path(__file__).parent / "fixtures" / "seed"
H3_OPTIONS = ("safe_mode", "max_memory_mb", "max_cpu_percent", "clean_env", "max_output_bytes")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the fixtures, made the working directory (where the original ran scripts from)."""
    shutil.copytree(SEED, tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")
    return tmp_path / "project"


def load(path: Path) -> tuple[dict[str, Task], list[str]]:
    """The file's tasks by name, and the messages of the TaskFileWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tasks = {task.name: task for task in FileStore(path).load_tasks()}
    return tasks, [str(w.message) for w in caught if issubclass(w.category, TaskFileWarning)]


@pytest.mark.parametrize("name", ["tasks.yaml", "tasks.json"])
def test_seed_task_file_keeps_every_field(project: Path, name: str) -> None:
    """Each field the original saved comes back: id, script, schedule, policies, zone, channels, state."""
    tasks, _ = load(project / name)
    assert sorted(tasks) == ["data_sync", "nightly_backup", "weekly_report"]

    sync = tasks["data_sync"]
    assert sync.task_id == "5d0c4a8e-3b7f-4c2a-9e61-2f8d0b7a1c43"
    assert sync.target == str(project / "scripts" / "sync_data.py")
    assert sync.to_dict()["every"] == "30m"
    policy = sync.policy
    assert (policy.retries, policy.retry_delay, policy.timeout) == (3, 120.0, 600.0)
    assert (policy.overlap_policy, policy.max_instances) == ("queue", 2)
    assert (policy.misfire_grace_time, policy.coalesce) == (300.0, False)
    assert sync.timezone == resolve_timezone("Europe/Berlin")
    assert sync.notify == ("desktop",)
    assert sync.last_run == dt.datetime.fromisoformat("2025-11-03T09:30:00.123456+01:00")
    assert sync.next_run == dt.datetime.fromisoformat("2025-11-03T10:00:00+01:00")
    assert (sync.run_count, sync.fail_count, sync.paused) == (42, 3, False)

    backup = tasks["nightly_backup"]
    assert backup.task_id == "9a41e7d2-6f0b-4d85-b3c9-71e2a05f8d16"
    assert backup.to_dict()["cron"] == "0 2 * * *"
    assert backup.paused
    assert backup.notify == ("desktop", "email")
    assert backup.email_config == {
        "smtp_server": "smtp.gmail.com",
        "smtp_port": 587,
        "from_email": "backup@example.com",
        "to_email": "admin@example.com",
        "use_tls": True,
    }
    assert backup.policy.retries == 5 and backup.policy.misfire_grace_time is None
    assert backup.timezone == resolve_timezone("local")
    assert backup.last_run is None
    assert backup.next_run == dt.datetime(2025, 11, 4, 2, tzinfo=dt.timezone.utc)
    assert (backup.run_count, backup.fail_count) == (7, 0)

    report = tasks["weekly_report"]
    assert report.to_dict()["cron"] == "0 9 * * 1" and report.timezone == resolve_timezone("UTC")
    assert report.policy == build_task("x", command="true", every="1h", timeout=1800).policy
    assert (report.run_count, report.last_run) == (
        1,
        dt.datetime(2025, 11, 3, 9, 0, 0, 4211, dt.timezone.utc),
    )


@pytest.mark.parametrize("name", ["tasks.yaml", "tasks.json"])
def test_seed_resource_options_are_kept(project: Path, name: str) -> None:
    """safe_mode, max_memory_mb, max_cpu_percent, clean_env and max_output_bytes come back as set."""
    tasks, messages = load(project / name)
    expected = {
        "data_sync": {"safe_mode": True, "max_memory_mb": 256, "clean_env": True, "max_output_bytes": 65536},
        # The original's default output cap (1 MB) is kept as written: it is a cap here too.
        "weekly_report": {
            "safe_mode": True,
            "max_cpu_percent": 50,
            "timeout": 1800,
            "max_output_bytes": 1000000,
        },
    }
    for task_name, options in expected.items():
        task = tasks[task_name]
        built = build_task(task_name, script=task.target, every="1h", **options).to_dict()
        saved = task.to_dict()
        assert {k: saved.get(k) for k in H3_OPTIONS} == {k: built.get(k) for k in H3_OPTIONS}
    assert not [m for m in messages if "cannot be kept" in m]


def test_seed_limit_refused_here_is_named_and_the_task_loads(tmp_path: Path) -> None:
    """max_cpu_percent without a timeout (the original ignored it) is left out with a warning naming it."""
    script = tmp_path / "job.py"
    script.write_text("pass\n")
    entry = {"name": "job", "script": str(script), "schedule_type": "interval", "schedule_value": "5m"}
    path = tmp_path / "tasks.json"
    path.write_text(
        json.dumps({"version": "1.0", "tasks": [{**entry, "max_cpu_percent": 50, "timeout": None}]})
    )
    tasks, messages = load(path)
    assert list(tasks) == ["job"]
    assert tasks["job"].to_dict().get("max_cpu_percent") is None
    assert any("'job'" in m and "max_cpu_percent=50 cannot be kept here" in m for m in messages)


@pytest.mark.parametrize("name", ["tasks.yaml", "tasks.json"])
def test_seed_counters_without_counterpart_are_named(project: Path, name: str) -> None:
    """Non-zero skipped_count and misfire_count are not dropped silently: a warning names each."""
    _, messages = load(project / name)
    named = [m for m in messages if "'nightly_backup'" in m]
    assert any("skipped_count=4" in m for m in named)
    assert any("misfire_count=2" in m for m in named)
    zero = [m for m in messages if "'data_sync'" in m and ("skipped_count" in m or "misfire_count" in m)]
    assert not zero  # a zero counter loses nothing


def test_seed_v12_file_from_its_default_place_loads(project: Path, tmp_path: Path) -> None:
    """A 1.2 file kept in ~/.autocron loads: naive local times, scripts from the working directory."""
    home = tmp_path / "home" / ".autocron"
    home.mkdir(parents=True)
    saved = home / "tasks.json"
    shutil.move(project / "tasks-v1.2.json", saved)
    scheduler = AutoCron(timezone="UTC")
    if importlib.util.find_spec("autocron_notify") is None:  # autocron-store's tests alone
        # The task notifies by email: without the channel it is refused, saying what to install.
        with pytest.raises(TaskError, match="pip install autocron-notify"):
            scheduler.load_tasks(saved)
        return
    assert scheduler.load_tasks(saved) == 1
    task = scheduler.get_task(name="nightly_backup")
    assert task is not None and task.target == str(project / "scripts" / "backup.py")
    assert task.last_run == dt.datetime(2025, 10, 27, 2, 0, 0, 512093).astimezone()
    assert (task.run_count, task.fail_count, task.policy.timeout) == (12, 1, 3600.0)
    assert task.email_config is not None and task.email_config["password"] == "app-password-from-v1.2"
    assert "password" not in task.to_dict()["email_config"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"enabled": "no"}, "enabled"),
        ({"run_count": -1}, "run_count"),
        ({"fail_count": "many"}, "fail_count"),
        ({"last_run": "yesterday"}, "last_run"),
        ({"schedule_type": "weekly", "every": None, "cron": None}, "schedule_type"),
    ],
)
def test_bad_seed_values_name_the_field(tmp_path: Path, changes: dict[str, Any], field: str) -> None:
    """A malformed value in an original task file is a ConfigError naming the task, field and value."""
    script = tmp_path / "job.py"
    script.write_text("pass\n")
    entry = {"name": "t", "script": str(script), "schedule_type": "interval", "schedule_value": "5m"}
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"version": "1.0", "tasks": [{**entry, **changes}]}))
    with pytest.raises(ConfigError) as info:
        read_document(str(path))
    assert info.value.field == field
    assert "task 't'" in str(info.value) and repr(next(iter(changes.values()))) in str(info.value)


def test_seed_schedule_copies_are_read_when_schedule_type_is_missing(tmp_path: Path) -> None:
    """An entry with only the later every:/cron: copies gets that schedule, as the original read it."""
    script = tmp_path / "job.py"
    script.write_text("pass\n")
    path = tmp_path / "tasks.yaml"
    entries = [
        {"name": "a", "script": str(script), "every": "10m"},
        {"name": "b", "script": str(script), "cron": "15 3 * * *"},
    ]
    path.write_text(yaml.safe_dump({"version": "1.0", "tasks": entries}))
    _, tasks = read_document(str(path))
    assert [t.to_dict().get("every") or t.to_dict().get("cron") for t in tasks] == ["10m", "15 3 * * *"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20).filter(
        lambda k: k not in _SEED_KEYS
    ),
    value=_JSON,
    suffix=st.sampled_from([".yaml", ".json"]),
)
def test_unknown_seed_field_is_named_never_an_error(key: str, value: Any, suffix: str) -> None:
    """Any extra field in an original task file gives a warning naming it; the task still loads."""
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "job.py")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write("pass\n")
        entry = {
            "name": "job",
            "script": script,
            "schedule_type": "interval",
            "schedule_value": "5m",
            key: value,
        }
        document = {"version": "1.0", "tasks": [entry]}
        path = os.path.join(folder, "tasks" + suffix)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document) if suffix == ".json" else yaml.safe_dump(document))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, tasks = read_document(path)
    assert [t.name for t in tasks] == ["job"]
    messages = [str(w.message) for w in caught if issubclass(w.category, TaskFileWarning)]
    assert any(f"unknown field {key!r}" in m and "'job'" in m for m in messages)
