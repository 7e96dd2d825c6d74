"""L2: answers shared by every process through Redis (or a Redis Cluster).

A handle's entry is one hash: `v` the canonical record (`-` for "not found"), `t` its TTL, `p` 1 when all its
values are public, `f` until when it is fresh (ms), and `g` a generation that every write increments. A
reader keeps the generation it saw on a miss and fills the entry only if it is unchanged (one Lua script), so
an answer read from the database just before a write can never be cached after that write's invalidation.
Entries outlive their freshness by the stale window, to be served (marked stale) while the database is down.

Lookups made in the same instant by different requests go to Redis together, as one pipeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from resolver.answer import Answer
from resolver.batching import Batcher

from .pipelined import PipelinedConnection
from .redis_link import RedisLink

NOT_FOUND = b"-"
_FIELDS = ("v", "t", "f", "g", "p")
_FILL = """
if (redis.call('HGET', KEYS[1], 'g') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 't', ARGV[3], 'f', ARGV[4], 'p', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""
# One call for a whole write batch: a thousand handles are a thousand keys here, where a pipeline would be
# three thousand commands packed and parsed by redis-py on the event loop.
_INVALIDATE = """
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'g', 1)
  redis.call('HDEL', key, 'v')
  redis.call('PEXPIRE', key, ARGV[1])
end
return #KEYS
"""
INVALIDATE_CHUNK = 1_000  # keys a script call: each call holds Redis for well under a millisecond


# name, generation seen on the miss, answer (None: not found), fresh until, now (epoch seconds)
Fill = tuple[str, str, Answer | None, float, float]


@dataclass(frozen=True, slots=True)
class Lookup:
    """What L2 holds for a handle: `present`, its answer and freshness, and the generation to fill with."""

    present: bool
    answer: Answer | None
    fresh_until: float
    generation: str

    @classmethod
    def parse(cls, row: Sequence[bytes | None]) -> Lookup:
        value, ttl, fresh, generation, public = row
        token = generation.decode() if generation else ""
        if value is None:
            return cls(False, None, 0.0, token)
        answer = None if value == NOT_FOUND else Answer(value, int(ttl or 0), public == b"1")
        return cls(True, answer, int(fresh or 0) / 1000, token)


class RedisL2:
    def __init__(self, link: RedisLink, *, namespace: str, stale_seconds: int) -> None:
        self._link = link
        # Lookups and fills, the read path's part, take the lean connection where the server allows it.
        self._lookups = PipelinedConnection(link.url) if link.url.startswith("redis://") else None
        self._prefix = f"{namespace}:r:"
        self._stale_ms = stale_seconds * 1000
        self._batcher: Batcher[Lookup] = Batcher(self._fetch)
        self._script_sha: str | None = None
        # EVALSHA, loading the script again if Redis forgot it; a cluster's scripts may touch one slot only.
        data = link.data
        self._invalidate = None if isinstance(data, RedisCluster) else data.register_script(_INVALIDATE)

    def key(self, name: str) -> str:
        return self._prefix + name

    async def lookup(self, name: str) -> Lookup:
        return await asyncio.shield(self._batcher.get(self.key(name)))

    async def lookup_many(self, names: Sequence[str]) -> list[Lookup]:
        return await self._fetch([self.key(name) for name in names])

    async def _fetch(self, keys: list[str]) -> list[Lookup]:
        if self._lookups is not None:
            return [Lookup.parse(row) for row in await self._lookups.hmget_many(keys, _FIELDS)]
        async with self._link.data.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key, _FIELDS)
            rows = await pipe.execute()
        return [Lookup.parse(row) for row in rows]

    async def fill_many(self, items: Sequence[Fill]) -> None:
        """Store `(name, generation, answer, fresh_until, now)` entries whose generation is unchanged."""
        if not items:
            return
        sha = await self._sha()
        try:
            await self._send_fills(sha, items)
        except NoScriptError:  # Redis restarted and forgot the script
            self._script_sha = None
            await self._send_fills(await self._sha(), items)

    def _fill_args(self, item: Fill) -> tuple[bytes, ...]:
        name, generation, answer, fresh_until, now = item
        value = NOT_FOUND if answer is None else answer.record
        ttl = 0 if answer is None else answer.ttl
        public = b"1" if answer is None or answer.public else b"0"
        keep_ms = max(int((fresh_until - now) * 1000) + self._stale_ms, 1)
        numbers = (ttl, int(fresh_until * 1000), keep_ms)
        return (self.key(name).encode(), generation.encode(), value, *(b"%d" % n for n in numbers), public)

    async def _send_fills(self, sha: str, items: Sequence[Fill]) -> None:
        if self._lookups is not None:
            script = sha.encode()
            await self._lookups.call_many([(b"EVALSHA", script, b"1", *self._fill_args(i)) for i in items])
            return
        data = self._link.data
        if isinstance(data, RedisCluster):
            # A cluster pipeline refuses scripts: each fill goes to its key's node, a few at a time.
            for start in range(0, len(items), 64):
                chunk = items[start : start + 64]
                await asyncio.gather(*(data.evalsha(sha, 1, *self._fill_args(item)) for item in chunk))
            return
        async with data.pipeline(transaction=False) as pipe:
            for item in items:
                pipe.evalsha(sha, 1, *self._fill_args(item))
            await pipe.execute()

    async def _sha(self) -> str:
        if self._script_sha is None:
            self._script_sha = str(await self._link.data.script_load(_FILL))
        return self._script_sha

    async def ping(self) -> None:
        """Raise unless Redis answers now."""
        await self._link.data.ping()

    async def invalidate(self, names: Sequence[str]) -> None:
        """Make every entry of `names` a miss and every fill begun before now fail. Raises on Redis errors."""
        if not names:
            return
        keep_ms = self._stale_ms + 3_600_000
        if self._invalidate is None:  # a cluster: each command goes to its key's node
            async with self._link.data.pipeline(transaction=False) as pipe:
                for name in names:
                    key = self.key(name)
                    pipe.hincrby(key, "g", 1)
                    pipe.hdel(key, "v")
                    pipe.pexpire(key, keep_ms)
                await pipe.execute()
            return
        for start in range(0, len(names), INVALIDATE_CHUNK):
            keys = [self.key(name) for name in names[start : start + INVALIDATE_CHUNK]]
            await self._invalidate(keys=keys, args=[keep_ms])

    async def close(self) -> None:
        """Close the lookup connection (the link is its owner's to close)."""
        if self._lookups is not None:
            await self._lookups.close()
