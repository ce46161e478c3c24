"""Every log file, rotated ones included, is private to its owner (issue 15, fault 20)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autocron_core import configure_logging, get_logger

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.name.startswith("app.log")}


@pytest.fixture
def restore_logging(tmp_path: Path) -> Iterator[None]:
    """Leave the autocron loggers writing to a scratch file, as other tests expect."""
    yield
    configure_logging(tmp_path / "scratch.log", console=False)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which plain open() makes 0644 files."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_rotated_log_files_are_0600(tmp_path: Path, restore_logging: None, umask_022: None) -> None:
    """After several rollovers the current log and every rotation are readable by the owner only."""
    folder = tmp_path / "logs"
    configure_logging(folder / "app.log", max_bytes=400, backups=3, console=False)
    for i in range(60):
        get_logger("modes").warning("line %d %s", i, "x" * 40)
    modes = _modes(folder)
    assert {"app.log", "app.log.1", "app.log.2", "app.log.3"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


def test_an_existing_world_readable_log_becomes_private(
    tmp_path: Path, restore_logging: None, umask_022: None
) -> None:
    """A log left 0644 by an older version is made 0600 when logging starts, its rotations at rollover."""
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("app.log", "app.log.1"):
        (folder / name).write_text("old\n")
        (folder / name).chmod(0o644)
    configure_logging(folder / "app.log", max_bytes=300, backups=2, console=False)
    assert _modes(folder)["app.log"] == 0o600
    for i in range(20):
        get_logger("modes").warning("line %d %s", i, "y" * 40)
    modes = _modes(folder)
    assert modes == dict.fromkeys(modes, 0o600)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    umask=st.integers(min_value=0, max_value=0o077),
    sizes=st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=40),
    backups=st.integers(min_value=1, max_value=4),
)
def test_no_log_file_is_ever_readable_by_others(
    tmp_path_factory: pytest.TempPathFactory,
    restore_logging: None,
    umask: int,
    sizes: list[int],
    backups: int,
) -> None:
    """Whatever the umask and however the lines fall across rollovers, every log file is exactly 0600."""
    folder = tmp_path_factory.mktemp("logs")
    old = os.umask(umask)
    try:
        configure_logging(folder / "app.log", max_bytes=256, backups=backups, console=False)
        for size in sizes:
            get_logger("modes").warning("%s", "z" * size)
    finally:
        os.umask(old)
    modes = _modes(folder)
    assert modes == dict.fromkeys(modes, 0o600)
