"""The agent that keeps a scheduler a good member of a cluster sharing one store.

Only schedulers on a ``ClusterStore`` (PostgreSQL) run it. Every
``lease_seconds / 3`` it heartbeats (renewing the leases of this node's running
claims), reaps claims whose node died (a live node marks them ``abandoned``
and retries them if the task has retries left), tells the engine which nodes
are alive (they split the occurrences between them), and picks up task
definitions that other nodes or the CLI added, changed or removed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from ._lazylog import LazyLogger

if TYPE_CHECKING:
    from .protocols import ClusterStore
    from .scheduler import AutoCron

logger = LazyLogger("autocron.cluster")

#: Seconds between looks at the store for definitions changed elsewhere.
SYNC_INTERVAL = 2.0


class ClusterAgent:
    """A daemon thread doing a scheduler's cluster duties until stopped."""

    def __init__(self, scheduler: AutoCron, store: ClusterStore) -> None:
        self._scheduler = scheduler
        self.store = store
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by the store's change notices, and by stop()
        self._unwatch: Any = None
        self._started = False
        self._thread: threading.Thread | None = None
        self.period = max(0.1, store.lease_seconds / 3)

    def start(self) -> None:
        """Register the node and begin heartbeating."""
        self._started = True
        self.store.register_node(self._scheduler.node_id)
        try:
            self.refresh_peers()
        except Exception:
            logger.warning("could not list the live nodes; claiming every occurrence for now", exc_info=True)
        self._stop.clear()
        watch = getattr(self.store, "watch", None)  # optional: PostgreSQL LISTEN/NOTIFY
        if callable(watch):
            try:
                self._unwatch = watch(self._wake.set)
            except Exception:
                logger.warning("could not watch the store for changes; polling instead", exc_info=True)
        self._thread = threading.Thread(target=self._run, name="autocron-cluster", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop heartbeating and record a clean stop (nothing when it never started)."""
        if not self._started:
            return
        self._started = False
        self._stop.set()
        self._wake.set()
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._thread is not None:
            self._thread.join(10)
        self._scheduler.set_peers(None)
        try:
            self.store.unregister_node(self._scheduler.node_id)
        except Exception:
            logger.exception("could not unregister node %s", self._scheduler.node_id)

    def _run(self) -> None:
        # Heartbeat and reap every lease/3; sync definitions every SYNC_INTERVAL,
        # or at once when the store sends a change notice (PostgreSQL).
        next_tick = time.monotonic() + self.period
        next_sync = time.monotonic() + SYNC_INTERVAL
        while True:
            noticed = self._wake.wait(max(0.0, min(next_tick, next_sync) - time.monotonic()))
            if self._stop.is_set():
                return
            self._wake.clear()
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + self.period
                self.tick()
            if noticed or now >= next_sync:
                next_sync = now + SYNC_INTERVAL
                try:
                    self.refresh_peers()  # a node that joins gets its share within SYNC_INTERVAL
                    self._scheduler.sync_with_store()
                except Exception:
                    logger.exception("could not sync task definitions from the store")

    def refresh_peers(self) -> None:
        """Tell the engine which nodes are alive, when the store can say (``live_nodes``)."""
        live = getattr(self.store, "live_nodes", None)
        if callable(live):
            self._scheduler.set_peers(list(live()))

    def tick(self) -> None:
        """One round: heartbeat, then reap and retry what dead nodes left behind."""
        node = self._scheduler.node_id
        try:
            self.store.heartbeat(node)
            # Reap only what this node can retry: a function task registered on
            # other nodes only is theirs to take over.
            reaped = self.store.reap_abandoned(node, self._scheduler.task_names())
            self.refresh_peers()
        except Exception:
            # A dropped connection: the next round tries again; claims stay valid
            # until their lease runs out, which is what makes this safe.
            logger.warning("cluster heartbeat of node %s failed; retrying", node, exc_info=True)
            return
        for record in reaped:
            logger.warning(
                "task %r: the node %s running occurrence %s (attempt %d) died; marked abandoned",
                record.task,
                record.node_id,
                record.scheduled_for.isoformat(),
                record.attempt,
            )
            self._scheduler._retry_abandoned(record)
