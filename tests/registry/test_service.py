"""The registry's write API on SQLite and PostgreSQL: records, values, authorisation and the journal."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from registry import (
    AuthenticationFailed,
    Handle,
    HandleExists,
    HandleNotFound,
    HandleValue,
    NotResponsible,
    PermissionDenied,
    Principal,
    Registry,
    ValueExists,
    ValuesNotFound,
)
from registry.store import journal
from registry.store.schema import handles
from tests.conftest import ACME_SECRET, ADMIN_SECRET, OTHER_SECRET

PART = Handle.parse("88.999.1/PART-0001")


def part_values() -> list[HandleValue]:
    return [
        HandleValue.text(1, "URL", "https://mes.example.com/parts/PART-0001"),
        HandleValue.text(2000, "customerPartNo", "DF-3502010-C0100"),
        HandleValue.text(2001, "batch", "B20261122-07"),
    ]


async def stored(registry: Registry, handle: Handle) -> list[dict[str, object]] | None:
    raw = await registry.read(handle)
    return None if raw is None else orjson.loads(raw)


async def changes(registry: Registry) -> list[journal.Change]:
    async with registry.store.reader.connect() as conn:
        return await journal.since(conn, 0)


async def test_a_created_record_reads_back_with_its_values_in_index_order(
    registry: Registry, acme: Principal
) -> None:
    created = await registry.put_record(acme, PART, list(reversed(part_values())), overwrite=False)

    assert created
    values = await stored(registry, PART)
    assert values is not None
    assert [(v["index"], v["type"]) for v in values] == [
        (1, "URL"),
        (2000, "customerPartNo"),
        (2001, "batch"),
    ]
    assert values[1]["data"] == {"format": "string", "value": "DF-3502010-C0100"}


async def test_the_prefix_is_case_insensitive_and_the_suffix_is_not(
    registry: Registry, acme: Principal
) -> None:
    await registry.put_record(acme, Handle.parse("88.999.1/Part-A"), part_values())

    assert await registry.read(Handle.parse("88.999.1/Part-A")) is not None
    assert await registry.read(Handle.parse("88.999.1/PART-A")) is None


async def test_creating_an_existing_handle_without_overwrite_fails(
    registry: Registry, acme: Principal
) -> None:
    await registry.put_record(acme, PART, part_values())

    with pytest.raises(HandleExists):
        await registry.put_record(acme, PART, [HandleValue.text(1, "URL", "x")], overwrite=False)
    assert (await stored(registry, PART) or [])[0]["data"]["value"].startswith("https://mes")  # type: ignore[index]


async def test_overwrite_replaces_the_whole_record(registry: Registry, acme: Principal) -> None:
    await registry.put_record(acme, PART, part_values())

    created = await registry.put_record(acme, PART, [HandleValue.text(5, "EMAIL", "qa@example.com")])

    assert not created
    assert [v["index"] for v in await stored(registry, PART) or []] == [5]


async def test_put_values_adds_and_replaces_by_index(registry: Registry, acme: Principal) -> None:
    await registry.put_record(acme, PART, part_values())

    await registry.put_values(
        acme, PART, [HandleValue.text(2001, "batch", "B2"), HandleValue.text(7, "X", "y")]
    )

    values = {v["index"]: v["data"]["value"] for v in await stored(registry, PART) or []}  # type: ignore[index]
    assert values[2001] == "B2"
    assert values[7] == "y"
    assert values[1].startswith("https://")


async def test_put_values_without_overwrite_refuses_a_taken_index(
    registry: Registry, acme: Principal
) -> None:
    await registry.put_record(acme, PART, part_values())

    with pytest.raises(ValueExists):
        await registry.put_values(acme, PART, [HandleValue.text(1, "URL", "other")], overwrite=False)


async def test_values_of_a_missing_handle_cannot_be_changed(registry: Registry, acme: Principal) -> None:
    with pytest.raises(HandleNotFound):
        await registry.put_values(acme, PART, [HandleValue.text(1, "URL", "x")])
    with pytest.raises(HandleNotFound):
        await registry.delete_values(acme, PART, [1])
    with pytest.raises(HandleNotFound):
        await registry.delete(acme, PART)


async def test_delete_values_needs_every_index_to_exist(registry: Registry, acme: Principal) -> None:
    await registry.put_record(acme, PART, part_values())

    with pytest.raises(ValuesNotFound):
        await registry.delete_values(acme, PART, [1, 99])
    await registry.delete_values(acme, PART, [1, 2001])

    assert [v["index"] for v in await stored(registry, PART) or []] == [2000]


async def test_a_deleted_handle_is_gone(registry: Registry, acme: Principal) -> None:
    await registry.put_record(acme, PART, part_values())

    await registry.delete(acme, PART)

    assert await registry.read(PART) is None


async def test_another_enterprise_may_not_write_under_a_prefix(
    registry: Registry, acme: Principal, other: Principal
) -> None:
    await registry.put_record(acme, PART, part_values())

    with pytest.raises(PermissionDenied):
        await registry.put_record(other, Handle.parse("88.999.1/INTRUDER"), part_values())
    with pytest.raises(PermissionDenied):
        await registry.put_values(other, PART, [HandleValue.text(1, "URL", "https://evil.example")])
    with pytest.raises(PermissionDenied):
        await registry.delete(other, PART)
    assert (await stored(registry, PART) or [])[0]["data"]["value"].startswith("https://mes")  # type: ignore[index]


async def test_the_node_administrator_may_write_under_every_enterprise_prefix(
    registry: Registry, node_admin: Principal
) -> None:
    assert await registry.put_record(node_admin, Handle.parse("88.999.2/FIX-1"), part_values())


async def test_an_enterprise_may_not_create_prefix_handles(registry: Registry, acme: Principal) -> None:
    with pytest.raises(PermissionDenied):
        await registry.put_record(acme, Handle.parse("0.NA/88.999.1.5"), part_values())


async def test_prefixes_outside_the_node_are_not_its_business(
    registry: Registry, node_admin: Principal
) -> None:
    with pytest.raises(NotResponsible):
        await registry.put_record(node_admin, Handle.parse("86.100/X"), part_values())


async def test_a_record_naming_a_principal_in_hs_admin_lets_it_modify_the_record(
    registry: Registry, acme: Principal, other: Principal
) -> None:
    from registry import AdminData

    delegated = [
        *part_values(),
        HandleValue(100, "HS_ADMIN", AdminData("0.NA/88.999.2", 300, "011111110011")),
    ]
    await registry.put_record(acme, PART, delegated)

    await registry.put_values(other, PART, [HandleValue.text(2001, "batch", "fixed by the supplier")])
    with pytest.raises(PermissionDenied):  # the record grants no listing of the whole prefix
        await registry.list_handles(other, "88.999.1", page=0, page_size=10)


async def test_every_write_is_journalled_with_operation_and_principal(
    registry: Registry, acme: Principal
) -> None:
    before = len(await changes(registry))

    await registry.put_record(acme, PART, part_values())
    await registry.put_values(acme, PART, [HandleValue.text(9, "X", "y")])
    await registry.delete(acme, PART)

    recorded = (await changes(registry))[before:]
    assert [(c.handle, c.op, c.principal) for c in recorded] == [
        ("88.999.1/PART-0001", "create", "300:0.NA/88.999.1"),
        ("88.999.1/PART-0001", "update", "300:0.NA/88.999.1"),
        ("88.999.1/PART-0001", "delete", "300:0.NA/88.999.1"),
    ]
    assert [c.seq for c in recorded] == sorted(c.seq for c in recorded)


async def test_a_refused_write_changes_nothing_and_journals_nothing(
    registry: Registry, other: Principal
) -> None:
    before = await changes(registry)

    with pytest.raises(PermissionDenied):
        await registry.put_record(other, PART, part_values())

    assert await changes(registry) == before
    assert await registry.read(PART) is None


async def test_credentials_authenticate_only_with_the_right_secret(registry: Registry) -> None:
    assert str(await registry.authenticate("300%3A0.NA/88.999.1", ACME_SECRET)) == "300:0.NA/88.999.1"
    assert str(await registry.authenticate("300:0.NA/88.999", ADMIN_SECRET)) == "300:0.NA/88.999"
    for user, secret in [
        ("300:0.NA/88.999.1", OTHER_SECRET),
        ("300:0.NA/88.999.1", ""),
        ("301:0.NA/88.999.1", ACME_SECRET),  # no key at that index
        ("300:0.NA/88.999.7", ACME_SECRET),  # no such prefix
        ("300:88.999.1/PART-0001", ACME_SECRET),
    ]:
        with pytest.raises(AuthenticationFailed):
            await registry.authenticate(user, secret)


async def test_secrets_are_stored_only_as_salted_hashes(registry: Registry, acme: Principal) -> None:
    await registry.put_values(
        acme, Handle.parse("0.NA/88.999.1"), [HandleValue.text(301, "HS_SECKEY", "rotated")]
    )

    async with registry.store.reader.connect() as conn:
        dump = " ".join((await conn.execute(select(handles.c.values_json))).scalars())
    for secret in (ADMIN_SECRET, ACME_SECRET, OTHER_SECRET, "rotated"):
        assert secret not in dump
    assert dump.count("$argon2id$") == 4
    assert str(await registry.authenticate("301:0.NA/88.999.1", "rotated")) == "301:0.NA/88.999.1"


async def test_listing_pages_through_a_prefix_in_handle_order(registry: Registry, acme: Principal) -> None:
    for n in range(5):
        await registry.put_record(acme, Handle.parse(f"88.999.1/P-{n}"), part_values())

    first = await registry.list_handles(acme, "88.999.1", page=0, page_size=2)
    last = await registry.list_handles(acme, "88.999.1", page=2, page_size=2)
    count = await registry.list_handles(acme, "88.999.1", page=0, page_size=0)

    assert (first.total, first.handles) == (5, ["88.999.1/P-0", "88.999.1/P-1"])
    assert last.handles == ["88.999.1/P-4"]
    assert (count.total, count.handles) == (5, [])


async def test_listing_another_enterprise_prefix_is_refused(registry: Registry, other: Principal) -> None:
    with pytest.raises(PermissionDenied):
        await registry.list_handles(other, "88.999.1", page=0, page_size=10)


async def test_prefixes_lists_the_node_and_enterprise_prefixes(registry: Registry) -> None:
    assert await registry.prefixes() == ["88.999", "88.999.1", "88.999.2"]


async def test_mint_chooses_a_fresh_suffix_under_the_prefix(registry: Registry, acme: Principal) -> None:
    first = await registry.mint(acme, "88.999.1", part_values())
    second = await registry.mint(acme, "88.999.1", part_values())

    assert first.prefix == second.prefix == "88.999.1"
    assert first != second
    assert await registry.read(first) is not None
