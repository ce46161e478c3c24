"""The original AutoCron's example autocron.yaml through the CLI (issue 14)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# The example config and its scripts are autocron-core's fixture (core is below the CLI).
SEED = Path(__file__).parents[2] / "autocron-core" / "tests" / "fixtures" / "seed"


@pytest.fixture
def seed_config(tmp_path: Path) -> Iterator[Path]:
    """The original example config and its scripts, copied; logging handlers restored afterwards."""
    shutil.copytree(SEED, tmp_path / "seed")
    root = logging.getLogger("autocron")
    handlers, level = list(root.handlers), root.level
    yield tmp_path / "seed" / "autocron.yaml"
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_validate_accepts_the_seed_example_config(autocron, seed_config: Path) -> None:
    """autocron validate passes the original example autocron.yaml with exit code 0."""
    result = autocron("validate", str(seed_config))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"{seed_config}: OK"


def test_start_runs_the_seed_example_config(autocron, store, seed_config: Path) -> None:
    """autocron start --config takes the original example and schedules its four tasks."""
    result = autocron("start", "--config", str(seed_config), "--duration", "0.3")
    assert result.exit_code == 0, result.stderr
    assert sorted(t.name for t in store.load_tasks()) == [
        "cleanup",
        "daily_backup",
        "data_sync",
        "weekly_report",
    ]
    assert (seed_config.parent / "logs" / "autocron.log").exists()
