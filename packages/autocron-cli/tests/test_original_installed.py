"""`autocron --version` and `autocron doctor` warn when the original autocron-scheduler is installed too.

The original distribution is faked the way pip leaves it: a
``autocron_scheduler-1.2.0.dist-info`` folder with its METADATA, on the
``PYTHONPATH`` of a subprocess running the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def original(tmp_path: Path) -> Path:
    """A folder that makes importlib.metadata find autocron-scheduler 1.2.0."""
    site = tmp_path / "site"
    info = site / "autocron_scheduler-1.2.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: autocron-scheduler\nVersion: 1.2.0\n", encoding="utf-8"
    )
    return site


def _autocron(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)  # AUTOCRON_HOME is the test's temporary folder (autouse fixture)
    env.pop("AUTOCRON_DATABASE", None)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "autocron_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_version_warns_about_the_original(original: Path) -> None:
    """--version still lists the versions, and warns on stderr to uninstall autocron-scheduler first."""
    result = _autocron("--version", extra_path=original)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[0] == "autocron"
    (warning,) = result.stderr.strip().splitlines()
    assert warning.startswith("autocron: warning: the original AutoCron (autocron-scheduler 1.2.0")
    assert "both own the `autocron` import package" in warning
    assert "uninstalled first" in warning
    assert "pip uninstall autocron-scheduler" in warning
    alone = _autocron("--version")  # without the original: no warning
    assert alone.returncode == 0, alone.stderr
    assert alone.stderr == ""


def test_doctor_reports_the_environment(autocron_home: Path) -> None:
    """doctor lists the packages (autocron-celery too, an optional one), AUTOCRON_HOME and the store,
    and exits 0 when nothing is wrong."""
    result = _autocron("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("autocron-core", "autocron-store", "autocron-cli", "AUTOCRON_HOME", "store"):
        assert name in result.stdout
    assert str(autocron_home) in result.stdout
    assert "No problems found." in result.stdout
    data = json.loads(_autocron("doctor", "--json").stdout)
    assert len(data["packages"]) == 8 and "autocron-celery" in str(data["packages"])
    assert data["problems"] == []
    assert data["autocron_home"] == str(autocron_home)


def test_doctor_lists_the_original_as_a_problem(original: Path) -> None:
    """doctor names the original distribution as a problem, with the uninstall command, and exits 1."""
    result = _autocron("doctor", "--json", extra_path=original)
    assert result.returncode == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert "autocron-scheduler 1.2.0" in problem
    assert "pip uninstall autocron-scheduler" in problem


def test_doctor_does_not_create_the_database(autocron_home: Path) -> None:
    """doctor only looks: a store that does not exist yet is reported, not created."""
    result = _autocron("doctor")
    assert "not created yet" in result.stdout
    assert not (autocron_home / "autocron.db").exists()


def test_doctor_hides_a_url_password_and_reports_an_unreadable_store(tmp_path: Path) -> None:
    """A store that cannot be read is a problem; a password in its URL is never printed."""
    broken = tmp_path / "broken.db"
    broken.write_text("this is not a database", encoding="utf-8")
    result = _autocron("--store", str(broken), "doctor")
    assert result.returncode == 1
    assert "cannot be read" in result.stdout
    secret = _autocron("--store", "postgresql://bob:hunter2@127.0.0.1:1/x", "doctor", "--json")
    assert "hunter2" not in secret.stdout + secret.stderr
    assert "bob:***@127.0.0.1:1" in json.loads(secret.stdout)["store"]


def test_doctor_does_not_count_a_missing_optional_package_as_a_problem() -> None:
    """autocron-celery is an extra: its absence is no problem, a missing autocron-store is."""
    from autocron_cli.commands.doctor import find_problems

    versions = [("autocron-core", "1.0"), ("autocron-store", None), ("autocron-celery", None)]
    (problem,) = find_problems(versions, None)
    assert problem.startswith("not installed: autocron-store ") and "celery" not in problem
    assert find_problems([("autocron-core", "1.0"), ("autocron-celery", None)], None) == []
