"""Loggers fetched on first use, so that ``import autocron_core`` does not import logging.

Importing ``logging`` also imports traceback, linecache, tokenize, textwrap,
string and weakref: about 10 ms on a 2-core machine, a quarter of the import
budget. Modules loaded by ``import autocron_core`` keep a ``LazyLogger`` at
module level instead; the engine binds the real logger when a scheduler is
made, so a run pays no indirection.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)


if TYPE_CHECKING:
    import logging
    from typing import Any

__all__ = ["LazyLogger"]

# logging's levels, without importing logging for them.
DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40


class LazyLogger:
    """Stands for ``logging.getLogger(name)``; every attribute comes from the real one."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: logging.Logger | None = None

    def get(self) -> logging.Logger:
        """The real logger (imports logging the first time)."""
        if self._logger is None:
            import logging

            self._logger = logging.getLogger(self._name)
        return self._logger

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.get(), attr)
