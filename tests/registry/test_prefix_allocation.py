"""Prefixes: the node administrator allocates them, never one inside or around another enterprise's; a
derived prefix (`88.999.1.5` under `88.999.1`) exists when its prefix handle does, which needs the
add-derived-prefix right on the parent; and a prefix's administrators are those its own prefix handle
names."""

from __future__ import annotations

import re

import orjson
import pytest

from registry import (
    AdminData,
    Conflict,
    EnterpriseInput,
    Handle,
    HandleValue,
    PermissionDenied,
    Principal,
    Services,
    register_many,
)

STEEL = EnterpriseInput("Third Steel", "91350100M000100Y43")
URL = [HandleValue.text(1, "URL", "https://mes.example.com/x")]


def admin_of(prefix: str, permissions: str = "111111110011") -> list[HandleValue]:
    return [HandleValue(100, "HS_ADMIN", AdminData(f"0.NA/{prefix}", 200, permissions))]


@pytest.mark.parametrize("nested", ["88.999.1.7", "88.999.1.7.3"])
async def test_a_prefix_inside_another_enterprises_is_refused(services: Services, nested: str) -> None:
    admin = services.node.admin

    with pytest.raises(Conflict, match=re.escape("inside prefix 88.999.1")):
        await services.enterprises.add(admin, STEEL, prefix=nested, secret="s")
    with pytest.raises(Conflict, match=re.escape("inside prefix 88.999.1")):
        await services.enterprises.add_prefix(admin, owner_prefix="88.999.2", prefix=nested)

    assert await services.reads.prefixes() == ["88.999", "88.999.1", "88.999.2"]
    assert await services.reads.stored(Handle.for_prefix(nested)) is None


async def test_a_prefix_around_another_enterprises_is_refused(services: Services) -> None:
    admin = services.node.admin
    await services.enterprises.add(admin, STEEL, prefix="88.999.3.1", secret="s")

    with pytest.raises(Conflict, match=re.escape("around prefix 88.999.3.1")):
        await services.enterprises.add_prefix(admin, owner_prefix="88.999.2", prefix="88.999.3")

    assert await services.reads.prefixes() == ["88.999", "88.999.1", "88.999.2", "88.999.3.1"]


async def test_an_enterprise_may_be_given_a_prefix_inside_its_own(
    services: Services, acme: Principal
) -> None:
    made = await services.enterprises.add_prefix(
        services.node.admin, owner_prefix="88.999.1", prefix="88.999.1.7"
    )

    assert made.prefixes == ("88.999.1", "88.999.1.7")
    assert await services.records.put_record(acme, Handle.parse("88.999.1.7/P-1"), URL)


async def test_a_new_enterprise_administrator_holds_everything_but_the_derived_prefix_rights(
    services: Services,
) -> None:
    stored = orjson.loads(await services.reads.stored(Handle.parse("0.NA/88.999.1")) or "[]")

    assert stored[0]["data"]["value"]["permissions"] == "111111110011"


async def test_writing_under_a_derived_prefix_nobody_allocated_is_refused(
    services: Services, acme: Principal
) -> None:
    with pytest.raises(PermissionDenied, match=re.escape("prefix 88.999.1.5 is not allocated")):
        await services.records.put_record(acme, Handle.parse("88.999.1.5/X"), URL)
    [result] = await register_many(services.records, acme, [("88.999.1.5/Y", URL)])
    assert isinstance(result.error, PermissionDenied)
    with pytest.raises(PermissionDenied, match="add derived prefix"):
        await services.records.put_record(acme, Handle.parse("0.NA/88.999.1.5"), admin_of("88.999.1"))

    # The node administrator may do everything under the node's prefix.
    assert await services.records.put_record(services.node.admin, Handle.parse("88.999.1.5/Z"), URL)


async def test_with_the_derived_prefix_rights_an_enterprise_makes_its_own_derived_prefix(
    services: Services, acme: Principal, other: Principal
) -> None:
    own = Handle.parse("0.NA/88.999.1")
    await services.records.put_values(services.node.admin, own, admin_of("88.999.1", "111111111111"))
    derived = Handle.parse("0.NA/88.999.1.5")

    assert await services.records.put_record(acme, derived, admin_of("88.999.1"))
    assert await services.records.put_record(acme, Handle.parse("88.999.1.5/X"), URL)
    with pytest.raises(PermissionDenied):
        await services.records.put_record(other, Handle.parse("88.999.1.5/Y"), URL)
    await services.records.delete(acme, derived)
    assert await services.reads.stored(derived) is None


async def test_a_derived_prefix_is_governed_by_its_own_prefix_handle_not_its_parents(
    services: Services, acme: Principal, other: Principal
) -> None:
    """Like a prefix allocated inside another before allocations were checked: the parent's enterprise has no
    rights over it."""
    await services.records.put_record(
        services.node.admin, Handle.parse("0.NA/88.999.1.9"), admin_of("88.999.2")
    )
    theirs = Handle.parse("88.999.1.9/C-1")
    assert await services.records.put_record(other, theirs, URL)

    with pytest.raises(PermissionDenied):
        await services.records.put_record(acme, theirs, [HandleValue.text(1, "URL", "https://evil.example")])
    with pytest.raises(PermissionDenied):
        await services.reads.list_handles(acme, "88.999.1.9", page=0, page_size=10)
    with pytest.raises(PermissionDenied):
        await services.records.delete(acme, theirs)
