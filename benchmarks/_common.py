"""Helpers shared by the ``bench_*.py`` scripts: timing, medians, tables, JSON, isolation.

Nothing here asserts a timing. A benchmark script measures, prints a plain
table of medians (and ratios against a peer measured in the same run) and,
with ``--json PATH``, writes every raw sample next to the summary.

Isolation: a scenario runs in a fresh interpreter (``run_isolated``), so one
scenario's threads, heap and garbage never disturb the next one, and each
library is measured in a process that has imported only itself.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

#: Marks the line a worker subprocess prints its result on.
RESULT_PREFIX = "BENCH-RESULT "


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are not ``None`` (``None`` when there are none)."""
    data = sorted(v for v in values if v is not None and not math.isnan(v))
    if not data:
        return None
    mid = len(data) // 2
    return data[mid] if len(data) % 2 else (data[mid - 1] + data[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def ratio(num: float | None, den: float | None) -> float | None:
    """``num / den``, or ``None`` when either is missing or ``den`` is zero."""
    if num is None or den is None or den == 0:
        return None
    return num / den


def rss_bytes() -> int:
    """Resident set size of this process, from ``/proc/self/statm`` (Linux), in bytes.

    Falls back to ``resource.getrusage`` peak RSS elsewhere (an upper bound).
    """
    try:
        with open("/proc/self/statm") as fh:
            resident_pages = int(fh.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def machine_info() -> dict[str, Any]:
    """Where and when the figures were taken: date, CPUs, load, Python, libraries."""
    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    with contextlib.suppress(OSError):  # not available everywhere
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    return info


def bench_env() -> dict[str, str]:
    """The environment for worker subprocesses: the caller's, with bytecode writing allowed."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_isolated(
    script: str | os.PathLike[str], args: Sequence[str], timeout: float = 900, python: str | None = None
) -> dict[str, Any]:
    """Run ``python script *args`` in a fresh interpreter and return the JSON it reports.

    ``python`` is this interpreter unless given (a peer installed in a virtual
    environment of its own, such as APScheduler 4).

    The worker prints one line ``BENCH-RESULT {json}``; anything else it prints is
    ignored. A crash, a timeout or a missing result gives ``{"error": ...}``
    instead of raising, so one failed scenario never hides the others.
    """
    try:
        proc = subprocess.run(
            [python or sys.executable, os.fspath(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=bench_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g}s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def report(result: dict[str, Any]) -> None:
    """Print a worker's result on the line ``run_isolated`` looks for."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def time_command(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds to run ``argv`` to completion (output discarded)."""
    start = time.perf_counter()
    subprocess.run(list(argv), env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def make_parser(description: str) -> argparse.ArgumentParser:
    """The command line every ``bench_*.py`` accepts: ``[--quick] [--json PATH]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer repetitions")
    parser.add_argument("--json", metavar="PATH", help="also write every sample and the summary as JSON")
    return parser


def fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant figures, or ``-`` when missing."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a plain, aligned text table (first column left-aligned, the others right-aligned)."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    print(f"\n{title}")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))
    sys.stdout.flush()


def write_json(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Write ``payload`` (plus ``machine_info()`` under ``machine``) as indented JSON."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine_info(), **payload}
    target.write_text(json.dumps(data, indent=2, default=str) + "\n")


def progress(message: str) -> None:
    """A progress line on stderr (tables go to stdout)."""
    print(message, file=sys.stderr, flush=True)


def repeat(
    reps: int, libs: Sequence[str], measure: Callable[[str, int], dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Call ``measure(lib, rep)`` ``reps`` times per library, interleaving the libraries.

    Interleaving (A, B, C, A, B, C, ...) spreads slow phases of a noisy machine
    over every library instead of penalising whichever ran during them.
    """
    out: dict[str, list[dict[str, Any]]] = {lib: [] for lib in libs}
    for rep in range(reps):
        for lib in libs:
            out[lib].append(measure(lib, rep))
    return out
