"""`trace()` on both clients, against the fake node: links written with `link()` and as `madeFrom` values."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sdk import HandleValue, NotFoundError, RequestError, Trace, TraceEdge
from sdk.testing import FakeNode
from tests.sdk.conftest import PREFIX, Both

Make = Callable[..., Both]
P = f"{PREFIX}/"


async def test_a_chain_linked_through_the_sdk_traces_both_ways(closing: Make, node: FakeNode) -> None:
    client = closing()
    await client("register", P + "HEAT-1", {"heatNo": "H1"})
    await client(
        "register",
        P + "SLAB-1",
        [HandleValue(2000, "slabNo", "S1"), HandleValue(2100, "madeFrom", P + "HEAT-1")],
    )
    await client("register", P + "COIL-1", {"coilNo": "C1"})
    await client("register", P + "VIN-1", {"vin": "V1"})
    assert (await client("link", P + "SLAB-1", P + "COIL-1", relation="madeFrom")).status == "linked"
    await client("link", P + "VIN-1", P + "COIL-1", relation="installedIn")

    up = await client("trace", P + "VIN-1", direction="up")
    assert isinstance(up, Trace)
    assert {n.handle: n.depth for n in up.nodes} == {
        P + "VIN-1": 0,
        P + "COIL-1": 1,
        P + "SLAB-1": 2,
        P + "HEAT-1": 3,
    }
    assert TraceEdge(P + "COIL-1", P + "SLAB-1", "madeFrom") in up.edges
    slab = up.node(P + "SLAB-1")
    assert slab is not None
    assert slab.values == {"slabNo": "S1"}

    down = await client("trace", P + "HEAT-1", direction="down", types=["madeFrom"])
    assert {n.handle for n in down.nodes} == {P + "HEAT-1", P + "SLAB-1", P + "COIL-1"}
    coil = await client("resolve", P + "COIL-1")
    assert coil.links == {"madeFrom": [P + "SLAB-1"], "installedIn": [P + "VIN-1"]}


async def test_trace_errors(closing: Make) -> None:
    client = closing()
    with pytest.raises(NotFoundError):
        await client("trace", P + "NOTHING")
    await client("register", P + "HEAT-1", {"heatNo": "H1"})
    with pytest.raises(RequestError):
        await client("trace", P + "HEAT-1", direction="sideways")
