"""``python -m autocron``: the same command as ``autocron``."""

from __future__ import annotations

from autocron_cli.main import main

if __name__ == "__main__":
    main(prog_name="autocron")
