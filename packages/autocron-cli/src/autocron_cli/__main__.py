"""``python -m autocron_cli``: the ``autocron`` command (what OS scheduler entries run)."""

from __future__ import annotations

from autocron_cli.main import main

if __name__ == "__main__":
    main(prog_name="autocron")
