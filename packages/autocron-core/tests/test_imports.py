"""autocron-core stays light: what importing it loads."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "click",
    "rich",
    "yaml",
    "sqlalchemy",
    "plyer",
    "croniter",
    "asyncio",
    "subprocess",
    # Not heavy alone, but each is a fifth to a quarter of the 40 ms import budget:
    "logging",  # loggers are fetched on first use (_lazylog.py)
    "inspect",  # async functions are told apart without it (task.py)
    "typing",  # with re and contextlib, half the import time: see _tuples.py
    "re",  # intervals are read by a scanner (schedules.py)
    "contextlib",
    "autocron_store",
    "autocron_os",
    "autocron_notify",
    "autocron_dash",
    "autocron_cli",
]


def test_import_loads_no_heavy_or_upper_package() -> None:
    """import autocron_core loads none of click, rich, yaml, sqlalchemy, plyer, nor any package above it."""
    code = (
        "import sys; import autocron_core; "
        f"loaded = sorted(m for m in {HEAVY!r} if m in sys.modules); "
        "import json; print(json.dumps(loaded))"  # json itself imports re
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_public_api_names_resolve() -> None:
    """Every name in autocron_core.__all__ exists."""
    import autocron_core

    for name in autocron_core.__all__:
        assert getattr(autocron_core, name) is not None
    # The original AutoCron's names are bases now, not aliases (see test_seed_api.py).
    assert issubclass(autocron_core.ScheduleError, autocron_core.SchedulingError)
    assert issubclass(autocron_core.TaskTimeoutError, autocron_core.TaskExecutionError)


def test_telling_async_from_sync_needs_no_inspect(tmp_path) -> None:
    """In a fresh interpreter, tasks are sorted into async and sync exactly as
    inspect would, without importing it (30 ms), and an async one really runs."""
    code = """
import functools, json, sys
from autocron_core import AutoCron

async def coro(x=0):
    ran.append(x)

def plain():
    pass

class Job:
    async def method(self):
        ran.append("method")
    def sync_method(self):
        pass
    async def __call__(self):
        pass

ran = []
targets = {
    "coro": coro, "plain": plain, "partial": functools.partial(coro, 1),
    "nested_partial": functools.partial(functools.partial(coro), 2),
    "method": Job().method, "sync_method": Job().sync_method, "builtin": print,
    "lambda": lambda: None, "callable_object": Job(),
}
s = AutoCron(timezone="UTC")
answers = {name: s.get_task(s.add_task(name, func=f, every="1h")).is_async for name, f in targets.items()}
loaded = "inspect" in sys.modules  # before an async run: asyncio itself imports inspect
ok = s.run_task(name="partial", wait=True)
s.close()
print(json.dumps({"answers": answers, "ran": ran, "ok": ok, "inspect": loaded}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result["inspect"] is False
    assert result["ok"] is True and result["ran"] == [1]
    # What inspect.iscoroutinefunction says of the same targets:
    assert result["answers"] == {
        "coro": True, "plain": False, "partial": True, "nested_partial": True, "method": True,
        "sync_method": False, "builtin": False, "lambda": False, "callable_object": False,
    }  # fmt: skip
