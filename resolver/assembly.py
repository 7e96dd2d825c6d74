"""Putting the resolver together from its settings: the pipeline's stages in their fixed order, the caches,
coherence and invalidation. The order of the stages is decided here and nowhere else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from registry import Store

from .cache.coherence import Coherence, LocalCoherence, RedisCoherence, shared_slots_path
from .cache.l1 import L1Cache
from .cache.l2 import RedisL2
from .cache.redis_link import REDIS_FAILURES, RedisLink
from .cache.stages import Freshness, L1Stage, L2Stage
from .invalidation import Invalidator, JournalFollower
from .metrics import Metrics
from .pipeline import Stage, StoreStage
from .settings import Settings


@dataclass
class Resolution:
    """A running resolver: its pipeline and what keeps its caches true."""

    pipeline: Stage
    invalidator: Invalidator
    coherence: Coherence
    follower: JournalFollower
    link: RedisLink | None
    l2_stage: L2Stage | None

    async def close(self) -> None:
        await self.follower.close()
        await self.coherence.close()
        if self.l2_stage is not None:
            await self.l2_stage.close()
        if self.link is not None:
            with contextlib.suppress(*REDIS_FAILURES):
                await self.link.close()


def _coherence(settings: Settings, link: RedisLink | None, metrics: Metrics, namespace: str) -> Coherence:
    if link is None:
        return LocalCoherence(shared_slots_path(settings.database_url))
    timeout = settings.coherence_timeout_ms / 1000
    return RedisCoherence(link, metrics, namespace=namespace, timeout=timeout)


def namespace_of(node_prefix: str) -> str:
    """Redis keys and channels of one node, so that several nodes may share a Redis."""
    return f"idnode:{node_prefix}"


async def assemble(settings: Settings, store: Store, metrics: Metrics, node_prefix: str) -> Resolution:
    """parse (front ends) → L1 → L2 → store: each cache only when configured."""
    namespace = namespace_of(node_prefix)
    freshness = Freshness(
        max_ttl=settings.cache_max_ttl,
        negative_ttl=settings.negative_ttl,
        stale_seconds=settings.stale_seconds,
    )
    retry_after = settings.store_retry_ms / 1000
    stage: Stage = StoreStage(store.points, metrics, retry_after=retry_after)
    link = RedisLink.open(settings.redis_url) if settings.redis_url else None
    l2 = l2_stage = None
    if settings.l2 and link is not None:
        l2 = RedisL2(link, namespace=namespace, stale_seconds=settings.stale_seconds)
        stage = l2_stage = L2Stage(stage, l2, freshness, metrics, retry_after=retry_after)
    l1 = None
    coherence = _coherence(settings, link, metrics, namespace)
    if settings.l1:
        l1 = L1Cache(max_entries=settings.cache_entries, max_bytes=settings.cache_bytes)
        stage = L1Stage(stage, l1, coherence, freshness, metrics)
        metrics.gauges["l1_entries"] = lambda: len(l1)
        metrics.gauges["l1_bytes"] = lambda: l1.bytes
    invalidator = Invalidator(coherence, metrics, l1=l1, l2=l2, l2_stage=l2_stage)
    await coherence.start(invalidator.forget_remote)
    follower = JournalFollower(store, invalidator, metrics, interval=settings.journal_poll_ms / 1000)
    await follower.start()
    return Resolution(stage, invalidator, coherence, follower, link, l2_stage)


@contextlib.asynccontextmanager
async def writer_invalidation(settings: Settings, node_prefix: str) -> AsyncIterator[Invalidator]:
    """An invalidator for a process that writes but does not resolve (the `idnode` command)."""
    metrics = Metrics()
    link = RedisLink.open(settings.redis_url) if settings.redis_url else None
    coherence = _coherence(settings, link, metrics, namespace_of(node_prefix))
    l2 = None
    if link is not None:
        l2 = RedisL2(link, namespace=namespace_of(node_prefix), stale_seconds=settings.stale_seconds)
    invalidator = Invalidator(coherence, metrics, l2=l2)
    # Confirmations come back on this process's own channel: it listens before it announces anything.
    await coherence.start(invalidator.forget_remote)
    with contextlib.suppress(TimeoutError):  # Redis down: the writes still go through, unannounced
        await asyncio.wait_for(coherence.wait_usable(), settings.coherence_timeout_ms / 1000)
    try:
        yield invalidator
    finally:
        await coherence.close()
        if l2 is not None:
            await l2.close()
        if link is not None:
            with contextlib.suppress(*REDIS_FAILURES):
                await link.close()
