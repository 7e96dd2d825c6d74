"""The cache stages of the pipeline: L1 (in process) in front of L2 (Redis) in front of the store.

Each stage serves a fresh entry, asks the next stage otherwise, and keeps what it is given. When the next
stage reports the database down, an entry past its freshness but within the stale window is served,
marked stale (RFC 8767 does the same for DNS); an entry that a write has invalidated never is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from resolver.answer import Answer
from resolver.metrics import Metrics
from resolver.pipeline import Stage, StoreUnavailable

from .coherence import Coherence
from .l1 import Entry, L1Cache
from .l2 import Lookup, RedisL2
from .redis_link import REDIS_FAILURES

log = logging.getLogger("idnode.cache")


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

    def _valid(self, name: str) -> Entry | None:
        """The entry for `name` if no write has happened to it since it was fetched."""
        entry = self._cache.get(name)
        if entry is None:
            return None
        if self._coherence.usable and entry.token == self._coherence.token(name):
            return entry
        self._cache.drop(name)
        return None

    async def resolve(self, name: str) -> Answer | None:
        now = self._clock()
        entry = self._valid(name)
        if entry is not None and entry.fresh_until > now:
            self._metrics.l1_hits += 1
            return entry.answer
        token = self._coherence.token(name)
        try:
            answer = await self._next.resolve(name)
        except StoreUnavailable:
            if entry is not None and entry.stale_until > now:
                self._metrics.stale_answers += 1
                return _stale(entry.answer)
            raise
        self._keep(name, answer, token, now)
        return answer

    async def resolve_many(self, names: Sequence[str]) -> list[Answer | None]:
        now = self._clock()
        found: dict[str, Answer | None] = {}
        missing: list[str] = []
        for name in names:
            entry = self._valid(name)
            if entry is not None and entry.fresh_until > now:
                found[name] = entry.answer
            else:
                missing.append(name)
        self._metrics.l1_hits += len(found)
        if missing:
            tokens = [self._coherence.token(name) for name in missing]
            answers = await self._next.resolve_many(missing)
            for name, token, answer in zip(missing, tokens, answers, strict=True):
                self._keep(name, answer, token, now)
                found[name] = answer
        return [found[name] for name in names]

    def _keep(self, name: str, answer: Answer | None, token: int, now: float) -> None:
        if not self._coherence.usable or (answer is not None and answer.stale):
            return
        fresh_until = self._freshness.fresh_until(answer, now)
        stale_until = fresh_until + self._freshness.stale_seconds
        self._cache.put(name, Entry.of(answer, fresh_until, stale_until, token))


class L2Stage:
    def __init__(
        self,
        next_stage: Stage,
        l2: RedisL2,
        freshness: Freshness,
        metrics: Metrics,
        *,
        retry_after: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._next = next_stage
        self._l2 = l2
        self._freshness = freshness
        self._metrics = metrics
        self._retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        # After Redis has failed, it may hold answers a write could not invalidate: L2 stays unused until the
        # journal follower has invalidated every recent change again (`ready`).
        self.ready_flag = True
        self.lost_at = 0.0
        self._filling: set[asyncio.Task[None]] = set()

    def ready(self) -> None:
        self.ready_flag = True
        self._down_until = 0.0
        self._metrics.redis_up = 1

    @property
    def available(self) -> bool:
        return self.ready_flag and self._clock() >= self._down_until

    def lost(self, exc: Exception) -> None:
        log.warning("Redis unavailable (%r); answering from the database", exc)
        self._metrics.redis_errors += 1
        self._metrics.redis_up = 0
        self.ready_flag = False
        self.lost_at = self._clock()
        self._down_until = self.lost_at + self._retry_after

    async def resolve(self, name: str) -> Answer | None:
        if not self.available:
            return await self._next.resolve(name)
        try:
            lookup = await self._l2.lookup(name)
        except REDIS_FAILURES as exc:
            self.lost(exc)
            return await self._next.resolve(name)
        now = self._clock()
        if lookup.present and lookup.fresh_until > now:
            self._metrics.l2_hits += 1
            return lookup.answer
        try:
            answer = await self._next.resolve(name)
        except StoreUnavailable:
            if lookup.present:
                self._metrics.stale_answers += 1
                return _stale(lookup.answer)
            raise
        self._fill([(name, lookup, answer)], now)
        return answer

    async def resolve_many(self, names: Sequence[str]) -> list[Answer | None]:
        if not self.available:
            return await self._next.resolve_many(names)
        try:
            lookups = await self._l2.lookup_many(names)
        except REDIS_FAILURES as exc:
            self.lost(exc)
            return await self._next.resolve_many(names)
        now = self._clock()
        found: dict[str, Answer | None] = {}
        missing: dict[str, Lookup] = {}
        for name, lookup in zip(names, lookups, strict=True):
            if lookup.present and lookup.fresh_until > now:
                found[name] = lookup.answer
            else:
                missing[name] = lookup
        self._metrics.l2_hits += len(found)
        if missing:
            answers = await self._next.resolve_many(list(missing))
            found.update(zip(missing, answers, strict=True))
            self._fill([(n, missing[n], a) for n, a in zip(missing, answers, strict=True)], now)
        return [found[name] for name in names]

    def _fill(self, items: Sequence[tuple[str, Lookup, Answer | None]], now: float) -> None:
        entries = [
            (name, lookup.generation, answer, self._freshness.fresh_until(answer, now), now)
            for name, lookup, answer in items
            if answer is None or not answer.stale
        ]
        # Filling is not on the answer's way: the client need not wait for Redis to take it.
        task = asyncio.ensure_future(self._send(entries))
        self._filling.add(task)
        task.add_done_callback(self._filling.discard)

    async def close(self) -> None:
        """Let fills under way finish, so none runs against a closed connection; then close L2's own."""
        if self._filling:
            await asyncio.gather(*self._filling, return_exceptions=True)
        await self._l2.close()

    async def _send(self, entries: list[tuple[str, str, Answer | None, float, float]]) -> None:
        try:
            await self._l2.fill_many(entries)
        except REDIS_FAILURES as exc:
            self.lost(exc)
