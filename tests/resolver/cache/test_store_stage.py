"""The store stage: concurrent reads of one handle share one database read; a failing database fails fast."""

from __future__ import annotations

import asyncio

import pytest

from resolver.metrics import Metrics
from resolver.pipeline import StoreStage, StoreUnavailable
from tests.resolver.cache.fakes import Clock, SlowReader

STORED = {"88.999.1/A": '[{"index":1,"type":"URL","data":"a","ttl":60}]'}


async def test_concurrent_misses_for_one_handle_make_one_read() -> None:
    reader = SlowReader(STORED)
    stage = StoreStage(reader, Metrics())

    answers = await asyncio.gather(*(stage.resolve("88.999.1/A") for _ in range(50)))

    assert reader.reads == 1
    assert all(a is answers[0] and a is not None for a in answers)


async def test_secret_and_non_public_values_never_leave_the_store_stage() -> None:
    stored = (
        '[{"index":1,"type":"URL","data":"a"},'
        '{"index":300,"type":"HS_SECKEY","data":"$argon2id$x","permissions":"1100"},'
        '{"index":2,"type":"NOTE","data":"internal","permissions":"1100"}]'
    )
    stage = StoreStage(SlowReader({"88.999.1/S": stored}), Metrics())

    found = await stage.resolve("88.999.1/S")

    assert found is not None
    assert [v["index"] for v in found.values] == [1]
    assert b"argon2" not in found.encoded
    assert b"internal" not in found.encoded


async def test_after_a_failure_misses_fail_at_once_until_the_retry_time() -> None:
    reader = SlowReader(STORED, fail=True)
    clock = Clock()
    metrics = Metrics()
    stage = StoreStage(reader, metrics, retry_after=1.0, clock=clock)

    with pytest.raises(StoreUnavailable):
        await stage.resolve("88.999.1/A")
    with pytest.raises(StoreUnavailable):
        await stage.resolve_many(["88.999.1/A"])
    assert (reader.reads, metrics.store_up) == (1, 0)

    reader.fail = False
    clock.advance(1.5)
    assert await stage.resolve("88.999.1/A") is not None
    assert (reader.reads, metrics.store_up) == (2, 1)


async def test_resolve_many_is_one_read_for_all_the_handles() -> None:
    reader = SlowReader(STORED)
    stage = StoreStage(reader, Metrics())

    found = await stage.resolve_many(["88.999.1/A", "88.999.1/B"])

    assert reader.reads == 1
    assert [a is not None for a in found] == [True, False]
