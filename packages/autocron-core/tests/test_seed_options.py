"""The original AutoCron's task options: safe_mode, max_memory_mb, clean_env, max_output_bytes,
max_cpu_percent. Real child processes, real resource limits."""

from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core import AutoCron, RunStatus, Task, TaskError, build_task

POSIX_LIMITS = pytest.mark.skipif(
    sys.platform in ("win32", "darwin"), reason="RLIMIT_AS / RLIMIT_CPU are enforced on Linux and BSD"
)

JOBS = """
import os, threading

def pid():
    return os.getpid()

def boom(message):
    raise ValueError(message)

def crash():
    os.abort()

def lock():
    return threading.Lock()

def allocate(mib):
    block = bytearray(mib * 1024 * 1024)
    return len(block)

async def later(value):
    return value * 2

def environment():
    return dict(os.environ)
"""


@pytest.fixture
def jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A module of job functions, importable by name (as a user's own module would be)."""
    (tmp_path / "h3_seed_jobs.py").write_text(textwrap.dedent(JOBS))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("h3_seed_jobs")
    yield module
    sys.modules.pop("h3_seed_jobs", None)


def run_once(task_kwargs: dict[str, Any], timeout: float = 60) -> Any:
    """Add one task to a fresh scheduler, run it now, and return its run record."""
    scheduler = AutoCron(timezone="UTC", max_workers=2)
    try:
        scheduler.add_task("job", every="1h", **task_kwargs)
        scheduler.run_task(name="job", timeout=timeout)
        (record,) = scheduler.history("job")
        return record
    finally:
        scheduler.stop()


# -- safe_mode ----------------------------------------------------------------------------


def test_safe_mode_runs_the_function_in_a_child_process(jobs: ModuleType) -> None:
    """With safe_mode=True a function runs in another process and its return value comes back."""
    task = build_task(func=jobs.pid, every="1h", safe_mode=True)
    assert task.execute() != os.getpid()
    assert build_task(func=jobs.later, every="1h", safe_mode=True, args=(21,)).execute() == 42


def test_safe_mode_exception_comes_back_with_its_type(jobs: ModuleType) -> None:
    """An exception raised in the child is re-raised in the scheduler with its type and message."""
    got: list[BaseException] = []
    record = run_once({"func": jobs.boom, "args": ("bad row",), "safe_mode": True, "on_failure": got.append})
    assert record.status is RunStatus.FAILED and record.error == "ValueError: bad row"
    assert isinstance(got[0], ValueError) and "boom" in str(got[0].__cause__)


def test_safe_mode_crash_does_not_take_the_scheduler_down(jobs: ModuleType) -> None:
    """A function that aborts its process fails its run; the scheduler runs the next task."""
    scheduler = AutoCron(timezone="UTC", max_workers=1)
    try:
        scheduler.add_task("crash", func=jobs.crash, every="1h", safe_mode=True)
        scheduler.add_task("after", func=jobs.pid, every="1h")
        assert scheduler.run_task(name="crash", timeout=60) is False
        (record,) = scheduler.history("crash")
        assert record.status is RunStatus.FAILED and "exited with code" in (record.error or "")
        assert scheduler.run_task(name="after", timeout=60) is True
    finally:
        scheduler.stop()


def test_safe_mode_timeout_kills_the_child(jobs: ModuleType) -> None:
    """A safe-mode function over its timeout is killed, not abandoned: recorded timed_out, slot free."""
    started = time.monotonic()
    record = run_once({"func": "time:sleep", "args": (60,), "safe_mode": True, "timeout": 0.5})
    assert record.status is RunStatus.TIMED_OUT
    assert time.monotonic() - started < 30


def test_safe_mode_unpicklable_result_is_a_clear_error(jobs: ModuleType) -> None:
    """A return value that cannot be sent back fails the run with an error saying so."""
    record = run_once({"func": jobs.lock, "safe_mode": True})
    assert record.status is RunStatus.FAILED
    assert "TaskError" in (record.error or "") and "picklable" in (record.error or "")


def test_safe_mode_refuses_a_function_it_cannot_import_by_name(jobs: ModuleType) -> None:
    """safe_mode with a lambda or a closure is refused at add_task, naming func."""
    with pytest.raises(TaskError) as caught:
        build_task(func=lambda: None, every="1h", safe_mode=True)
    assert caught.value.field == "func" and "safe_mode" in str(caught.value)


def test_safe_mode_refuses_arguments_it_cannot_send(jobs: ModuleType) -> None:
    """safe_mode with an argument that cannot be pickled is refused at add_task, naming args."""
    with pytest.raises(TaskError) as caught:
        build_task(func=jobs.boom, every="1h", safe_mode=True, args=(lambda: None,))
    assert caught.value.field == "args"


def test_safe_mode_on_a_command_changes_nothing(tmp_path: Path) -> None:
    """Scripts and commands already run as child processes: safe_mode is accepted and they run as before."""
    record = run_once({"command": [sys.executable, "-c", "print('hi')"], "safe_mode": True})
    assert record.status is RunStatus.SUCCEEDED and record.output == "hi\n"


# -- max_memory_mb ------------------------------------------------------------------------


@POSIX_LIMITS
def test_max_memory_mb_limits_a_command(tmp_path: Path) -> None:
    """A command allocating more than max_memory_mb fails with MemoryError in its output."""
    allocate = [sys.executable, "-c", "block = bytearray(400 * 1024 * 1024); print('allocated')"]
    record = run_once({"command": allocate, "max_memory_mb": 150})
    assert record.status is RunStatus.FAILED and "MemoryError" in (record.output or "")


@POSIX_LIMITS
def test_max_memory_mb_limits_a_safe_mode_function(jobs: ModuleType) -> None:
    """A safe-mode function allocating more than max_memory_mb gets a MemoryError; under it, it succeeds."""
    failed = run_once({"func": jobs.allocate, "args": (400,), "safe_mode": True, "max_memory_mb": 150})
    assert failed.status is RunStatus.FAILED and (failed.error or "").startswith("MemoryError")
    ok = build_task(func=jobs.allocate, args=(10,), every="1h", safe_mode=True, max_memory_mb=150)
    assert ok.execute() == 10 * 1024 * 1024


def test_limits_on_an_in_process_function_are_refused(jobs: ModuleType) -> None:
    """max_memory_mb, clean_env, max_cpu_percent on an in-process function are refused, naming the field."""
    for option, value in (("max_memory_mb", 100), ("clean_env", True), ("max_cpu_percent", 50)):
        with pytest.raises(TaskError) as caught:
            build_task(func=jobs.pid, every="1h", timeout=10, **{option: value})
        assert caught.value.field == option and "safe_mode=True" in str(caught.value)


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_a_platform_that_cannot_enforce_a_limit_refuses_it(
    platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a platform without enforceable resource limits, max_memory_mb fails at add_task, saying why."""
    monkeypatch.setattr(sys, "platform", platform)
    with pytest.raises(TaskError) as caught:
        build_task(command=["true"], every="1h", max_memory_mb=100)
    assert caught.value.field == "max_memory_mb" and caught.value.detail


# -- max_cpu_percent ----------------------------------------------------------------------


@POSIX_LIMITS
@pytest.mark.realtime
def test_max_cpu_percent_is_a_cpu_time_budget_of_the_timeout() -> None:
    """max_cpu_percent=5 with timeout=20 stops a busy loop after 1 s of CPU, long before the timeout."""
    started = time.monotonic()
    busy = [sys.executable, "-c", "while True: pass"]
    record = run_once({"command": busy, "timeout": 20, "max_cpu_percent": 5})
    assert record.status is RunStatus.FAILED and "code -24" in (record.error or "")  # SIGXCPU
    assert time.monotonic() - started < 15


def test_max_cpu_percent_needs_a_timeout() -> None:
    """max_cpu_percent without a timeout is refused: its budget is a share of the timeout."""
    with pytest.raises(TaskError) as caught:
        build_task(command=["true"], every="1h", max_cpu_percent=50)
    assert caught.value.field == "max_cpu_percent" and "timeout" in str(caught.value)


# -- clean_env ----------------------------------------------------------------------------


def test_clean_env_passes_only_the_minimal_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """clean_env=True runs a command without the scheduler's other variables (PATH and HOME stay)."""
    from autocron_core._limits import CLEAN_ENV_NAMES

    monkeypatch.setenv("H3_SECRET_TOKEN", "hunter2")
    dump = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
    record = run_once({"command": dump, "clean_env": True})
    env = json.loads(record.output or "{}")
    assert "H3_SECRET_TOKEN" not in env and env.get("PATH") == os.environ["PATH"]
    assert all(name in CLEAN_ENV_NAMES or name.startswith("LC_") for name in env)
    plain = json.loads(run_once({"command": dump}).output or "{}")
    assert plain["H3_SECRET_TOKEN"] == "hunter2"


def test_clean_env_applies_to_a_safe_mode_function(jobs: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """A safe-mode function with clean_env=True sees the minimal environment, and still imports."""
    monkeypatch.setenv("H3_SECRET_TOKEN", "hunter2")
    env = build_task(func=jobs.environment, every="1h", safe_mode=True, clean_env=True).execute()
    assert "H3_SECRET_TOKEN" not in env and "PATH" in env


# -- max_output_bytes ---------------------------------------------------------------------


def test_max_output_bytes_sets_the_kept_output_tail() -> None:
    """max_output_bytes sets how much output the run record keeps: the last bytes, below or above 8 KiB."""
    loud = [sys.executable, "-c", "print('x' * 20000 + 'END')"]
    small = run_once({"command": loud, "max_output_bytes": 100}).output or ""
    assert len(small) == 100 and small.endswith("END\n")
    large = run_once({"command": loud, "max_output_bytes": 1_000_000}).output or ""
    assert len(large) == 20004


# -- validation and persistence -------------------------------------------------------------

BAD_VALUES = st.one_of(
    st.just(True),
    st.just(False),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(max_value=0),
    st.integers(min_value=2**62),
    st.text(max_size=5),
    st.just([1]),
)


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(["max_memory_mb", "max_output_bytes", "max_cpu_percent"]), value=BAD_VALUES)
def test_bad_limit_values_are_refused_naming_the_field(field: str, value: Any) -> None:
    """Bools, NaN, infinities, zero, negatives, huge numbers and text are refused, naming the field."""
    if field == "max_cpu_percent" and isinstance(value, float) and 1 <= value <= 100:
        return  # a valid percentage
    with pytest.raises(TaskError) as caught:
        build_task(command=["true"], every="1h", timeout=10, **{field: value})
    assert caught.value.field == field and caught.value.expected.endswith("or None")


@settings(max_examples=30, deadline=None)
@given(
    field=st.sampled_from(["safe_mode", "clean_env"]), value=st.one_of(st.integers(), st.text(), st.none())
)
def test_flags_must_be_true_or_false(field: str, value: Any) -> None:
    """safe_mode and clean_env accept only True or False (not 0, 1, "yes" or None)."""
    with pytest.raises(TaskError) as caught:
        build_task(command=["true"], every="1h", **{field: value})
    assert caught.value.field == field and caught.value.expected == "True or False"


def test_options_survive_to_dict_and_from_dict(jobs: ModuleType) -> None:
    """Set options are written by to_dict and restored by from_dict; defaults are not written."""
    task = build_task(
        func=jobs.pid,
        every="1h",
        timeout=30,
        safe_mode=True,
        max_memory_mb=256,
        clean_env=True,
        max_output_bytes=1_000_000,
        max_cpu_percent=50,
    )
    data = task.to_dict()
    assert {k: data[k] for k in ("safe_mode", "max_memory_mb", "clean_env", "max_output_bytes")} == {
        "safe_mode": True,
        "max_memory_mb": 256,
        "clean_env": True,
        "max_output_bytes": 1_000_000,
    }
    back = Task.from_dict(data)
    assert (
        back.safe_mode,
        back.max_memory_mb,
        back.clean_env,
        back.max_output_bytes,
        back.max_cpu_percent,
    ) == (
        True,
        256,
        True,
        1_000_000,
        50.0,
    )
    plain = build_task(func=jobs.pid, every="1h")
    assert not {"safe_mode", "max_memory_mb", "clean_env", "max_output_bytes", "max_cpu_percent"} & set(
        plain.to_dict()
    )
    # Tasks that use none of them still share the one default options value (no cost per task).
    assert plain.options is build_task(command=["true"], every="1h").options
