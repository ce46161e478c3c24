"""The autocron meta-package: one import for the whole public API, and `python -m autocron`."""

from __future__ import annotations

import json
import subprocess
import sys

import autocron


def test_core_api_is_re_exported() -> None:
    """from autocron import AutoCron, schedule, start_scheduler gives core's objects."""
    import autocron_core
    from autocron import AutoCron, Cron, schedule, start_scheduler

    assert AutoCron is autocron_core.AutoCron
    assert schedule is autocron_core.schedule
    assert start_scheduler is autocron_core.start_scheduler
    assert Cron is autocron_core.Cron


def test_every_name_in_all_resolves() -> None:
    """Every name in autocron.__all__, core's and the other packages', resolves."""
    for name in autocron.__all__:
        assert getattr(autocron, name) is not None, name
    from autocron_dash import show_dashboard
    from autocron_store import SqlStore

    assert autocron.SqlStore is SqlStore and autocron.show_dashboard is show_dashboard


def test_importing_autocron_stays_light() -> None:
    """import autocron loads no SQLAlchemy, rich, click or PyYAML until those names are used."""
    code = (
        "import sys, json, autocron; "
        "print(json.dumps([m for m in ('sqlalchemy', 'rich', 'click', 'yaml') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_python_dash_m_autocron_runs_the_cli() -> None:
    """python -m autocron is the autocron command."""
    result = subprocess.run(
        [sys.executable, "-m", "autocron", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "autocron-core" in result.stdout and autocron.__version__ in result.stdout


def test_issue17_names_are_re_exported() -> None:
    """Reschedule (a function's return value) and Excluding come from the facade as from core."""
    import autocron
    import autocron_core
    from autocron_core.exclusions import Excluding

    assert autocron.Reschedule is autocron_core.Reschedule
    assert autocron.Excluding is Excluding
    assert {"Reschedule", "Excluding"} <= set(autocron.__all__)
