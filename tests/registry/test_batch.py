"""Batch registration: one transaction, a result per item, and one bad item failing alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from registry import (
    MAX_BATCH,
    Handle,
    HandleExists,
    HandleValue,
    InvalidHandle,
    InvalidInput,
    PermissionDenied,
    Principal,
    RecordInput,
    Services,
    register_many,
)
from registry.batch import TURN
from registry.store import journal


def coil(n: int) -> RecordInput:
    values = [
        HandleValue.text(2000, "heatNo", f"H26-{n // 10:05d}"),
        HandleValue.text(2001, "coilNo", f"C{n:07d}"),
        HandleValue.text(2002, "grade", "Q355B"),
        HandleValue.text(2003, "thicknessMm", "3.75"),
        HandleValue.text(2004, "weightKg", "21450"),
    ]
    return RecordInput(f"88.999.1/COIL-{n:07d}", values)


def errors(results: list[Any]) -> dict[str, type]:
    return {r.handle: type(r.error) for r in results if not r.ok}


async def test_a_batch_registers_every_good_record(services: Services, acme: Principal) -> None:
    results = await register_many(services.records, acme, [coil(n) for n in range(1000)])

    assert all(r.ok and r.created for r in results)
    assert [r.handle for r in results] == [f"88.999.1/COIL-{n:07d}" for n in range(1000)]
    assert await services.reads.stored(Handle.parse("88.999.1/COIL-0000999")) is not None


async def test_bad_items_fail_alone_with_their_reason(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, Handle.parse("88.999.1/COIL-0000003"), coil(3).values)
    items: list[Any] = [
        coil(1),
        ("88.999.1/", coil(2).values),  # no suffix
        coil(3),  # exists already
        ("88.999.2/COIL-0000004", coil(4).values),  # another enterprise's prefix
        ("88.999.1/COIL-0000005", [HandleValue.text(1, "URL", "a"), HandleValue.text(1, "URL", "b")]),
        coil(1),  # twice in one batch
        coil(6),
    ]

    results = await register_many(services.records, acme, items)

    assert [r.ok for r in results] == [True, False, False, False, False, False, True]
    assert isinstance(results[1].error, InvalidHandle)
    assert isinstance(results[2].error, HandleExists)
    assert isinstance(results[3].error, PermissionDenied)
    assert isinstance(results[4].error, InvalidInput)
    assert "same index" in results[4].error.message
    assert results[5].error is not None
    assert "twice" in results[5].error.message
    assert await services.reads.stored(Handle.parse("88.999.1/COIL-0000006")) is not None


async def test_overwrite_replaces_existing_records_and_says_which_were_new(
    services: Services, acme: Principal
) -> None:
    await register_many(services.records, acme, [coil(1)])
    changed = RecordInput(coil(1).handle, [HandleValue.text(2002, "grade", "Q235B")])

    results = await register_many(services.records, acme, [changed, coil(2)], overwrite=True)

    assert [(r.ok, r.created) for r in results] == [(True, False), (True, True)]
    assert "Q235B" in (await services.reads.stored(Handle.parse(coil(1).handle)) or "")


async def test_the_journal_holds_one_entry_per_registered_item(services: Services, acme: Principal) -> None:
    async with services.store.reader.connect() as conn:
        before = await journal.latest(conn)

    await register_many(services.records, acme, [coil(1), ("bad", []), coil(2)])

    async with services.store.reader.connect() as conn:
        recorded = await journal.since(conn, before)
    assert [(c.handle, c.op) for c in recorded] == [(coil(1).handle, "create"), (coil(2).handle, "create")]


async def test_a_batch_larger_than_the_limit_is_refused_whole(services: Services, acme: Principal) -> None:
    with pytest.raises(InvalidInput):
        await register_many(services.records, acme, [coil(n) for n in range(MAX_BATCH + 1)])


async def test_a_large_batch_lets_other_requests_run_while_it_works(
    services: Services, acme: Principal
) -> None:
    # A resolution arriving during an MES line's batch must not wait for all of it: checking thousands of
    # records takes CPU without any database call, so the batch gives the event loop a turn every few items.
    turns = 0

    async def other_request() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    seen: list[int] = []  # the other request's turns so far, as each record's values are checked
    prepare = services.records.prepare

    async def prepare_noting_turns(values: Sequence[HandleValue]) -> list[HandleValue]:
        seen.append(turns)
        return await prepare(values)

    services.records.prepare = prepare_noting_turns  # type: ignore[method-assign]
    other = asyncio.create_task(other_request())
    results = await register_many(services.records, acme, [coil(n) for n in range(2000)])
    other.cancel()
    assert all(r.ok for r in results)
    assert seen[-1] - seen[0] >= 2000 // TURN - 1
