"""Connections to Redis or a Redis Cluster, from one URL.

`redis://host:port/db` (or `rediss://`, `unix://`) is one server; `redis+cluster://host:port,host:port` names
startup nodes of a cluster. Cache commands go through `data`; coherence messages use one plain connection to
the server (on a cluster: the node that owns the coherence channel's slot), so that every process publishes
and subscribes at the same place and PUBLISH counts every subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException, RedisError

CLUSTER_SCHEME = "redis+cluster://"
# Everything a Redis call may raise when Redis is unreachable or unwell (cluster errors are not RedisErrors).
REDIS_FAILURES: tuple[type[Exception], ...] = (RedisError, RedisClusterException, OSError)
# Fail fast: a slow Redis must not hold up answers the database could give.
_TIMEOUTS: dict[str, Any] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}


def _startup_nodes(url: str) -> list[ClusterNode]:
    nodes = []
    for part in url[len(CLUSTER_SCHEME) :].split("/")[0].split(","):
        parsed = urlsplit(f"redis://{part}")
        nodes.append(ClusterNode(parsed.hostname or "127.0.0.1", parsed.port or 6379))
    return nodes


@dataclass
class RedisLink:
    url: str
    data: Redis | RedisCluster
    _listener: Redis | None = field(default=None, repr=False)
    _startup: list[ClusterNode] = field(default_factory=list, repr=False)

    @classmethod
    def open(cls, url: str) -> RedisLink:
        if url.startswith(CLUSTER_SCHEME):
            startup = _startup_nodes(url)
            return cls(url, RedisCluster(startup_nodes=startup, **_TIMEOUTS), _startup=startup)
        return cls(url, Redis.from_url(url, **_TIMEOUTS))

    async def channel_client(self, channel: str) -> Redis:
        """A connection to publish and subscribe on `channel` (it waits for messages: no read timeout)."""
        if self._listener is None:
            if isinstance(self.data, RedisCluster):
                await self.data.initialize()
                node = self.data.get_node_from_key(channel)
                if node is None:
                    raise RedisClusterException(f"no cluster node serves {channel}")
                self._listener = Redis(host=node.host, port=int(node.port), health_check_interval=5)
            else:
                self._listener = Redis.from_url(self.url, health_check_interval=5)
        return self._listener

    async def forget_channel_client(self) -> None:
        """Drop the channel connection, so the next one finds the (maybe moved) owner again."""
        if self._listener is not None:
            await self._listener.aclose()
            self._listener = None

    async def close(self) -> None:
        await self.forget_channel_client()
        await self.data.aclose()
        # The cluster client may set the nodes it was started from aside without closing them.
        for node in self._startup:
            await node.disconnect()
