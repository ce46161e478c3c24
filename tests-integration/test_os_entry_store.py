"""Issue 15, faults 9-11: an OS entry opens the store its task was saved in, and runs it by name.

The crontab line is written by the real ``crontab`` program for a throwaway
user, read back, unescaped the way Debian's cron does and run with ``/bin/sh``
in cron's bare environment, so the test sees what the cron daemon would run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autocron_core import AutoCron
from autocron_core.errors import OSAdapterError
from autocron_core.registry import OS_ADAPTERS
from autocron_core.timezones import UTC
from autocron_os import CronAdapter
from autocron_os.cron import debian_cron_unescape


def _adapter(user: str) -> CronAdapter:
    return CronAdapter(user=user, system_zone=UTC, python=sys.executable)


def _fire(user: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the task's crontab command as Debian's cron would: unescaped, by sh, with cron's environment."""
    lines = subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True, check=True).stdout
    line = [line for line in lines.splitlines() if not line.startswith("#")][-1]  # one entry per test
    command, stdin = debian_cron_unescape(line.split(" ", 5)[5])
    assert stdin is None
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "SHELL": "/bin/sh", "LOGNAME": user}
    return subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


@pytest.mark.parametrize("name", ["backup", "--help", "C:\\\\share"])
def test_cron_entry_runs_the_task_from_the_schedulers_own_store(
    crontab_user: str, tmp_path: Path, name: str
) -> None:
    """AutoCron(store=other.db, use_os_scheduler=cron): the entry finds and runs the task, any name."""
    proof = tmp_path / "ran.txt"
    scheduler = AutoCron(store=f"sqlite:///{tmp_path / 'other.db'}", use_os_scheduler=_adapter(crontab_user))
    scheduler.add_task(
        name=name, command=[sys.executable, "-c", f"open({str(proof)!r}, 'w').write('ok')"], every="1h"
    )
    scheduler.store.close()
    done = _fire(crontab_user, tmp_path)
    assert done.returncode == 0, done.stderr
    assert proof.read_text() == "ok"


def test_in_memory_store_is_refused_before_installing(crontab_user: str) -> None:
    """With the in-memory store a command task is refused, saying which store to use; nothing is installed."""
    adapter = _adapter(crontab_user)
    scheduler = AutoCron(use_os_scheduler=adapter)
    with pytest.raises(OSAdapterError, match=r"in-memory store.*store="):
        scheduler.add_task(name="backup", command=["true"], every="1h")
    assert adapter.list() == [] and scheduler.get_task(name="backup") is None
    scheduler.add_task(name="inproc", func=lambda: None, every="1h")  # function tasks stay in-process


def test_schedule_os_passes_its_store_on(
    crontab_user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`autocron --store X schedule --os` installs an entry that opens X, and that entry runs the task."""
    from autocron_cli.main import cli

    OS_ADAPTERS.names()
    monkeypatch.setitem(OS_ADAPTERS._loaded, "default", lambda: _adapter(crontab_user))
    store = tmp_path / "elsewhere.db"
    proof = tmp_path / "ran.txt"
    command = shlex.join([sys.executable, "-c", f"open({str(proof)!r}, 'w').write('ok')"])
    result = CliRunner().invoke(
        cli,
        ["--store", str(store), "schedule", "--command", command, "--name", "job", "--every", "1h", "--os"],
    )
    assert result.exit_code == 0, result.output
    text = subprocess.run(
        ["crontab", "-u", crontab_user, "-l"], capture_output=True, text=True, check=True
    ).stdout
    (pointer,) = re.findall(r"AUTOCRON_DATABASE_FILE=(\S+)", text)
    assert Path(pointer).read_text().strip() == f"sqlite:///{store}"
    done = _fire(crontab_user, tmp_path)
    assert done.returncode == 0, done.stderr
    assert proof.read_text() == "ok"
