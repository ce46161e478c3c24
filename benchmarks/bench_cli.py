"""Start-up time of the `autocron` command: median wall time of whole processes.

Each figure is the median of N runs of a fresh interpreter, quoted with its
ratio to a bare `python -c pass` measured in the same run (the floor no CLI
can go under). The issue's target: `autocron --help` under 150 ms.

    .venv/bin/python benchmarks/bench_cli.py [--quick] [--json PATH]

PYTHONDONTWRITEBYTECODE is removed from the children's environment and each
command runs once before timing, so .pyc files exist as on a user's machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

TARGET_HELP_MS = 150.0
CASES: list[tuple[str, list[str]]] = [
    ("python -c pass (floor)", ["-c", "pass"]),
    ("autocron --help", ["-m", "autocron_cli", "--help"]),
    ("autocron --version", ["-m", "autocron_cli", "--version"]),
    ("autocron schedule --help", ["-m", "autocron_cli", "schedule", "--help"]),
    ("autocron next '*/5 * * * *'", ["-m", "autocron_cli", "next", "*/5 * * * *"]),
    ("autocron list (SQLite)", ["-m", "autocron_cli", "list"]),
]


def _time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print a table of medians, optionally write JSON; 1 when --help misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs per case instead of 21")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else 21
    with tempfile.TemporaryDirectory() as home:
        env = {
            k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "AUTOCRON_DATABASE")
        }
        env.update(AUTOCRON_HOME=home, NO_COLOR="1")
        results = []
        for label, case in CASES:
            _time_once(case, env)  # warm up: writes .pyc files and the database
            samples = [_time_once(case, env) for _ in range(runs)]
            results.append(
                {
                    "case": label,
                    "median_ms": statistics.median(samples) * 1000,
                    "min_ms": min(samples) * 1000,
                    "runs": runs,
                }
            )
    floor = results[0]["median_ms"]
    for row in results:
        row["ratio_to_python"] = row["median_ms"] / floor
    width = max(len(r["case"]) for r in results)
    print(f"{'case'.ljust(width)}  median ms  min ms  x python")
    for r in results:
        figures = f"{r['median_ms']:9.1f}  {r['min_ms']:6.1f}  {r['ratio_to_python']:8.2f}"
        print(f"{r['case'].ljust(width)}  {figures}")
    help_ms = next(r["median_ms"] for r in results if r["case"] == "autocron --help")
    verdict = "meets" if help_ms < TARGET_HELP_MS else "MISSES"
    print(f"autocron --help: {help_ms:.1f} ms median, {verdict} the {TARGET_HELP_MS:.0f} ms target")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"python": sys.version.split()[0], "target_help_ms": TARGET_HELP_MS, "results": results},
                handle,
                indent=2,
            )
    return 0  # a missed target is reported above, not an error: benchmarks never assert timings


if __name__ == "__main__":
    sys.exit(main())
