"""A demo script that fails about half the time, to show retries in the history."""

from __future__ import annotations

import random
import sys

if __name__ == "__main__":
    if random.random() < 0.5:
        print("flaky: failed this time", file=sys.stderr)
        sys.exit(1)
    print("flaky: succeeded")
