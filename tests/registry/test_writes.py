"""Writing records on SQLite and PostgreSQL (`services.records`): values, authorisation and the journal,
and what the node reads back (`services.reads`) and who it authenticates (`services.accounts`)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest
from sqlalchemy import select

from registry import (
    AdminData,
    AuthenticationFailed,
    Handle,
    HandleExists,
    HandleNotFound,
    HandleValue,
    NotResponsible,
    PermissionDenied,
    Principal,
    Services,
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


async def stored(services: Services, handle: Handle) -> list[dict[str, object]] | None:
    raw = await services.reads.stored(handle)
    return None if raw is None else orjson.loads(raw)


async def changes(services: Services) -> list[journal.Change]:
    async with services.store.reader.connect() as conn:
        return await journal.since(conn, 0)


async def test_a_created_record_reads_back_with_its_values_in_index_order(
    services: Services, acme: Principal
) -> None:
    created = await services.records.put_record(acme, PART, list(reversed(part_values())), overwrite=False)

    assert created
    values = await stored(services, PART)
    assert values is not None
    assert [(v["index"], v["type"]) for v in values] == [
        (1, "URL"),
        (2000, "customerPartNo"),
        (2001, "batch"),
    ]
    assert values[1]["data"] == {"format": "string", "value": "DF-3502010-C0100"}


async def test_a_record_is_found_whatever_the_ascii_case_of_its_handle(
    services: Services, acme: Principal
) -> None:
    # Changed by the redesign: suffixes used to be told apart by case; the node now folds ASCII case by
    # default, as the Handle.Net server does (registry.naming; test_naming covers the rule itself).
    await services.records.put_record(acme, Handle.parse("88.999.1/Part-A"), part_values())

    found = await services.reads.stored(Handle.parse("88.999.1/Part-A"))
    assert found is not None
    for variant in ("88.999.1/PART-A", "88.999.1/part-a"):
        assert await services.reads.stored(Handle.parse(variant)) == found


async def test_creating_an_existing_handle_without_overwrite_fails(
    services: Services, acme: Principal
) -> None:
    await services.records.put_record(acme, PART, part_values())

    with pytest.raises(HandleExists):
        await services.records.put_record(acme, PART, [HandleValue.text(1, "URL", "x")], overwrite=False)
    assert (await stored(services, PART) or [])[0]["data"]["value"].startswith("https://mes")  # type: ignore[index]


async def test_overwrite_replaces_the_whole_record(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, PART, part_values())

    created = await services.records.put_record(acme, PART, [HandleValue.text(5, "EMAIL", "qa@example.com")])

    assert not created
    assert [v["index"] for v in await stored(services, PART) or []] == [5]


async def test_put_values_adds_and_replaces_by_index(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, PART, part_values())

    replaced = await services.records.put_values(
        acme, PART, [HandleValue.text(2001, "batch", "B2"), HandleValue.text(7, "X", "y")]
    )
    only_added = await services.records.put_values(acme, PART, [HandleValue.text(8, "X", "z")])

    values = {v["index"]: v["data"]["value"] for v in await stored(services, PART) or []}  # type: ignore[index]
    assert values[2001] == "B2"
    assert values[7] == "y"
    assert values[8] == "z"
    assert values[1].startswith("https://")
    assert (replaced, only_added) == (True, False)  # the Handle REST API answers 200 or 201 by it


async def test_put_values_without_overwrite_refuses_a_taken_index(
    services: Services, acme: Principal
) -> None:
    await services.records.put_record(acme, PART, part_values())

    with pytest.raises(ValueExists):
        await services.records.put_values(acme, PART, [HandleValue.text(1, "URL", "other")], overwrite=False)


async def test_values_of_a_missing_handle_cannot_be_changed(services: Services, acme: Principal) -> None:
    with pytest.raises(HandleNotFound):
        await services.records.put_values(acme, PART, [HandleValue.text(1, "URL", "x")])
    with pytest.raises(HandleNotFound):
        await services.records.delete_values(acme, PART, [1])
    with pytest.raises(HandleNotFound):
        await services.records.delete(acme, PART)


async def test_delete_values_needs_every_index_to_exist(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, PART, part_values())

    with pytest.raises(ValuesNotFound):
        await services.records.delete_values(acme, PART, [1, 99])
    await services.records.delete_values(acme, PART, [1, 2001])

    assert [v["index"] for v in await stored(services, PART) or []] == [2000]


async def test_a_deleted_handle_is_gone(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, PART, part_values())

    await services.records.delete(acme, PART)

    assert await services.reads.stored(PART) is None


async def test_another_enterprise_may_not_write_under_a_prefix(
    services: Services, acme: Principal, other: Principal
) -> None:
    await services.records.put_record(acme, PART, part_values())

    with pytest.raises(PermissionDenied):
        await services.records.put_record(other, Handle.parse("88.999.1/INTRUDER"), part_values())
    with pytest.raises(PermissionDenied):
        await services.records.put_values(other, PART, [HandleValue.text(1, "URL", "https://evil.example")])
    with pytest.raises(PermissionDenied):
        await services.records.delete(other, PART)
    assert (await stored(services, PART) or [])[0]["data"]["value"].startswith("https://mes")  # type: ignore[index]


async def test_the_node_administrator_may_write_under_every_enterprise_prefix(
    services: Services, node_admin: Principal
) -> None:
    assert await services.records.put_record(node_admin, Handle.parse("88.999.2/FIX-1"), part_values())


async def test_an_enterprise_may_not_create_prefix_handles(services: Services, acme: Principal) -> None:
    with pytest.raises(PermissionDenied):
        await services.records.put_record(acme, Handle.parse("0.NA/88.999.1.5"), part_values())


async def test_prefixes_outside_the_node_are_not_its_business(
    services: Services, node_admin: Principal
) -> None:
    with pytest.raises(NotResponsible):
        await services.records.put_record(node_admin, Handle.parse("86.100/X"), part_values())


async def test_a_record_naming_a_principal_in_hs_admin_lets_it_modify_the_record(
    services: Services, acme: Principal, other: Principal
) -> None:
    delegated = [
        *part_values(),
        HandleValue(100, "HS_ADMIN", AdminData("0.NA/88.999.2", 300, "011111110011")),
    ]
    await services.records.put_record(acme, PART, delegated)

    await services.records.put_values(other, PART, [HandleValue.text(2001, "batch", "fixed by the supplier")])
    with pytest.raises(PermissionDenied):  # the record grants no listing of the whole prefix
        await services.reads.list_handles(other, "88.999.1", page=0, page_size=10)


async def test_every_write_is_journalled_with_operation_and_principal(
    services: Services, acme: Principal
) -> None:
    before = len(await changes(services))

    await services.records.put_record(acme, PART, part_values())
    await services.records.put_values(acme, PART, [HandleValue.text(9, "X", "y")])
    await services.records.delete(acme, PART)

    recorded = (await changes(services))[before:]
    assert [(c.handle, c.op, c.principal) for c in recorded] == [
        ("88.999.1/PART-0001", "create", "300:0.NA/88.999.1"),
        ("88.999.1/PART-0001", "update", "300:0.NA/88.999.1"),
        ("88.999.1/PART-0001", "delete", "300:0.NA/88.999.1"),
    ]
    assert [c.seq for c in recorded] == sorted(c.seq for c in recorded)


async def test_a_refused_write_changes_nothing_and_journals_nothing(
    services: Services, other: Principal
) -> None:
    before = await changes(services)

    with pytest.raises(PermissionDenied):
        await services.records.put_record(other, PART, part_values())

    assert await changes(services) == before
    assert await services.reads.stored(PART) is None


async def test_credentials_authenticate_only_with_the_right_secret(services: Services) -> None:
    assert (
        str(await services.accounts.authenticate("300%3A0.NA/88.999.1", ACME_SECRET)) == "300:0.NA/88.999.1"
    )
    assert str(await services.accounts.authenticate("300:0.NA/88.999", ADMIN_SECRET)) == "300:0.NA/88.999"
    for user, secret in [
        ("300:0.NA/88.999.1", OTHER_SECRET),
        ("300:0.NA/88.999.1", ""),
        ("301:0.NA/88.999.1", ACME_SECRET),  # no key at that index
        ("300:0.NA/88.999.7", ACME_SECRET),  # no such prefix
        ("300:88.999.1/PART-0001", ACME_SECRET),
    ]:
        with pytest.raises(AuthenticationFailed):
            await services.accounts.authenticate(user, secret)


async def test_secrets_are_stored_only_as_salted_hashes(services: Services, acme: Principal) -> None:
    await services.records.put_values(
        acme, Handle.parse("0.NA/88.999.1"), [HandleValue.text(301, "HS_SECKEY", "rotated")]
    )

    async with services.store.reader.connect() as conn:
        dump = " ".join((await conn.execute(select(handles.c.values_json))).scalars())
    for secret in (ADMIN_SECRET, ACME_SECRET, OTHER_SECRET, "rotated"):
        assert secret not in dump
    assert dump.count("$argon2id$") == 4
    assert str(await services.accounts.authenticate("301:0.NA/88.999.1", "rotated")) == "301:0.NA/88.999.1"


async def test_listing_pages_through_a_prefix_in_handle_order(services: Services, acme: Principal) -> None:
    for n in range(5):
        await services.records.put_record(acme, Handle.parse(f"88.999.1/P-{n}"), part_values())

    first = await services.reads.list_handles(acme, "88.999.1", page=0, page_size=2)
    last = await services.reads.list_handles(acme, "88.999.1", page=2, page_size=2)
    count = await services.reads.list_handles(acme, "88.999.1", page=0, page_size=0)

    assert (first.total, first.handles) == (5, ["88.999.1/P-0", "88.999.1/P-1"])
    assert last.handles == ["88.999.1/P-4"]
    assert (count.total, count.handles) == (5, [])


async def test_listing_another_enterprise_prefix_is_refused(services: Services, other: Principal) -> None:
    with pytest.raises(PermissionDenied):
        await services.reads.list_handles(other, "88.999.1", page=0, page_size=10)


async def test_prefixes_lists_the_node_and_enterprise_prefixes(services: Services) -> None:
    assert await services.reads.prefixes() == ["88.999", "88.999.1", "88.999.2"]


async def test_mint_chooses_a_fresh_suffix_under_the_prefix(services: Services, acme: Principal) -> None:
    first = await services.records.mint(acme, "88.999.1", part_values())
    second = await services.records.mint(acme, "88.999.1", part_values())

    assert first.prefix == second.prefix == "88.999.1"
    assert first != second
    assert await services.reads.stored(first) is not None


async def test_mint_with_a_stem_puts_it_before_the_suffix_the_node_chooses(
    services: Services, acme: Principal
) -> None:
    minted = await services.records.mint(acme, "88.999.1", part_values(), stem="PART-")

    assert minted.suffix.startswith("PART-")
    assert len(minted.suffix) > len("PART-")
    assert await services.reads.stored(minted) is not None


async def test_the_change_feed_hears_the_keys_of_committed_writes_only(
    services: Services, acme: Principal, other: Principal
) -> None:
    # Caches listen here to drop old answers before the writer is answered.
    heard: list[list[str]] = []

    async def listener(keys: Sequence[str]) -> None:
        heard.append(list(keys))

    services.feed.subscribe(listener)
    await services.records.put_record(acme, Handle.parse("88.999.1/Part-B"), part_values())
    with pytest.raises(PermissionDenied):
        await services.records.put_record(other, PART, part_values())
    await services.records.delete(acme, Handle.parse("88.999.1/part-b"))

    assert heard == [["88.999.1/PART-B"], ["88.999.1/PART-B"]]
