"""The trace query on SQLite and PostgreSQL (`registry.trace`): size limits, handles not stored here, the
limits on its parameters."""

from __future__ import annotations

from typing import Any

import pytest

from registry import Handle, HandleNotFound, HandleValue, InvalidInput, Principal, Services
from registry.trace import MAX_DEPTH, Trace, trace

P = "88.999.1/"


async def put(services: Services, acme: Principal, name: str, *values: HandleValue) -> None:
    await services.records.put_record(
        acme, Handle.parse(P + name), [HandleValue.text(2000, "no", name), *values]
    )


def made_from(target: str, index: int = 2100) -> HandleValue:
    return HandleValue.text(index, "madeFrom", target if "/" in target else P + target)


async def traced(services: Services, name: str, **options: Any) -> Trace:
    return await trace(services.store, services.node.naming, Handle.parse(P + name), **options)


async def test_a_large_trace_is_cut_to_the_nearest_nodes(services: Services, acme: Principal) -> None:
    await put(services, acme, "HEAT-1")
    for n in range(5):
        await put(services, acme, f"SLAB-{n}", made_from("HEAT-1"))
    await put(services, acme, "COIL-1", made_from("SLAB-0"))
    whole = await traced(services, "HEAT-1", direction="down")
    assert (len(whole.nodes), len(whole.edges), whole.truncated) == (7, 6, False)
    cut = await traced(services, "HEAT-1", direction="down", max_nodes=4)
    assert cut.truncated
    assert [n.depth for n in cut.nodes] == [0, 1, 1, 1]
    assert len(cut.edges) == 3  # only the links between nodes shown


async def test_targets_not_stored_here_are_bare_nodes(services: Services, acme: Principal) -> None:
    await put(services, acme, "HEAT-1")
    await put(services, acme, "SLAB-1", made_from("HEAT-1"), made_from("88.777.1/SCRAP-9", 2101))
    await services.records.delete(acme, Handle.parse(P + "HEAT-1"))
    found = await traced(services, "SLAB-1", direction="up")
    nodes = {n.handle: n for n in found.nodes}
    assert set(nodes) == {P + "SLAB-1", P + "HEAT-1", "88.777.1/SCRAP-9"}
    assert not nodes[P + "HEAT-1"].stored
    assert nodes["88.777.1/SCRAP-9"].to_json() == {
        "handle": "88.777.1/SCRAP-9",
        "depth": 1,
        "values": {},
        "stored": False,
    }
    assert nodes[P + "SLAB-1"].values == {"no": "SLAB-1"}


async def test_the_root_must_be_stored_here(services: Services) -> None:
    with pytest.raises(HandleNotFound):
        await traced(services, "NOTHING")


@pytest.mark.parametrize(
    "options",
    [{"direction": "sideways"}, {"direction": ""}, {"depth": 0}, {"depth": MAX_DEPTH + 1}],
)
async def test_bad_parameters(services: Services, acme: Principal, options: dict[str, Any]) -> None:
    await put(services, acme, "HEAT-1")
    with pytest.raises(InvalidInput):
        await traced(services, "HEAT-1", **options)


async def test_types_are_named_either_way(services: Services, acme: Principal) -> None:
    await put(services, acme, "HEAT-1")
    await put(services, acme, "SLAB-1", made_from("HEAT-1"))
    for types in (["madeFrom"], ["LINK.madeFrom"]):
        assert len((await traced(services, "HEAT-1", types=types)).edges) == 1
    for types in (["installedIn"], ["LINK."], ["no\x00such"]):
        assert (await traced(services, "HEAT-1", types=types)).edges == []
