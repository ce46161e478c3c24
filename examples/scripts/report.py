"""A harmless demo script: prints the time and how many files are in this folder."""

from __future__ import annotations

import datetime as _dt
import os

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    now = _dt.datetime.now().isoformat(timespec="seconds")
    print(f"{now} report: {len(os.listdir(here))} file(s) in {here}")
