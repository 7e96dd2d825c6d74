"""Keeping caches from serving what a write changed.

A write is invalidated at once, before its client is answered: this process's tokens and L1, then Redis
(L2), then every other process (`Coherence.announce`) — the `idnode` command does the same for the writes it
makes on the database. The registry's change feed calls `Invalidator.changed`; the journal behind that feed
is the record of last resort: every process follows it and checks the answers it holds for the keys it finds
against the database, dropping those that differ (a change nobody announced); and after Redis has failed it
re-invalidates in Redis every change of the last minutes before the shared cache is used again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from registry import JournalCursor

from .answer import Answer
from .cache.coherence import Coherence
from .cache.l1 import L1Cache
from .cache.l2 import RedisL2
from .cache.redis_link import REDIS_FAILURES
from .health import RedisHealth
from .metrics import Metrics

log = logging.getLogger("idnode.invalidation")

Reader = Callable[[Sequence[str]], Awaitable[dict[str, str]]]
ChangedSince = Callable[[datetime], Awaitable[list[str]]]

CATCH_UP_WINDOW = timedelta(minutes=2)  # longer than any write transaction takes to commit and invalidate


class Invalidator:
    def __init__(
        self,
        coherence: Coherence,
        *,
        l1: L1Cache | None = None,
        l2: RedisL2 | None = None,
        redis: RedisHealth | None = None,
    ) -> None:
        self._coherence = coherence
        self._l1 = l1
        self._l2 = l2
        self._redis = redis

    async def changed(self, keys: Sequence[str]) -> None:
        """A write of this node committed: no cache anywhere may serve the old answers once this returns."""
        self.forget(keys)
        await self.invalidate_l2(keys)
        await self._coherence.announce(keys)

    def forget(self, keys: Sequence[str]) -> None:
        """Drop answers from this process's cache and bump their tokens for whoever shares them."""
        self._coherence.changed_here(keys)
        self.forget_remote(keys)

    def forget_remote(self, keys: Sequence[str] | None) -> None:
        """Drop answers another process changed (None: all of them); their tokens were bumped already."""
        if self._l1 is None:
            return
        if keys is None:
            self._l1.clear()
            return
        for key in keys:
            self._l1.drop(key)

    async def reconcile(self, keys: Sequence[str], read: Reader) -> None:
        """Drop the cached answers of `keys` that no longer match the database."""
        if self._l1 is None:
            return
        cached = {key: entry for key in keys if (entry := self._l1.peek(key)) is not None}
        if not cached:
            return
        stored = await read(list(cached))
        now = {key: Answer.from_stored(stored[key]).record if key in stored else None for key in cached}
        differ = [key for key, entry in cached.items() if entry.record != now[key]]
        if differ:
            log.info("the journal shows %d changes nobody announced; dropping them", len(differ))
            self.forget(differ)

    @property
    def shares_answers(self) -> bool:
        """Whether answers are shared through Redis (L2), which must then be caught up after an outage."""
        return self._l2 is not None

    async def invalidate_l2(self, keys: Sequence[str]) -> bool:
        """Invalidate in Redis; False when Redis failed (its health then keeps the shared cache unused until
        the journal follower has invalidated the recent changes again)."""
        if self._l2 is None:
            return True
        try:
            # Even with nothing to invalidate, Redis must answer: the caller takes True for "Redis is back".
            await (self._l2.invalidate(keys) if keys else self._l2.ping())
        except REDIS_FAILURES as exc:
            log.warning(
                "could not invalidate %d answers in Redis (%r); the journal will retry", len(keys), exc
            )
            if self._redis is not None:
                self._redis.failed(exc)
            return False
        return True


class JournalFollower:
    """Reads the change journal every `interval` seconds and invalidates what it finds."""

    def __init__(
        self,
        cursor: JournalCursor,
        *,
        read: Reader,
        changed_since: ChangedSince,
        invalidator: Invalidator,
        metrics: Metrics,
        redis: RedisHealth | None,
        interval: float,
    ) -> None:
        self._cursor = cursor
        self._read = read
        self._changed_since = changed_since
        self._invalidator = invalidator
        self._metrics = metrics
        self._redis = redis
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._cursor.start()
        self._task = asyncio.create_task(self._run(), name="journal-follower")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.poll()
            except Exception as exc:  # a database hiccup must not end the follower
                log.warning("reading the change journal failed: %r", exc)

    async def poll(self) -> None:
        """One pass: check the answers held for every change not seen yet; catch Redis up if it failed."""
        fresh = await self._cursor.poll()
        if fresh:
            await self._invalidator.reconcile(sorted({c.handle for c in fresh}), self._read)
            self._metrics.journal_changes_seen += len(fresh)
        if (
            self._redis is not None
            and self._redis.behind_since is not None
            and self._invalidator.shares_answers
        ):
            since = datetime.fromtimestamp(self._redis.behind_since, UTC) - CATCH_UP_WINDOW
            keys = await self._changed_since(since)
            if await self._invalidator.invalidate_l2(keys):
                log.info("Redis caught up with %d changes; answering from it again", len(keys))
                self._redis.caught_up()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
