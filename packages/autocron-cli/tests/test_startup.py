"""Startup stays lazy: help and version import no SQLAlchemy, rich, dashboard or store."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "rich", "autocron_dash", "autocron_store")


def _loaded_after(argv: list[str]) -> list[str]:
    code = (
        "import sys\nfrom autocron_cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    return [m for m in last.split(",") if m]


@pytest.mark.parametrize("argv", [["--help"], ["schedule", "--help"], ["--version"], ["next", "5m"]])
def test_light_commands_import_nothing_heavy(argv: list[str]) -> None:
    """These commands finish without importing SQLAlchemy, rich, autocron_dash or autocron_store."""
    assert _loaded_after(argv) == []


def test_python_dash_m_autocron_cli() -> None:
    """`python -m autocron_cli` is the autocron command (what OS scheduler entries run)."""
    result = subprocess.run(
        [sys.executable, "-m", "autocron_cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: autocron ")
