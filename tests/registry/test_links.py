"""Links between identifiers on SQLite and PostgreSQL: the links table kept in step with records by every
write path (single, batch, delete), and the checks on write (the target exists here, no cycle)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from registry import (
    Handle,
    HandleValue,
    InvalidValue,
    Principal,
    RecordInput,
    Services,
    delete_many,
    register_many,
    update_many,
)
from registry.links import relation_of
from registry.store.migrate import alembic_config
from registry.store.schema import links
from tests.conftest import node_services

Row = tuple[str, int, str, str, str, str]


def h(name: str) -> Handle:
    return Handle.parse(f"88.999.1/{name}")


def link(index: int, relation: str, target: str) -> HandleValue:
    return HandleValue.text(index, relation, f"88.999.1/{target}")


async def rows(services: Services) -> set[Row]:
    """(source, idx, relation, target, origin, product) of every link row."""
    t = links
    stmt = select(t.c.source, t.c.idx, t.c.relation, t.c.target, t.c.origin, t.c.product)
    async with services.store.reader.connect() as conn:
        return {tuple(row) for row in await conn.execute(stmt)}  # type: ignore[misc]


async def put(services: Services, acme: Principal, name: str, *values: HandleValue) -> None:
    await services.records.put_record(acme, h(name), [HandleValue.text(2000, "no", name), *values])


P = "88.999.1/"


def test_relations_are_the_three_types_and_the_sdks_link_values() -> None:
    assert relation_of("madeFrom") == relation_of("LINK.madeFrom") == "madeFrom"
    assert relation_of("installedIn") == "installedIn"
    assert relation_of("shippedIn") == "shippedIn"
    assert relation_of("LINK.partOf") == "partOf"
    assert [relation_of(t) for t in ("madefrom", "LINK.", "URL")] == [None, None, None]


async def test_links_follow_creates_replaces_value_writes_and_deletes(
    services: Services, acme: Principal
) -> None:
    await put(services, acme, "HEAT-1")
    await put(services, acme, "HEAT-2")
    slab, heat_1, heat_2, assy = P + "SLAB-1", P + "HEAT-1", P + "HEAT-2", P + "ASSY-1"
    await put(services, acme, "SLAB-1", link(2100, "madeFrom", "HEAT-1"))
    # madeFrom: the target is the origin; installedIn and LINK.partOf: the source goes into the target.
    assert await rows(services) == {(slab, 2100, "madeFrom", heat_1, heat_1, slab)}

    await put(services, acme, "SLAB-1", link(2100, "LINK.madeFrom", "heat-2"))  # keys fold case
    assert await rows(services) == {(slab, 2100, "madeFrom", heat_2, heat_2, slab)}

    await put(services, acme, "ASSY-1")
    await services.records.put_values(acme, h("SLAB-1"), [link(501, "LINK.partOf", "ASSY-1")])
    assert (slab, 501, "partOf", assy, slab, assy) in await rows(services)

    await services.records.delete_values(acme, h("SLAB-1"), [2100])
    assert {r[1] for r in await rows(services)} == {501}

    await services.records.replace_business_values(acme, h("SLAB-1"), [link(2100, "madeFrom", "HEAT-1")])
    assert {(r[1], r[3]) for r in await rows(services)} == {(501, assy), (2100, heat_1)}

    await services.records.delete(acme, h("SLAB-1"))
    assert await rows(services) == set()


async def test_an_unknown_target_here_is_refused_and_nothing_is_written(
    services: Services, acme: Principal
) -> None:
    with pytest.raises(InvalidValue, match=r"88\.999\.1/HEAT-404, which does not exist"):
        await put(services, acme, "SLAB-1", link(2100, "madeFrom", "HEAT-404"))
    assert await services.reads.stored(h("SLAB-1")) is None
    assert await rows(services) == set()


async def test_a_target_on_another_node_is_accepted_unchecked(services: Services, acme: Principal) -> None:
    remote = HandleValue.text(2100, "shippedIn", "88.777.3/SHIPMENT-9")
    await put(services, acme, "PART-1", remote)
    shipment = "88.777.3/SHIPMENT-9"
    assert await rows(services) == {(P + "PART-1", 2100, "shippedIn", shipment, P + "PART-1", shipment)}


async def test_a_link_that_is_no_handle_is_refused(services: Services, acme: Principal) -> None:
    with pytest.raises(InvalidValue, match="must hold a target handle"):
        await put(services, acme, "PART-1", HandleValue.text(2100, "installedIn", "no slash"))
    with pytest.raises(InvalidValue, match="to itself"):
        await put(services, acme, "PART-1", link(2100, "installedIn", "part-1"))


async def test_cycles_are_refused(services: Services, acme: Principal) -> None:
    await put(services, acme, "HEAT-1")
    await put(services, acme, "SLAB-1", link(2100, "madeFrom", "HEAT-1"))
    await put(services, acme, "COIL-1", link(2100, "madeFrom", "SLAB-1"))
    with pytest.raises(InvalidValue, match="would make a cycle"):
        await services.records.put_values(acme, h("HEAT-1"), [link(2100, "madeFrom", "COIL-1")])
    # The same cycle declared the other way round: the coil is installed in (goes into) the heat.
    with pytest.raises(InvalidValue, match="would make a cycle"):
        await services.records.put_values(acme, h("COIL-1"), [link(2101, "installedIn", "HEAT-1")])
    # Not a cycle: the coil goes into a vehicle that is made from it (the same flow, declared twice).
    await put(services, acme, "VIN-1", link(2100, "madeFrom", "COIL-1"))
    await services.records.put_values(acme, h("COIL-1"), [link(2101, "installedIn", "VIN-1")])
    assert len(await rows(services)) == 4


async def test_a_batch_links_records_to_others_of_the_same_batch(services: Services, acme: Principal) -> None:
    items = [
        RecordInput(P + "HEAT-1", [HandleValue.text(2000, "no", "H1")]),
        RecordInput(P + "SLAB-1", [link(2100, "madeFrom", "HEAT-1")]),
        RecordInput(P + "COIL-1", [link(2100, "madeFrom", "SLAB-1")]),
        RecordInput(P + "COIL-2", [link(2100, "madeFrom", "SLAB-1")]),
    ]
    results = await register_many(services.records, acme, items)
    assert all(r.ok for r in results)
    assert len(await rows(services)) == 3


async def test_a_batch_item_with_a_bad_link_fails_alone(services: Services, acme: Principal) -> None:
    await put(services, acme, "HEAT-1")
    items = [
        RecordInput(P + "SLAB-1", [link(2100, "madeFrom", "HEAT-1")]),
        RecordInput(P + "SLAB-2", [link(2100, "madeFrom", "HEAT-404")]),  # unknown target
        RecordInput(P + "COIL-2", [link(2100, "madeFrom", "SLAB-2")]),  # its target fails: so does it
        RecordInput(P + "A", [link(2100, "madeFrom", "B")]),  # A and B: a cycle within the batch
        RecordInput(P + "B", [link(2100, "madeFrom", "A")]),
        RecordInput(P + "PLAIN", [HandleValue.text(2000, "no", "P")]),
    ]
    results = await register_many(services.records, acme, items)
    outcome = {r.handle.removeprefix(P): (r.ok, r.error and r.error.message) for r in results}
    assert outcome["SLAB-1"] == outcome["PLAIN"] == (True, None)
    assert "HEAT-404, which does not exist" in str(outcome["SLAB-2"][1])
    assert "SLAB-2, which this batch does not create" in str(outcome["COIL-2"][1])
    assert "cycle" in str(outcome["A"][1])
    assert "cycle" in str(outcome["B"][1])
    assert {r[0] for r in await rows(services)} == {P + "SLAB-1"}
    assert await services.reads.stored(h("SLAB-2")) is None
    assert await services.reads.stored(h("PLAIN")) is not None
    assert await services.reads.stored(h("A")) is None


async def test_batch_updates_and_deletes_keep_links_in_step(services: Services, acme: Principal) -> None:
    for name in ("HEAT-1", "HEAT-2"):
        await put(services, acme, name)
    await put(services, acme, "SLAB-1", link(2100, "madeFrom", "HEAT-1"))
    await put(services, acme, "SLAB-2", link(2100, "madeFrom", "HEAT-1"))
    results = await update_many(
        services.records,
        acme,
        [
            RecordInput(P + "SLAB-1", [link(2100, "madeFrom", "HEAT-2")]),
            RecordInput(P + "SLAB-2", [link(2100, "madeFrom", "SLAB-2")]),  # itself: refused alone
        ],
    )
    assert [r.ok for r in results] == [True, False]
    assert {(r[0], r[3]) for r in await rows(services)} == {
        (P + "SLAB-1", P + "HEAT-2"),
        (P + "SLAB-2", P + "HEAT-1"),
    }
    overwrite = [RecordInput(P + "SLAB-2", [HandleValue.text(2000, "no", "unlinked")])]
    assert (await register_many(services.records, acme, overwrite, overwrite=True))[0].ok
    assert {r[0] for r in await rows(services)} == {P + "SLAB-1"}
    assert all(r.ok for r in await delete_many(services.records, acme, [P + "SLAB-1", P + "HEAT-1"]))
    assert await rows(services) == set()


async def test_deleting_a_target_leaves_the_links_to_it(services: Services, acme: Principal) -> None:
    await put(services, acme, "HEAT-1")
    await put(services, acme, "SLAB-1", link(2100, "madeFrom", "HEAT-1"))
    await services.records.delete(acme, h("HEAT-1"))
    assert {r[0] for r in await rows(services)} == {P + "SLAB-1"}
    # The record's other values can still change: its links, unchanged, are not checked again.
    await put(services, acme, "SLAB-1", link(2100, "madeFrom", "HEAT-1"), HandleValue.text(2001, "w", "9"))
    await services.records.replace_business_values(acme, h("SLAB-1"), [link(2100, "madeFrom", "HEAT-1")])
    # A changed link is checked: its target is gone.
    with pytest.raises(InvalidValue, match="does not exist"):
        await put(services, acme, "SLAB-1", link(2101, "madeFrom", "HEAT-1"))


# -- cycles on random small graphs ----------------------------------------------------------------------

NODES = 6
Edge = tuple[int, int, str]  # source, target, relation


def _reaches(edges: set[tuple[int, int]], start: int, goal: int) -> bool:
    seen, todo = {start}, [start]
    while todo:
        at = todo.pop()
        for a, b in edges:
            if a == at and b not in seen:
                if b == goal:
                    return True
                seen.add(b)
                todo.append(b)
    return start == goal


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edges=st.lists(
        st.tuples(
            st.integers(0, NODES - 1), st.integers(0, NODES - 1), st.sampled_from(["madeFrom", "LINK.x"])
        ),
        max_size=12,
    )
)
def test_no_sequence_of_links_makes_a_cycle(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, edges: Sequence[Edge]
) -> None:
    """Links added one by one are refused exactly when they would close a cycle (in the flow: madeFrom
    points from the product to its origin, other relations from the origin to the product)."""
    path = tmp_path_factory.mktemp("cycles") / "idnode.db"
    shutil.copy(sqlite_template, path)
    asyncio.run(_check_cycles(f"sqlite:///{path}", edges))


async def _check_cycles(url: str, edges: Sequence[Edge]) -> None:
    acme = Principal.parse("300:0.NA/88.999.1")
    async with node_services(url) as services:
        for n in range(NODES):
            await put(services, acme, f"N{n}")
        flow: set[tuple[int, int]] = set()
        for index, (source, target, relation) in enumerate(edges, start=2100):
            origin, product = (target, source) if relation == "madeFrom" else (source, target)
            closes = source == target or _reaches(flow, product, origin)
            value = link(index, relation, f"N{target}")
            try:
                await services.records.put_values(acme, h(f"N{source}"), [value])
            except InvalidValue:
                assert closes
                continue
            assert not closes
            flow.add((origin, product))
        assert {(r[4], r[5]) for r in await rows(services)} == {(f"{P}N{a}", f"{P}N{b}") for a, b in flow}


async def test_the_migration_makes_the_rows_of_links_stored_before(
    services: Services, acme: Principal, database_url: str
) -> None:
    await put(services, acme, "HEAT-1")
    await put(services, acme, "X-9")
    await put(services, acme, "SLAB-1", link(2100, "madeFrom", "heat-1"), link(501, "LINK.partOf", "X-9"))
    await services.records.put_values(acme, h("SLAB-1"), [HandleValue.text(2101, "madeFrom", "88.777.1/R")])
    before = await rows(services)
    assert len(before) == 3
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0011")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await rows(services) == before


async def test_two_writers_cannot_each_add_half_of_a_cycle(services: Services, acme: Principal) -> None:
    await put(services, acme, "A")
    await put(services, acme, "B")
    for attempt in range(5):
        outcomes = await asyncio.gather(
            services.records.put_values(acme, h("A"), [link(2100 + attempt, "madeFrom", "B")]),
            services.records.put_values(acme, h("B"), [link(2100 + attempt, "madeFrom", "A")]),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, InvalidValue)]
        assert len(refused) == 1, outcomes
        assert "cycle" in refused[0].message
        # Undo the one that was written, for the next attempt.
        written = "B" if outcomes[0] is refused[0] else "A"
        await services.records.delete_values(acme, h(written), [2100 + attempt])


async def test_a_target_at_a_secondary_node_of_this_one_is_accepted_unchecked(
    services: Services, acme: Principal, node_admin: Principal
) -> None:
    await services.children.add(node_admin, "88.999.7", name="Ezhou node", secret="child-secret")
    await put(services, acme, "PART-1", HandleValue.text(2100, "shippedIn", "88.999.7/SHIPMENT-1"))
    assert {r[3] for r in await rows(services)} == {"88.999.7/SHIPMENT-1"}
    with pytest.raises(InvalidValue, match="does not exist"):  # the node's own prefixes are checked still
        await put(services, acme, "PART-2", HandleValue.text(2100, "shippedIn", "88.999.2/SHIPMENT-1"))


async def test_a_long_chain_in_a_batch_fails_at_once_when_its_first_link_does(
    services: Services, acme: Principal
) -> None:
    items = [RecordInput(P + "C-0", [link(2100, "madeFrom", "NOWHERE")])]
    items += [RecordInput(P + f"C-{n}", [link(2100, "madeFrom", f"C-{n - 1}")]) for n in range(1, 300)]
    items.append(RecordInput(P + "FINE", [HandleValue.text(2000, "no", "F")]))
    started = asyncio.get_running_loop().time()
    results = await register_many(services.records, acme, items)
    assert [r.ok for r in results] == [False] * 300 + [True]
    assert asyncio.get_running_loop().time() - started < 5  # two rounds, not three hundred
