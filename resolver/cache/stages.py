"""The cache stages of the pipeline: L1 (in process) in front of L2 (Redis) in front of the store.

Each stage serves a fresh entry, asks the next stage otherwise, and keeps what it is given. When the next
stage reports the database down, an entry past its freshness but within the stale window is served,
marked stale (RFC 8767 does the same for DNS); an entry that a write has invalidated never is. L1 also keeps
the rendering of each answer that the query's front end asked for, so a hot hit sends ready bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from resolver.answer import Answer
from resolver.batching import Gathered
from resolver.health import RedisHealth
from resolver.metrics import Metrics
from resolver.pipeline import Stage, StoreUnavailable
from resolver.query import Query

from .coherence import Coherence
from .l1 import Entry, L1Cache
from .l2 import Fill, Lookup, RedisL2
from .redis_link import REDIS_FAILURES


class Freshness:
    """How long answers stay fresh, and how long after that they may stand in for a database that is down."""

    def __init__(self, *, max_ttl: int, negative_ttl: int, stale_seconds: int) -> None:
        self.max_ttl = max_ttl
        self.negative_ttl = negative_ttl
        self.stale_seconds = stale_seconds

    def fresh_until(self, answer: Answer | None, now: float) -> float:
        ttl = self.negative_ttl if answer is None else min(answer.ttl, self.max_ttl)
        return now + ttl


def _stale(answer: Answer | None) -> Answer | None:
    return None if answer is None else answer.as_stale()


class L1Stage:
    def __init__(
        self,
        next_stage: Stage,
        cache: L1Cache,
        coherence: Coherence,
        freshness: Freshness,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._next = next_stage
        self._cache = cache
        self._coherence = coherence
        self._freshness = freshness
        self._metrics = metrics
        self._clock = clock

    def _valid(self, key: str) -> Entry | None:
        """The entry for `key` if no write has happened to it since it was fetched.

        While coherence is not usable (Redis down) nobody can tell, so none is; but entries are kept, not
        dropped, to stand in for the database should it go down too (`_stale`): no write can happen then.
        The journal follower drops those that changed meanwhile; coherence clears them all on recovery.
        """
        entry = self._cache.get(key)
        if entry is None or not self._coherence.usable:
            return None
        if entry.token == self._coherence.token(key):
            return entry
        self._cache.drop(key)
        return None

    def _stale(self, query: Query, entry: Entry | None, now: float) -> Answer | None:
        """`entry` served stale, if it may stand in for a database that is down: within the stale window, and
        not changed by a write while the database was being asked. With coherence down, what is kept stands
        in."""
        usable = self._coherence.usable
        if not usable:
            entry = self._cache.peek(query.key)
        if (
            entry is None
            or entry.stale_until <= now
            or (usable and entry.token != self._coherence.token(query.key))
        ):
            raise StoreUnavailable("the database is down and nothing cached may stand in")
        self._metrics.stale_answers += 1
        return _stale(self._hit(query, entry))

    def _hit(self, query: Query, entry: Entry) -> Answer | None:
        answer = entry.answer
        if answer is not None:
            answer.keeper, answer.key = self, query.key
        return answer

    def kept(self, key: str, answer: Answer) -> None:
        """A front end made a rendering of `answer`: keep it with the entry, if that still holds `answer`."""
        entry = self._cache.peek(key)
        if entry is not None and entry.record is answer.record:
            self._cache.put(key, entry._replace(renderings=answer.renderings))

    def ready(self, query: Query) -> Answer | None:
        """A fresh, valid answer held here (not a cached "not found": that one `resolve` tells)."""
        entry = self._valid(query.key)
        if entry is None or entry.record is None or entry.fresh_until <= self._clock():
            return None
        self._metrics.l1_hits += 1
        return self._hit(query, entry)

    def keep(self, query: Query, answer: Answer) -> None:
        self._keep(query.key, answer, self._coherence.token(query.key), self._clock())

    async def resolve(self, query: Query) -> Answer | None:
        now = self._clock()
        entry = self._valid(query.key)
        if entry is not None and entry.fresh_until > now:
            self._metrics.l1_hits += 1
            return self._hit(query, entry)
        token = self._coherence.token(query.key)
        try:
            answer = await self._next.resolve(query)
        except StoreUnavailable as exc:
            try:
                return self._stale(query, entry, now)
            except StoreUnavailable:
                raise exc from None
        self._keep(query.key, answer, token, now)
        return answer

    async def resolve_many(self, queries: Sequence[Query]) -> list[Answer | None]:
        now = self._clock()
        found: dict[str, Answer | None] = {}
        missing: list[Query] = []
        held: dict[str, Entry | None] = {}
        for query in queries:
            entry = held[query.key] = self._valid(query.key)
            if entry is not None and entry.fresh_until > now:
                found[query.key] = self._hit(query, entry)
            else:
                missing.append(query)
        self._metrics.l1_hits += len(found)
        if missing:
            tokens = [self._coherence.token(query.key) for query in missing]
            try:
                answers = await self._next.resolve_many(missing)
            except StoreUnavailable:
                # All or nothing: the batch is answered stale only if every miss may stand in.
                stale = {query.key: self._stale(query, held[query.key], now) for query in missing}
                return [found.get(query.key, stale.get(query.key)) for query in queries]
            for query, token, answer in zip(missing, tokens, answers, strict=True):
                self._keep(query.key, answer, token, now)
                found[query.key] = answer
        return [found[query.key] for query in queries]

    def _keep(self, key: str, answer: Answer | None, token: int, now: float) -> None:
        if answer is not None and answer.stale:
            return
        # Read while coherence is down: never fresh here, but the latest to stand in for the database.
        fresh_until = self._freshness.fresh_until(answer, now) if self._coherence.usable else now
        stale_until = fresh_until + self._freshness.stale_seconds
        self._cache.put(key, Entry.of(answer, fresh_until, stale_until, token))
        if answer is not None:
            answer.keeper, answer.key = self, key


class L2Stage:
    """Redis, used while its `health` says the shared cache is usable (answering, and caught up after an
    outage with the changes it may have missed)."""

    def __init__(
        self,
        next_stage: Stage,
        l2: RedisL2,
        freshness: Freshness,
        metrics: Metrics,
        health: RedisHealth,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._next = next_stage
        self._l2 = l2
        self._freshness = freshness
        self._metrics = metrics
        self._health = health
        self._clock = clock
        self._fills: Gathered[Fill] = Gathered(self._send)

    @property
    def _usable(self) -> bool:
        return self._health.cache_usable and self._health.worth_trying

    async def resolve(self, query: Query) -> Answer | None:
        if not self._usable:
            return await self._next.resolve(query)
        try:
            lookup = await self._l2.lookup(query.key)
        except REDIS_FAILURES as exc:
            self._health.failed(exc)
            return await self._next.resolve(query)
        now = self._clock()
        if lookup.present and lookup.fresh_until > now:
            self._metrics.l2_hits += 1
            return lookup.answer
        try:
            answer = await self._next.resolve(query)
        except StoreUnavailable:
            if lookup.present and await self._still(query.key, lookup):
                self._metrics.stale_answers += 1
                return _stale(lookup.answer)
            raise
        self._fill([(query.key, lookup, answer)], now)
        return answer

    async def _still(self, key: str, lookup: Lookup) -> bool:
        """Whether Redis still holds what `lookup` found: no write invalidated it while the database was being
        asked (only on the way to a stale answer, when the database is down)."""
        try:
            again = await self._l2.lookup(key)
        except REDIS_FAILURES as exc:
            self._health.failed(exc)
            return False
        return again.present and again.generation == lookup.generation

    async def resolve_many(self, queries: Sequence[Query]) -> list[Answer | None]:
        if not self._usable:
            return await self._next.resolve_many(queries)
        try:
            lookups = await self._l2.lookup_many([query.key for query in queries])
        except REDIS_FAILURES as exc:
            self._health.failed(exc)
            return await self._next.resolve_many(queries)
        now = self._clock()
        found: dict[str, Answer | None] = {}
        missing: dict[str, tuple[Query, Lookup]] = {}
        for query, lookup in zip(queries, lookups, strict=True):
            if lookup.present and lookup.fresh_until > now:
                found[query.key] = lookup.answer
            else:
                missing[query.key] = (query, lookup)
        self._metrics.l2_hits += len(found)
        if missing:
            answers = await self._next.resolve_many([query for query, _ in missing.values()])
            found.update(zip(missing, answers, strict=True))
            self._fill([(k, missing[k][1], a) for k, a in zip(missing, answers, strict=True)], now)
        return [found[query.key] for query in queries]

    def _fill(self, items: Sequence[tuple[str, Lookup, Answer | None]], now: float) -> None:
        """Keep what the next stage answered, in Redis, once the loop is next idle: the client need not wait
        for Redis to take it, and the fills of one instant go as one pipeline."""
        self._fills.add(
            (key, lookup.generation, answer, self._freshness.fresh_until(answer, now), now)
            for key, lookup, answer in items
            if answer is None or not answer.stale
        )

    async def close(self) -> None:
        """Let fills under way finish, so none runs against a closed connection; then close L2's own."""
        await self._fills.drain()
        await self._l2.close()

    async def _send(self, entries: list[Fill]) -> None:
        try:
            await self._l2.fill_many(entries)
        except REDIS_FAILURES as exc:
            self._health.failed(exc)
