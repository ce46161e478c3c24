"""The ``autocron`` subcommands, one module per family; ``main.COMMANDS`` maps names to them."""

from __future__ import annotations
