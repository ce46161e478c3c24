"""Task files shared by several processes: no update is lost, no temporary copy piles up."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core.task import build_task
from autocron_store import FileStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="forks writer processes")


def _writer(path: str, prefix: str, count: int, start: object) -> None:
    """One process adding ``count`` tasks, each through its own store (as separate CLI calls do)."""
    start.wait(30)  # type: ignore[attr-defined]
    for i in range(count):
        store = FileStore(path)
        store.save_task(build_task(f"{prefix}-{i}", command=["true"], every="5m"))
        store.close()


def _state_writer(path: str, name: str, rounds: int, start: object) -> None:
    """One long-lived store (as ``autocron start --store`` is) saving its task's state again and again."""
    store = FileStore(path)
    (task,) = [t for t in store.load_tasks() if t.name == name]
    start.wait(30)  # type: ignore[attr-defined]
    for i in range(rounds):
        task.run_count = i + 1
        store.save_state(task)


def _run(processes: list[multiprocessing.Process]) -> None:
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_concurrent_writer_processes_lose_no_task(tmp_path: Path, suffix: str) -> None:
    """Six processes adding tasks to one task file at once: every task is there afterwards."""
    path = str(tmp_path / f"tasks{suffix}")
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(6)
    _run([ctx.Process(target=_writer, args=(path, f"w{n}", 8, start)) for n in range(6)])
    names = {t.name for t in FileStore(path).load_tasks()}
    assert names == {f"w{n}-{i}" for n in range(6) for i in range(8)}


def test_a_running_daemon_and_cli_adds_keep_every_task(tmp_path: Path) -> None:
    """A long-lived store saving run state while other processes add tasks keeps the adds and the state."""
    path = str(tmp_path / "tasks.yaml")
    FileStore(path).save_task(build_task("daemon-job", command=["true"], every="1m"))
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(3)
    _run(
        [
            ctx.Process(target=_state_writer, args=(path, "daemon-job", 30, start)),
            ctx.Process(target=_writer, args=(path, "cli-a", 10, start)),
            ctx.Process(target=_writer, args=(path, "cli-b", 10, start)),
        ]
    )
    loaded = {t.name: t for t in FileStore(path).load_tasks()}
    assert set(loaded) == {"daemon-job"} | {f"cli-{w}-{i}" for w in "ab" for i in range(10)}
    assert loaded["daemon-job"].run_count == 30


def _save_forever(path: str) -> None:
    store = FileStore(path)
    big = build_task("big", command=["echo", "x" * 200_000], every="5m")
    while True:
        store.save_task(big)


def test_copies_left_by_killed_saves_are_removed_by_the_next_save(tmp_path: Path) -> None:
    """Writers killed mid-save leave hidden temporary copies; the next save removes them all."""
    path = tmp_path / "tasks.yaml"
    ctx = multiprocessing.get_context("fork")
    for _ in range(5):
        process = ctx.Process(target=_save_forever, args=(str(path),))
        process.start()
        time.sleep(0.15)
        os.kill(process.pid, signal.SIGKILL)
        process.join()
    # A copy exactly as a killed writer leaves it, even if none of the kills above hit mid-write.
    (tmp_path / ".tasks.yaml.abcd_123.tmp").write_bytes(b"x" * 1000)
    other = tmp_path / ".other.yaml.abcd_123.tmp"  # another file's copy: not ours to remove
    other.write_bytes(b"y")
    FileStore(path).save_task(build_task("small", command=["true"], every="5m"))
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
    assert leftovers == [other.name]
    assert (tmp_path / ".tasks.yaml.lock").exists()  # the writers' lock file stays
    assert {t.name for t in FileStore(path).load_tasks()} >= {"small"}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writers=st.integers(2, 5), each=st.integers(1, 6), suffix=st.sampled_from([".yaml", ".json"]))
def test_property_any_number_of_writer_processes_lose_nothing(
    tmp_path_factory: pytest.TempPathFactory, writers: int, each: int, suffix: str
) -> None:
    """However many processes add however many tasks at once, the file ends up with all of them."""
    path = str(tmp_path_factory.mktemp("writers") / f"tasks{suffix}")
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(writers)
    _run([ctx.Process(target=_writer, args=(path, f"p{n}", each, start)) for n in range(writers)])
    names = {t.name for t in FileStore(path).load_tasks()}
    assert names == {f"p{n}-{i}" for n in range(writers) for i in range(each)}


_ENTRY_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(), st.text(max_size=6),
    st.sampled_from(["9999-12-31T23:00:00-05:00", "soon", "5m", "* * * * *", "\udcff"]),
    st.dictionaries(st.sampled_from(["next_run", "run_count", "paused", "x"]), st.text(max_size=4),
                    max_size=3),
)  # fmt: skip
_ENTRIES = st.dictionaries(
    st.sampled_from(["state", "anchor", "retries", "kwargs", "task_id", "every", "name"]),
    _ENTRY_VALUES,
    max_size=6,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_ENTRIES, max_size=3), version=st.sampled_from([2, "1.0", None, 3, "x"]))
def test_property_hostile_task_files_load_or_fail_cleanly(
    tmp_path: Path, entries: list[dict[str, object]], version: object
) -> None:
    """Any task file loads into tasks or is one AutoCronError; a save over a bad file leaves it as it was."""
    import json

    from autocron_core.errors import AutoCronError

    path = tmp_path / "tasks.json"
    # Each entry starts valid, so the hostile fields are reached rather than a missing schedule.
    base = {"command": ["true"], "every": 300}
    tasks = [{**base, "name": f"t{i}", **entry} for i, entry in enumerate(entries)]
    text = json.dumps({"version": version, "tasks": tasks})
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    store = FileStore(path)
    try:
        store.load_tasks()
    except AutoCronError as exc:
        assert "\n" not in str(exc)
        with pytest.raises(AutoCronError):
            store.save_task(build_task("new", command=["true"], every="5m"))
        assert path.read_text(encoding="utf-8", errors="surrogatepass") == text
