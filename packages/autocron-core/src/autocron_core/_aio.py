"""The scheduler's one event-loop thread for async tasks.

Every async run is a coroutine on this loop, so a thousand concurrent async
runs cost a thousand coroutines, not a thousand threads. asyncio is imported
only when the first async task runs.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any


class AsyncRunner:
    """Starts an event loop in a daemon thread on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: Any = None
        self._thread: threading.Thread | None = None

    def _ensure(self) -> Any:
        with self._lock:
            if self._loop is None:
                import asyncio

                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="autocron-async", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def submit(
        self,
        make: Callable[[], Awaitable[Any]],
        done: Callable[..., None],
        timeout: float | None,
    ) -> Callable[[], None]:
        """Run ``make()`` on the loop with an optional timeout; call ``done(error, timed_out)``
        after (``done(None, False, result)`` when it returned something other than ``None``).

        Returns:
            A function that cancels the run.
        """
        import asyncio

        loop = self._ensure()

        async def wrapper() -> None:
            try:
                awaitable = make()
                if timeout is None:
                    result = await awaitable
                else:
                    result = await asyncio.wait_for(awaitable, timeout)
            except asyncio.TimeoutError:
                done(None, True)
            except asyncio.CancelledError:
                done(None, True)
                raise
            except BaseException as exc:
                done(exc, False)
            else:
                if result is None:
                    done(None, False)
                else:
                    done(None, False, result)

        future = asyncio.run_coroutine_threadsafe(wrapper(), loop)

        def cancel() -> None:
            future.cancel()

        return cancel

    def stop(self, timeout: float | None = None) -> None:
        """Cancel what is still running and stop the loop thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return
        import asyncio

        async def cancel_all() -> None:
            current = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not current]
            if pending:
                await asyncio.wait(pending, timeout=timeout)
            for t in pending:
                t.cancel()

        import contextlib  # here, not at import: it costs start-up time

        with contextlib.suppress(Exception):  # best effort at shutdown
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(
                None if timeout is None else timeout + 1
            )
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)
