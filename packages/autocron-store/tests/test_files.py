"""FileStore specifics: formats, legacy documents, atomic writes, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from autocron_core import AutoCron
from autocron_core.errors import ConfigError, StoreError, TaskError
from autocron_core.task import build_task
from autocron_store import FileStore

from .conftest import read_only, run_unprivileged


@pytest.fixture
def script(tmp_path: Path) -> str:
    """A harmless script file."""
    path = tmp_path / "job.py"
    path.write_text("print('hi')\n", encoding="utf-8")
    return str(path)


def module_level_job() -> None:
    """An importable function target."""


def test_document_shape_and_mode(tmp_path: Path, script: str) -> None:
    """The document has version 2, saved_at and tasks, and the file is 0600."""
    path = tmp_path / "tasks.json"
    FileStore(path).write_tasks([build_task("a", script=script, every="5m")])
    data = json.loads(path.read_text())
    assert data["version"] == 2 and data["saved_at"] and data["tasks"][0]["name"] == "a"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_write_tasks_lists_every_unimportable_function_and_writes_nothing(
    tmp_path: Path, script: str
) -> None:
    """Function tasks that cannot be imported by name are all listed; the old file stays."""
    path = tmp_path / "tasks.yaml"
    store = FileStore(path)
    store.write_tasks([build_task("keep", script=script, every="5m")])
    before = path.read_bytes()
    tasks = [
        build_task("one", func=lambda: None, every="1m"),
        build_task("two", func=lambda: None, every="1m"),
        build_task("fine", func=module_level_job, every="1m"),
    ]
    with pytest.raises(TaskError) as info:
        store.write_tasks(tasks)
    assert "one" in str(info.value) and "two" in str(info.value) and "fine" not in str(info.value)
    assert path.read_bytes() == before


def test_function_tasks_round_trip_by_reference(tmp_path: Path) -> None:
    """An importable function task is written as module:qualname and loads back."""
    path = tmp_path / "tasks.yaml"
    FileStore(path).write_tasks([build_task("f", func=module_level_job, every="1m")])
    (task,) = FileStore(path).load_tasks()
    assert task.target is module_level_job


def test_autocron_save_and_load_tasks_round_trip(tmp_path: Path, script: str) -> None:
    """AutoCron.save_tasks then load_tasks gives the same tasks with their counters."""
    first = AutoCron(timezone="UTC")
    first.add_task("a", script=script, every="5m", retries=2)
    first.add_task("b", command="echo hi", cron="0 2 * * *")
    first.get_task(name="a").run_count = 5  # type: ignore[union-attr]
    assert first.save_tasks(tmp_path / "t.yaml") == str(tmp_path / "t.yaml")  # the path, as the original
    second = AutoCron(timezone="UTC")
    assert second.load_tasks(tmp_path / "t.yaml") == 2
    loaded = second.get_task(name="a")
    assert loaded is not None and loaded.run_count == 5 and loaded.policy.retries == 2


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_reads_legacy_version_1_documents(tmp_path: Path, script: str, suffix: str) -> None:
    """Documents of the older single-package AutoCron ("1.0") load with their state."""
    document = {
        "version": "1.0",
        "saved_at": "2025-10-27T12:00:00",
        "tasks": [
            {
                "task_id": "old-1",
                "name": "old",
                "script": script,
                "schedule_type": "interval",
                "schedule_value": "5m",
                "retries": 2,
                "retry_delay": 60,
                "timeout": None,
                "notify": None,
                "email_config": None,
                "enabled": True,
                "last_run": "2025-10-27T11:00:00",
                "next_run": "2025-10-27T11:05:00",
                "run_count": 10,
                "fail_count": 2,
            },
            {
                "task_id": "old-2",
                "name": "nightly",
                "script": script,
                "schedule_type": "cron",
                "schedule_value": "0 2 * * *",
                "retries": 0,
                "enabled": False,
                "run_count": 0,
            },
        ],
    }
    path = tmp_path / f"old{suffix}"
    path.write_text(json.dumps(document) if suffix == ".json" else yaml.safe_dump(document))
    tasks = {t.name: t for t in FileStore(path).load_tasks()}
    old = tasks["old"]
    assert old.task_id == "old-1" and old.policy.retries == 2 and old.to_dict()["every"] == "5m"
    assert (old.run_count, old.fail_count) == (10, 2)
    assert old.last_run is not None and old.next_run is not None
    assert tasks["nightly"].to_dict()["cron"] == "0 2 * * *" and tasks["nightly"].paused


@pytest.mark.parametrize(
    ("suffix", "text", "line"),
    [
        (".yaml", 'version: 2\ntasks:\n  - name: a\n    every: "5m\n', 4),
        (".json", '{\n "version": 2,\n "tasks": [\n  {"name": "a",\n', 5),
        (".yaml", "version: 2\ntasks:\n  - name: [unclosed\n", 4),
    ],
)
def test_corrupt_or_truncated_file_names_path_and_line(
    tmp_path: Path, script: str, suffix: str, text: str, line: int
) -> None:
    """A corrupt or truncated file gives ConfigError with path and line, and is never overwritten."""
    path = tmp_path / f"tasks{suffix}"
    path.write_text(text)
    store = FileStore(path)
    with pytest.raises(ConfigError) as info:
        store.load_tasks()
    assert info.value.path == str(path) and info.value.line is not None
    assert abs(info.value.line - line) <= 1
    with pytest.raises(ConfigError):
        store.save_task(build_task("b", script=script, every="1m"))
    assert path.read_text() == text


def test_newer_document_version_is_refused(tmp_path: Path) -> None:
    """A document from a newer AutoCron gives ConfigError saying so."""
    path = tmp_path / "tasks.yaml"
    path.write_text("version: 9\ntasks: []\n")
    with pytest.raises(ConfigError, match="newer"):
        FileStore(path).load_tasks()


def test_invalid_task_entry_names_field_and_line(tmp_path: Path) -> None:
    """A task entry with a bad value names the task, field and line."""
    path = tmp_path / "tasks.yaml"
    path.write_text("version: 2\ntasks:\n  - name: a\n    command: echo\n    every: 5m\n    retries: many\n")
    with pytest.raises(ConfigError) as info:
        FileStore(path).load_tasks()
    assert info.value.field == "retries" and info.value.line == 6


def test_literal_password_is_read_but_never_written_back(tmp_path: Path) -> None:
    """A hand-written literal password loads (with a warning) and disappears on the next write."""
    path = tmp_path / "tasks.yaml"
    path.write_text(
        "version: 2\ntasks:\n  - name: a\n    command: echo\n    every: 5m\n"
        "    email_config: {to: x@example.com, password: hunter2}\n"
    )
    store = FileStore(path)
    (task,) = store.load_tasks()
    store.save_state(task)
    assert "hunter2" not in path.read_text()


def test_missing_folder_gives_store_error(tmp_path: Path, script: str) -> None:
    """Writing into a folder that does not exist raises StoreError naming the file."""
    target = tmp_path / "missing" / "tasks.yaml"
    with pytest.raises(StoreError, match=r"tasks\.yaml"):
        FileStore(target).write_tasks([build_task("a", script=script, every="5m")])


def _read_only_save(folder: Path) -> list[str]:
    """Save tasks, make the folder read-only, save again; report the error and whether the file is intact."""
    script = folder / "job.py"
    script.write_text("print('hi')\n", encoding="utf-8")
    path = folder / "tasks.yaml"
    store = FileStore(path)
    store.write_tasks([build_task("a", script=str(script), every="5m")])
    before = path.read_bytes()
    try:
        if not read_only(folder):
            return ["UNENFORCED"]
        try:
            store.save_task(build_task("b", script=str(script), every="5m"))
            lines = ["SAVED"]
        except StoreError as exc:
            lines = [f"ERROR {exc}"]
    finally:
        folder.chmod(0o700)
    lines.append(f"KEPT {path.read_bytes() == before}")
    lines.append(f"LEFTOVERS {sorted(p.name for p in folder.iterdir() if p.name.endswith('.tmp'))}")
    return lines


def test_read_only_folder_gives_store_error_and_keeps_the_file(open_folder: Path, tmp_path: Path) -> None:
    """In a read-only folder a save fails with StoreError naming the file, and the old file is intact."""
    lines = run_unprivileged(_read_only_save, open_folder, tmp_path)
    assert lines[0].startswith("ERROR") and "tasks.yaml" in lines[0], lines
    assert lines[1:] == ["KEPT True", "LEFTOVERS []"]


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    """A task file must be .yaml, .yml or .json."""
    with pytest.raises(ConfigError, match=r"\.yaml"):
        FileStore(tmp_path / "tasks.txt")


_WRITER = textwrap.dedent("""
    import sys
    from autocron_core.task import build_task
    from autocron_store import FileStore

    path, script = sys.argv[1], sys.argv[2]
    store = FileStore(path)
    round = 0
    while True:
        round += 1
        tasks = [build_task(f"task-{round}-{i}", script=script, every="5m", tags=["x" * 200])
                 for i in range(400)]
        store.write_tasks(tasks)
        print(round, flush=True)
""")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_sigkill_during_save_leaves_a_whole_file(tmp_path: Path, script: str, suffix: str) -> None:
    """Killing a process in the middle of saving leaves the old or the new document, never a broken one."""
    path = tmp_path / f"tasks{suffix}"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        for _ in range(3):  # wait for three complete saves, so the kill lands inside a later one
            assert proc.stdout.readline().strip()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    tasks = FileStore(path).load_tasks()
    assert len(tasks) == 400
    assert len({t.name.split("-")[1] for t in tasks}) == 1
