"""Run every ``benchmarks/bench_*.py``, each in its own interpreter, and print all their tables.

Run: ``python benchmarks/run_all.py [--quick] [--json-dir DIR] [NAME ...]``
(``nox -s bench`` calls it with ``--json-dir benchmarks/results``).

Each script is started as ``python bench_<topic>.py [--quick] [--json DIR/<topic>.json]``
in a subprocess, one after another, so one benchmark's threads and memory never
disturb the next. Their output (the tables) goes straight to this terminal. A
script that fails is reported at the end; the others still run. Nothing here
asserts a timing: the exit status only says whether every script ran.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(names: list[str] | None = None) -> list[Path]:
    """The ``bench_*.py`` scripts next to this file, sorted; only ``names`` (topics) when given."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        wanted = {n.removeprefix("bench_").removesuffix(".py") for n in names}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    return scripts


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; 0 when every script exited cleanly."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--json-dir", metavar="DIR", help="write DIR/<topic>.json for every script")
    parser.add_argument("names", nargs="*", help="topics to run (e.g. core store); default: all")
    args = parser.parse_args(argv)
    scripts = discover(args.names)
    if not scripts:
        print("no benchmark scripts found", file=sys.stderr)
        return 1
    out_dir = Path(args.json_dir) if args.json_dir else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    for script in scripts:
        topic = script.stem.removeprefix("bench_")
        cmd = [sys.executable, str(script)]
        if args.quick:
            cmd.append("--quick")
        if out_dir is not None:
            cmd += ["--json", str(out_dir / f"{topic}.json")]
        print(f"\n=== {script.name} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.run(cmd, check=False).returncode
        print(f"=== {script.name}: exit {code} after {time.perf_counter() - start:.0f}s ===", flush=True)
        if code != 0:
            failed.append(f"{script.name} (exit {code})")
    if failed:
        print("\nfailed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
