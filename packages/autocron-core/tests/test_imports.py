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
    "autocron_store",
    "autocron_os",
    "autocron_notify",
    "autocron_dash",
    "autocron_cli",
]


def test_import_loads_no_heavy_or_upper_package() -> None:
    """import autocron_core loads none of click, rich, yaml, sqlalchemy, plyer, nor any package above it."""
    code = (
        "import sys, json; import autocron_core; "
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_public_api_names_resolve() -> None:
    """Every name in autocron_core.__all__ exists."""
    import autocron_core

    for name in autocron_core.__all__:
        assert getattr(autocron_core, name) is not None
    assert autocron_core.SchedulingError is autocron_core.ScheduleError
    assert autocron_core.TaskExecutionError is autocron_core.TaskError
