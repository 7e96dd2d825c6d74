"""The store stage: concurrent reads of one handle share one database read; a failing database fails fast."""

from __future__ import annotations

import asyncio

import pytest

from resolver.health import Health
from resolver.metrics import Metrics
from resolver.pipeline import StoreStage, StoreUnavailable
from tests.resolver.cache.fakes import Clock, CountingView, SlowReader, query, rendered_metrics

STORED = {"88.999.1/A": '[{"index":1,"type":"URL","data":"a","ttl":60}]'}


def store_stage(reader: SlowReader, health: Health | None = None) -> StoreStage:
    return StoreStage(reader, health or Health("store"), Metrics())


async def test_concurrent_misses_for_one_handle_make_one_read() -> None:
    reader = SlowReader(STORED)
    stage = store_stage(reader)

    answers = await asyncio.gather(*(stage.resolve(query("88.999.1/A")) for _ in range(50)))

    assert reader.reads == 1
    assert all(a is answers[0] and a is not None for a in answers)


async def test_the_reader_is_asked_for_the_handles_key() -> None:
    # The store keeps records under the naming's key: a handle written in another case finds the same one.
    stage = store_stage(SlowReader(STORED))

    found = await stage.resolve(query("88.999.1/a"))
    many = await stage.resolve_many([query("88.999.1/a")])

    assert found is not None
    assert many[0] is not None
    assert found.record == many[0].record == STORED["88.999.1/A"].encode()


SECRET_AND_INTERNAL = (
    '[{"index":1,"type":"URL","data":"a"},'
    '{"index":300,"type":"HS_SECKEY","data":"$argon2id$x","permissions":"1100"},'
    '{"index":2,"type":"NOTE","data":"internal","permissions":"1100"}]'
)


async def test_secret_keys_never_leave_the_store_stage() -> None:
    stage = store_stage(SlowReader({"88.999.1/S": SECRET_AND_INTERNAL}))

    found = await stage.resolve(query("88.999.1/S"))
    (many,) = await stage.resolve_many([query("88.999.1/S")])

    for answer in (found, many):
        assert answer is not None
        assert b"argon2" not in answer.record
        assert all(value["type"] != "HS_SECKEY" for value in answer.values())


async def test_non_public_values_stay_in_the_record_but_out_of_every_public_rendering() -> None:
    # The redesign changed this: the old stage dropped non-public values too. The canonical record now keeps
    # them (an authorised caller may be shown them), marked not public, and every public view leaves them out.
    stage = store_stage(SlowReader({"88.999.1/S": SECRET_AND_INTERNAL}))
    view = CountingView("public")

    found = await stage.resolve(query("88.999.1/S"))

    assert found is not None
    assert not found.public
    assert [v["index"] for v in found.values()] == [1, 2]
    assert [v["index"] for v in found.public_values()] == [1]
    assert b"internal" not in found.public_record()
    assert b"internal" not in found.rendered(view)
    assert [v["index"] for v in found.select(query("88.999.1/S"))] == [1]
    assert [v["index"] for v in found.select(query("88.999.1/S", reader="300:0.NA/88.999.1"))] == [1, 2]


async def test_after_a_failure_misses_fail_at_once_until_the_retry_time() -> None:
    reader = SlowReader(STORED, fail=True)
    clock = Clock()
    health = Health("store", retry_after=1.0, clock=clock)
    metrics = Metrics(health=[health])
    stage = StoreStage(reader, health, metrics)

    with pytest.raises(StoreUnavailable):
        await stage.resolve(query("88.999.1/A"))
    with pytest.raises(StoreUnavailable):
        await stage.resolve_many([query("88.999.1/A")])
    # The stage reports to the database's health, which alone says it is down (and the metrics read it).
    assert (reader.reads, health.up, health.errors) == (1, False, 1)
    assert rendered_metrics(metrics)["idnode_store_up"] == 0

    reader.fail = False
    clock.advance(1.5)
    assert await stage.resolve(query("88.999.1/A")) is not None
    assert (reader.reads, health.up) == (2, True)
    assert rendered_metrics(metrics)["idnode_store_up"] == 1


async def test_a_failed_batch_read_marks_the_database_down_too() -> None:
    reader = SlowReader(STORED, fail=True)
    health = Health("store", retry_after=1.0, clock=Clock())
    stage = StoreStage(reader, health, Metrics())

    with pytest.raises(StoreUnavailable):
        await stage.resolve_many([query("88.999.1/A"), query("88.999.1/B")])
    with pytest.raises(StoreUnavailable):
        await stage.resolve(query("88.999.1/A"))

    assert (reader.reads, health.up, health.worth_trying) == (1, False, False)


async def test_resolve_many_is_one_read_for_all_the_handles() -> None:
    reader = SlowReader(STORED)
    stage = store_stage(reader)

    found = await stage.resolve_many([query("88.999.1/A"), query("88.999.1/B")])

    assert reader.reads == 1
    assert [a is not None for a in found] == [True, False]


async def test_misses_of_different_handles_in_one_instant_are_one_read() -> None:
    reader = SlowReader({**STORED, "88.999.1/B": STORED["88.999.1/A"]})
    stage = store_stage(reader)

    found = await asyncio.gather(*(stage.resolve(query(f"88.999.1/{s}")) for s in "ABCA"))

    assert reader.reads == 1
    assert sorted(reader.batches[0]) == ["88.999.1/A", "88.999.1/B", "88.999.1/C"]
    assert [a is not None for a in found] == [True, True, False, True]
    assert found[0] is found[3]


async def test_a_handle_asked_while_its_batch_is_being_read_waits_for_that_read() -> None:
    reader = SlowReader(STORED)
    stage = store_stage(reader)

    first = asyncio.ensure_future(stage.resolve(query("88.999.1/A")))
    await asyncio.sleep(0.001)  # the batch has gone to the reader
    second = await stage.resolve(query("88.999.1/A"))

    assert (await first) is second
    assert reader.reads == 1


async def test_a_failed_batch_fails_each_of_its_misses_and_a_cancelled_waiter_only_itself() -> None:
    reader = SlowReader(STORED, fail=True)
    stage = store_stage(reader, Health("store", retry_after=1.0, clock=Clock()))

    gone = asyncio.ensure_future(stage.resolve(query("88.999.1/C")))
    waiting = [asyncio.ensure_future(stage.resolve(query(f"88.999.1/{s}"))) for s in "AB"]
    await asyncio.sleep(0)
    gone.cancel()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)

    assert reader.reads == 1
    assert all(isinstance(o, StoreUnavailable) for o in outcomes)
    assert gone.cancelled()
