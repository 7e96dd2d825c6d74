"""Keeping caches from serving what a write changed.

A write is invalidated at once, before its client is answered: this process's tokens and L1, then Redis
(L2), then every other process (`Coherence.announce`) — the `idnode` command does the same for the writes it
makes on the database. The change journal is the record behind that fast path: every process follows it and
checks the answers it holds for the handles it finds against the database, dropping those that differ (a
change nobody announced); and after Redis has failed it re-invalidates in Redis every change of the last
minutes before it uses L2 again (a write whose invalidation Redis missed is among them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from registry import Store
from registry.store import journal

from .answer import Answer
from .cache.coherence import Coherence
from .cache.l1 import L1Cache
from .cache.l2 import RedisL2
from .cache.redis_link import REDIS_FAILURES
from .cache.stages import L2Stage
from .metrics import Metrics

log = logging.getLogger("idnode.invalidation")

Reader = Callable[[Sequence[str]], Awaitable[dict[str, str]]]

GAP_PATIENCE = 10.0  # how long a missing journal number may still turn up (a transaction not yet committed)
CATCH_UP_WINDOW = timedelta(minutes=2)  # longer than any write transaction takes to commit and invalidate


class Invalidator:
    def __init__(
        self,
        coherence: Coherence,
        metrics: Metrics,
        *,
        l1: L1Cache | None = None,
        l2: RedisL2 | None = None,
        l2_stage: L2Stage | None = None,
    ) -> None:
        self._coherence = coherence
        self._metrics = metrics
        self._l1 = l1
        self._l2 = l2
        self._l2_stage = l2_stage

    async def changed(self, names: Sequence[str]) -> None:
        """A write of this node committed: no cache anywhere may serve the old answers once this returns."""
        self.forget(names)
        await self.invalidate_l2(names)
        await self._coherence.announce(names)

    def forget(self, names: Sequence[str] | None) -> None:
        """Drop answers from this process's cache (None: all of them)."""
        if names is None:
            if self._l1 is not None:
                self._l1.clear()
            return
        self._coherence.changed_here(names)
        if self._l1 is not None:
            for name in names:
                self._l1.drop(name)

    async def reconcile(self, names: Sequence[str], read: Reader) -> None:
        """Drop the cached answers of `names` that no longer match the database."""
        if self._l1 is None:
            return
        cached = {name: entry for name in names if (entry := self._l1.peek(name)) is not None}
        if not cached:
            return
        stored = await read(list(cached))
        now = {name: Answer.from_stored(stored[name]).encoded if name in stored else None for name in cached}
        differ = [name for name, entry in cached.items() if entry.encoded != now[name]]
        if differ:
            log.info("the journal shows %d changes nobody announced; dropping them", len(differ))
            self.forget(differ)

    def forget_remote(self, names: Sequence[str] | None) -> None:
        """Another process's write (its tokens were bumped by the coherence channel already)."""
        if self._l1 is None:
            return
        if names is None:
            self._l1.clear()
        else:
            for name in names:
                self._l1.drop(name)

    async def invalidate_l2(self, names: Sequence[str]) -> bool:
        """Invalidate in Redis; False (and L2 unused until the journal is caught up) when Redis failed."""
        if self._l2 is None or not names:
            return True
        try:
            await self._l2.invalidate(names)
        except REDIS_FAILURES as exc:
            log.warning(
                "could not invalidate %d answers in Redis (%r); the journal will retry", len(names), exc
            )
            self._metrics.redis_errors += 1
            if self._l2_stage is not None:
                self._l2_stage.lost(exc)
            return False
        return True

    @property
    def l2_behind_since(self) -> float | None:
        """When Redis was last found failing, if L2 has not been caught up with since (epoch seconds)."""
        if self._l2_stage is None or self._l2_stage.ready_flag:
            return None
        return self._l2_stage.lost_at

    def l2_caught_up(self) -> None:
        if self._l2_stage is not None:
            self._l2_stage.ready()


class JournalFollower:
    """Reads the change journal every `interval` seconds and invalidates what it finds."""

    def __init__(self, store: Store, invalidator: Invalidator, metrics: Metrics, *, interval: float) -> None:
        self._engine = store.reader
        self._read = store.points.many
        self._invalidator = invalidator
        self._metrics = metrics
        self._interval = interval
        self._seen = 0
        # Numbers below the newest seen that have not shown up yet: PostgreSQL hands out sequence numbers
        # before commit, so a slower transaction may still commit one.
        self._gaps: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        async with self._engine.connect() as conn:
            self._seen = await journal.latest(conn)
        self._task = asyncio.create_task(self._run(), name="journal-follower")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.poll()
            except Exception as exc:  # a database hiccup must not end the follower
                log.warning("reading the change journal failed: %r", exc)

    async def poll(self) -> None:
        """One pass: check the answers held for every change not seen yet; catch L2 up if Redis failed."""
        floor = min(self._gaps, default=self._seen + 1) - 1
        async with self._engine.connect() as conn:
            changes = await journal.since(conn, floor)
        fresh = [c for c in changes if c.seq > self._seen or c.seq in self._gaps]
        if fresh:
            await self._invalidator.reconcile(sorted({c.handle for c in fresh}), self._read)
            self._metrics.journal_changes_seen += len(fresh)
        self._advance([c.seq for c in fresh])
        behind_since = self._invalidator.l2_behind_since
        if behind_since is not None:
            await self._catch_up_l2(datetime.fromtimestamp(behind_since, UTC) - CATCH_UP_WINDOW)

    async def _catch_up_l2(self, since: datetime) -> None:
        async with self._engine.connect() as conn:
            names = await journal.handles_changed_since(conn, since)
        if await self._invalidator.invalidate_l2(names):
            log.info("Redis caught up with %d changes; answering from it again", len(names))
            self._invalidator.l2_caught_up()

    def _advance(self, seqs: list[int]) -> None:
        now = time.monotonic()
        for seq in seqs:
            self._gaps.pop(seq, None)
        newest = max(seqs, default=self._seen)
        for missing in set(range(self._seen + 1, newest)) - set(seqs):
            self._gaps[missing] = now + GAP_PATIENCE
        self._seen = max(self._seen, newest)
        self._gaps = {seq: until for seq, until in self._gaps.items() if until > now}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
