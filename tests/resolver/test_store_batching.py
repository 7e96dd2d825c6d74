"""Cold reads on the real databases: the misses of one instant are one query, and each gets its own record."""

from __future__ import annotations

import asyncio

from registry import Handle, HandleValue, Principal, Services
from resolver.health import Health
from resolver.metrics import Metrics
from resolver.pipeline import StoreStage
from tests.resolver.cache.fakes import query


async def test_concurrent_misses_are_one_query_and_each_finds_its_own_record(
    services: Services, acme: Principal
) -> None:
    names = [f"88.999.1/COIL-{n:03d}" for n in range(40)]
    for name in names:
        await services.records.put_record(
            acme, Handle.parse(name), [HandleValue.text(1, "URL", f"https://x/{name}")]
        )
    metrics = Metrics()
    stage = StoreStage(services.store.points, Health("store"), metrics)

    asked = [*names, "88.999.1/NOT-THERE"]
    found = await asyncio.gather(*(stage.resolve(query(name)) for name in asked))

    assert (metrics.store_queries, metrics.store_reads) == (1, len(asked))
    assert [None if a is None else a.values()[0]["data"]["value"] for a in found] == [
        *(f"https://x/{name}" for name in names),
        None,
    ]
