#!/usr/bin/env python3
"""Run a nox session from a fresh clone with nothing but Python 3.10+ and pip.

Usage: ``python3 dev.py -s tests`` (any nox arguments pass through).

The first call makes ``.venv-dev/`` holding pinned nox and uv; every later call
reuses it. nox then builds each session's own virtual environment with the
seven packages installed in editable mode, so nothing is ever installed by hand
or into the system Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".venv-dev"
# Pinned so every machine and CI drives the sessions with the same nox and uv.
REQUIREMENTS = ["nox==2026.10.20", "uv==0.13.9"]
STAMP = TOOLS / "requirements.txt"


def _bin(name: str) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return TOOLS / folder / f"{name}{suffix}"


def ensure_tools() -> None:
    """Create or refresh the tool environment when the pins changed."""
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if STAMP.exists() and STAMP.read_text() == wanted and _bin("nox").exists():
        return
    if sys.version_info < (3, 10):
        sys.exit(f"AutoCron needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    print(f"dev.py: preparing {TOOLS.name}/ with {', '.join(REQUIREMENTS)}", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    subprocess.run(
        [
            str(_bin("python")),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *REQUIREMENTS,
        ],
        check=True,
    )
    STAMP.write_text(wanted)


def main() -> int:
    ensure_tools()
    env = dict(os.environ)
    # nox finds uv next to itself; make sure the pinned one wins over any other.
    env["PATH"] = str(_bin("nox").parent) + os.pathsep + env.get("PATH", "")
    return subprocess.call([str(_bin("nox")), "--noxfile", str(ROOT / "noxfile.py"), *sys.argv[1:]], env=env)


if __name__ == "__main__":
    raise SystemExit(main())
