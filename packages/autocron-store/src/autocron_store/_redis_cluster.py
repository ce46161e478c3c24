"""The Redis store's cluster side: nodes, heartbeats, reaping, shared anchors, change notices.

Each decision is one Lua script (``_redis_scripts``), so Redis, which runs a
script to its end before anything else, makes it once: when several nodes
reap at once, each expired claim goes to exactly one of them. Leases are on
the server's clock (``TIME``).

Change notices go out on a pub/sub channel (``<prefix>:changes``) when a
definition is saved or deleted, like PostgreSQL's NOTIFY; ``watch`` listens on
a dedicated connection. Pub/sub is fire-and-forget: a notice sent while a node
is reconnecting is lost, and the cluster agent's poll (every 2 s) covers it.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from autocron_core.records import RunRecord

from ._redis_keys import decode_record, pairs_to_dict
from ._watcher import NoticeWatcher

if TYPE_CHECKING:
    import redis

__all__ = ["RedisClusterOps"]


#: Expired claims one reaping script takes at most (the next round takes the rest).
_REAP_LIMIT = 1000
#: Names per pipeline of ``shared_anchors``.
_ANCHOR_BATCH = 1000


def _anchor_of(stored: Any, text: Any, proposed: _dt.datetime) -> _dt.datetime:
    """The anchor a ``SHARED_ANCHOR`` reply gives: from a stored definition, or the anchor kept."""
    value = json.loads(text).get("anchor") if int(stored) else text
    # A stored task without an anchor (a cron task of that name): nothing to share.
    return proposed if value is None else _dt.datetime.fromisoformat(value)


class RedisClusterOps:
    """Mixed into ``RedisStore``: what makes it a ``ClusterStore``."""

    # Set or provided by RedisStore.
    keys: str
    lease_seconds: float
    client: redis.Redis
    _call: Callable[..., Any]
    _run: Callable[[str, Sequence[Any]], Any]
    _scripts: dict[str, Any]

    def register_node(self, node_id: str) -> None:
        """Record that ``node_id`` started now (a restarted node id starts afresh)."""
        self._call(f"registering node {node_id!r}", lambda _: self._run("REGISTER", [node_id]))

    def heartbeat(self, node_id: str) -> None:
        """Record that ``node_id`` is alive and extend the lease of each of its running claims."""
        args = [node_id, json.dumps(node_id), int(self.lease_seconds * 1000)]
        self._call(f"recording the heartbeat of node {node_id!r}", lambda _: self._run("HEARTBEAT", args))

    def live_nodes(self) -> list[str]:
        """The ids of nodes whose last heartbeat is younger than a lease, sorted."""
        nodes = self._call(
            "listing the live nodes", lambda _: self._run("LIVE_NODES", [int(self.lease_seconds * 1000)])
        )
        return sorted(str(node) for node in nodes)

    def unregister_node(self, node_id: str) -> None:
        """Forget ``node_id``: it stopped cleanly (claims it still holds expire with their lease)."""
        self._call(f"unregistering node {node_id!r}", lambda _: self._run("UNREGISTER", [node_id]))

    def reap_abandoned(self, node_id: str, tasks: Collection[str] | None = None) -> list[RunRecord]:
        """Mark ``abandoned`` every other node's running claim whose lease expired; return those.

        One script takes each claim only while it is still running with an
        expired lease, so when several nodes reap at once each claim goes to
        exactly one. A token lets a retry after a lost reply get back what the
        first try marked. With ``tasks``, only claims of those tasks are taken.
        """
        token = uuid.uuid4().hex[:8]
        error = f"abandoned: its node stopped renewing the lease; taken over by {node_id} [{token}]"
        names = [] if tasks is None else list(tasks)
        args = [
            json.dumps(node_id),
            json.dumps(error),
            token,
            _REAP_LIMIT,
            -1 if tasks is None else len(names),
        ]
        rows = self._call("reaping abandoned claims", lambda _: self._run("REAP", [*args, *names]))
        return [decode_record(pairs_to_dict(row[1:])) for row in rows]

    def shared_anchor(self, name: str, anchor: _dt.datetime) -> _dt.datetime:
        """The anchor every node counts task ``name``'s interval from; the first one stored wins.

        A stored (script or command) task's anchor is part of its definition; a
        function task's is kept beside the definitions (``<prefix>:anchor``).
        """
        stored, text = self._call(
            f"reading the shared anchor of task {name!r}",
            lambda _: self._run("SHARED_ANCHOR", [name, anchor.isoformat()]),
        )
        return _anchor_of(stored, text, anchor)

    def shared_anchors(self, anchors: Mapping[str, _dt.datetime]) -> dict[str, _dt.datetime]:
        """``shared_anchor`` for many tasks at once: the scripts go in one pipeline per 1,000 names.

        Each script is atomic on its own, so the first anchor stored still wins;
        a retry after a lost reply reads back what the first try stored.
        """
        names = sorted(anchors)
        shared: dict[str, _dt.datetime] = {}
        script = self._scripts["SHARED_ANCHOR"]
        for start in range(0, len(names), _ANCHOR_BATCH):
            chunk = names[start : start + _ANCHOR_BATCH]

            def body(_: int, chunk: list[str] = chunk) -> list[Any]:
                with self.client.pipeline(transaction=False) as pipe:
                    for name in chunk:
                        script(keys=[], args=[self.keys, name, anchors[name].isoformat()], client=pipe)
                    return pipe.execute()

            replies = self._call(f"reading the shared anchors of {len(chunk)} task(s)", body)
            for name, (stored, text) in zip(chunk, replies, strict=True):
                shared[name] = _anchor_of(stored, text, anchors[name])
        return shared

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` whenever a task definition changes (any process, any node).

        Returns:
            A function that stops watching.
        """
        return _Watcher(self.client, f"{self.keys}changes", callback).stop


class _Watcher(NoticeWatcher):
    """A daemon thread subscribed to the change channel, calling ``callback`` per notice."""

    thread_name = "autocron-redis-watch"

    def __init__(self, client: redis.Redis, channel: str, callback: Callable[[], None]) -> None:
        self._client = client
        self._channel = channel
        super().__init__(callback)

    def _open(self) -> Any:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self._channel)
        except BaseException:
            pubsub.close()
            raise
        return pubsub

    def _notices(self, conn: Any) -> Iterable[object]:
        message = conn.get_message(timeout=1.0)
        return () if message is None else (message,)

    def _close(self, conn: Any) -> None:
        conn.close()
