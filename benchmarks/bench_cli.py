"""Wall time of the `autocron` command as a whole process, on an empty home and on a 100,000-run store.

Issue 16's targets: on an SQLite store holding 100,000 runs of 200 tasks,
`autocron list`, `history NAME`, `stats` and `dashboard` each at most 250 ms;
`autocron --help` at most 150 ms.

Method (the house method of benchmarks/README.md): every sample is a fresh
interpreter; the store is built once (``bench_dash.fill``: 200 tasks, 100,000
runs); each read command runs two ways, interleaved within each repetition:

* **autocron**: ``python -m autocron_cli ...``, as users run it;
* **via SqlStore** (the peer, what the command did before issue 16): the same
  command with the read-only SQLite reader switched off
  (``autocron_store._reads.open_reader`` replaced by ``lambda url: None`` in a
  ``python -c`` wrapper), so the store is opened through SQLAlchemy.

Figures are medians over the repetitions (5 in a full run, 3 with --quick),
ratios are medians of per-repetition ratios autocron ÷ peer (below 1 is
faster), and every figure is also quoted against a bare ``python -c pass``
measured in the same rounds.

    .venv/bin/python benchmarks/bench_cli.py [--quick] [--json PATH] [--reps N] [--db PATH]

PYTHONDONTWRITEBYTECODE is removed from the children's environment and each
command runs once before timing, so .pyc files exist as on a user's machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import make_parser, print_table, write_json

TARGET_HELP_MS = 150.0
TARGET_READ_MS = 250.0
#: Runs a command with the SQLite reader switched off: the command as it was before issue 16.
PEER = (
    "import sys, autocron_store._reads as reads\n"
    "reads.open_reader = lambda url: None\n"
    "from autocron_cli.main import main\n"
    "main(sys.argv[1:], prog_name='autocron')\n"
)
#: (label, arguments after `autocron`, whether it reads the big store, target in ms)
CASES: list[tuple[str, list[str], bool, float | None]] = [
    ("autocron --help", ["--help"], False, TARGET_HELP_MS),
    ("autocron --version", ["--version"], False, None),
    ("autocron schedule --help", ["schedule", "--help"], False, None),
    ("autocron next '*/5 * * * *'", ["next", "*/5 * * * *"], False, None),
    ("autocron list", ["list"], True, TARGET_READ_MS),
    ("autocron history task-007", ["history", "task-007"], True, TARGET_READ_MS),
    ("autocron stats", ["stats"], True, TARGET_READ_MS),
    ("autocron stats --json", ["stats", "--json"], True, None),
    ("autocron dashboard", ["dashboard"], True, TARGET_READ_MS),
    ("autocron dashboard --json", ["dashboard", "--json"], True, None),
]


def _time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return (time.perf_counter() - start) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print a table of medians and ratios, optionally write JSON; always 0 (no timing asserts)."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5, 3 with --quick)")
    parser.add_argument(
        "--db", metavar="PATH", help="the 100,000-run database to reuse (created when missing)"
    )
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 5)
    import bench_dash

    with tempfile.TemporaryDirectory() as home:
        db = args.db or os.path.join(home, "bench.db")
        if not os.path.exists(db):
            print(f"filling {db} with 100,000 runs of 200 tasks ...", file=sys.stderr, flush=True)
            bench_dash.fill(db, 200, 100_000)
        env = {
            k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "AUTOCRON_DATABASE")
        }
        env.update(AUTOCRON_HOME=home, NO_COLOR="1")
        store = ["--store", f"sqlite:///{os.path.abspath(db)}"]
        plans: list[tuple[str, list[str], list[str] | None, float | None]] = [
            ("python -c pass (floor)", ["-c", "pass"], None, None)
        ]
        for label, cmd, big, target in CASES:
            full = [*store, *cmd] if big else cmd
            peer = ["-c", PEER, *full] if big else None
            plans.append((label, ["-m", "autocron_cli", *full], peer, target))
        for _, mine, peer, _ in plans:  # warm up: .pyc files, the page cache
            _time_once(mine, env)
            if peer:
                _time_once(peer, env)
        samples: dict[str, list[float]] = {label: [] for label, *_ in plans}
        peers: dict[str, list[float]] = {label: [] for label, _, peer, _ in plans if peer}
        for rep in range(reps):
            print(f"repetition {rep + 1}/{reps}", file=sys.stderr, flush=True)
            for label, mine, peer, _ in plans:  # interleaved: each command, then its peer
                samples[label].append(_time_once(mine, env))
                if peer:
                    peers[label].append(_time_once(peer, env))
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
    floor = statistics.median(samples["python -c pass (floor)"])
    rows, results = [], []
    for label, _, peer, target in plans:
        med = statistics.median(samples[label])
        peer_med = statistics.median(peers[label]) if peer else None
        ratio = (
            statistics.median(a / b for a, b in zip(samples[label], peers[label], strict=True))
            if peer
            else None
        )
        met = None if target is None else med <= target
        results.append({
            "case": label, "median_ms": med, "min_ms": min(samples[label]), "max_ms": max(samples[label]),
            "samples_ms": samples[label], "peer_median_ms": peer_med,
            "peer_samples_ms": peers.get(label), "ratio_to_peer": ratio, "x_python": med / floor,
            "target_ms": target, "met": met,
        })  # fmt: skip
        rows.append([
            label, f"{med:.1f}", f"{min(samples[label]):.1f}", f"{med / floor:.2f}",
            "-" if peer_med is None else f"{peer_med:.1f}", "-" if ratio is None else f"{ratio:.3f}",
            "" if target is None else f"<= {target:.0f}", "" if met is None else ("yes" if met else "NO"),
        ])  # fmt: skip
    print_table(
        f"autocron CLI, fresh processes, medians of {reps} (store: 100,000 runs of 200 tasks, SQLite)",
        ["case", "median ms", "min ms", "x python", "via SqlStore ms", "ratio", "target", "met"],
        rows,
    )
    if load:
        print(f"load average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        write_json(args.json, {"benchmark": "cli", "reps": reps, "results": results})
    return 0  # a missed target is reported above, not an error: benchmarks never assert timings


if __name__ == "__main__":
    sys.exit(main())
