"""Who may do what, as one table: principal × HS_ADMIN permissions × operation → done, or PermissionDenied.

Every operation of the registry's write paths (and the READ_VALUE query) needs one of the twelve permissions.
Each row grants another enterprise (`300:0.NA/88.999.2`) exactly that permission, or every permission but that
one, either in the record (through an HS_VLIST group it belongs to) or in the prefix handle `0.NA/88.999.1`;
or grants it nothing, and then the node administrator acts. A refused operation changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from registry import (
    AdminData,
    AdminPermission,
    Handle,
    HandleValue,
    InsufficientPermissions,
    ItemResult,
    PermissionDenied,
    Principal,
    Reference,
    RegistryError,
    Services,
    VListData,
    decode_values,
    delete_many,
    parse_template,
    register_many,
    update_many,
)
from registry.store import journal
from tests.registry.test_templates import coil_template_json

P = AdminPermission
SHARED = Handle.parse("88.999.1/SHARED")
TEAM = Handle.parse("88.999.2/TEAM")  # the other enterprise's group: HS_VLIST at 200 holding its key
OWNER_GROUP = AdminData("0.NA/88.999.1", 200, "011111110011")
NOTHING = "000000000000"
Op = Callable[[Services, Principal], Awaitable[object]]


def bits(granted: set[AdminPermission]) -> str:
    """The permission text of `granted`, bit 11 first."""
    return "".join("1" if 11 - position in granted else "0" for position in range(12))


def admin(index: int, handle: str, key: int, permissions: str) -> HandleValue:
    return HandleValue(index, "HS_ADMIN", AdminData(handle, key, permissions))


def text(index: int, value: str, type_: str = "URL") -> HandleValue:
    return HandleValue.text(index, type_, value)


async def current(services: Services, handle: Handle = SHARED) -> list[HandleValue]:
    return decode_values(await services.reads.stored(handle) or "[]")


async def journalled(services: Services) -> int:
    async with services.store.reader.connect() as conn:
        return len(await journal.since(conn, 0))


def ok_items(results: list[ItemResult]) -> None:
    """Raise the error of the first item that failed."""
    for result in results:
        if not result.ok:
            assert isinstance(result.error, RegistryError)
            raise result.error


# -- the operations ----------------------------------------------------------------------------------------


async def add_value(s: Services, who: Principal) -> None:
    await s.records.put_values(who, SHARED, [text(3, "https://b.example")])


async def add_value_no_overwrite(s: Services, who: Principal) -> None:
    await s.records.put_values(who, SHARED, [text(4, "https://c.example")], overwrite=False)


async def modify_value(s: Services, who: Principal) -> None:
    await s.records.put_values(who, SHARED, [text(1, "https://changed.example")])


async def remove_value(s: Services, who: Principal) -> None:
    await s.records.delete_values(who, SHARED, [2])


async def replace_adding(s: Services, who: Principal) -> None:
    await s.records.put_record(who, SHARED, [*await current(s), text(5, "https://d.example")])


async def replace_dropping(s: Services, who: Principal) -> None:
    await s.records.put_record(who, SHARED, [v for v in await current(s) if v.index != 2])


async def snms_update(s: Services, who: Principal) -> None:
    await s.records.replace_business_values(who, SHARED, [text(2000, "B2", "batch")])


async def add_admin(s: Services, who: Principal) -> None:
    await s.records.put_values(who, SHARED, [admin(104, "88.999.1/ops", 300, NOTHING)])


async def modify_admin(s: Services, who: Principal) -> None:
    await s.records.put_values(who, SHARED, [admin(103, "88.999.1/ops2", 300, NOTHING)])


async def remove_admin(s: Services, who: Principal) -> None:
    await s.records.delete_values(who, SHARED, [103])


async def delete_handle(s: Services, who: Principal) -> None:
    await s.records.delete(who, SHARED)


async def batch_replace(s: Services, who: Principal) -> None:
    changed = [text(1, "https://e.example") if v.index == 1 else v for v in await current(s)]
    ok_items(await register_many(s.records, who, [(str(SHARED), changed)], overwrite=True))


async def batch_update(s: Services, who: Principal) -> None:
    ok_items(await update_many(s.records, who, [(str(SHARED), [text(2000, "B3", "batch")])]))


async def batch_delete(s: Services, who: Principal) -> None:
    ok_items(await delete_many(s.records, who, [str(SHARED)]))


async def read_value(s: Services, who: Principal) -> None:
    async with s.writer.transaction(who) as ctx:
        if not await ctx.authz.may_read(SHARED, await current(s)):
            raise PermissionDenied("may not read")


async def create_handle(s: Services, who: Principal) -> None:
    await s.records.put_record(who, Handle.parse("88.999.1/NEW"), [text(1, "https://new.example")])


async def mint_handle(s: Services, who: Principal) -> None:
    await s.records.mint(who, "88.999.1", [text(1, "https://minted.example")])


async def batch_create(s: Services, who: Principal) -> None:
    ok_items(await register_many(s.records, who, [("88.999.1/NEW-1", [text(1, "https://n.example")])]))


async def list_prefix(s: Services, who: Principal) -> None:
    await s.reads.list_handles(who, "88.999.1", page=0, page_size=10)


async def add_derived_prefix(s: Services, who: Principal) -> None:
    await s.records.put_record(
        who, Handle.parse("0.NA/88.999.1.5"), [admin(100, "0.NA/88.999.2", 300, NOTHING)]
    )


async def delete_derived_prefix(s: Services, who: Principal) -> None:
    await s.records.delete(who, Handle.parse("0.NA/88.999.1.6"))


async def add_template(s: Services, who: Principal) -> None:
    await s.templates.add(who, parse_template(coil_template_json() | {"version": "2.0"}))


async def change_template(s: Services, who: Principal) -> None:
    await s.templates.change(who, parse_template(coil_template_json() | {"description": "热轧钢卷 v1"}))


async def remove_template(s: Services, who: Principal) -> None:
    await s.templates.remove(who, "88.999.1", "1.0")


@dataclass(frozen=True)
class Row:
    op: Op
    needs: AdminPermission
    on_prefix: bool = False  # granted only in the prefix handle, never by a record


OPERATIONS = [
    Row(add_value, P.ADD_VALUE),
    Row(add_value_no_overwrite, P.ADD_VALUE),
    Row(modify_value, P.MODIFY_VALUE),
    Row(remove_value, P.REMOVE_VALUE),
    Row(replace_adding, P.ADD_VALUE),
    Row(replace_dropping, P.REMOVE_VALUE),
    Row(snms_update, P.MODIFY_VALUE),
    Row(add_admin, P.ADD_ADMIN),
    Row(modify_admin, P.MODIFY_ADMIN),
    Row(remove_admin, P.REMOVE_ADMIN),
    Row(delete_handle, P.DELETE_HANDLE),
    Row(batch_replace, P.MODIFY_VALUE),
    Row(batch_update, P.MODIFY_VALUE),
    Row(batch_delete, P.DELETE_HANDLE),
    Row(read_value, P.READ_VALUE),
    Row(create_handle, P.ADD_HANDLE, on_prefix=True),
    Row(mint_handle, P.ADD_HANDLE, on_prefix=True),
    Row(batch_create, P.ADD_HANDLE, on_prefix=True),
    Row(list_prefix, P.LIST_HANDLES, on_prefix=True),
    Row(add_derived_prefix, P.ADD_DERIVED_PREFIX, on_prefix=True),
    Row(delete_derived_prefix, P.DELETE_DERIVED_PREFIX, on_prefix=True),
    Row(add_template, P.ADD_VALUE, on_prefix=True),
    Row(change_template, P.MODIFY_VALUE, on_prefix=True),
    Row(remove_template, P.REMOVE_VALUE, on_prefix=True),
]
# What the other enterprise was granted: where (in the record, through its group, or in the prefix handle),
# and whether only the permission needed or everything else; or nothing, after which the node administrator
# acts.
GRANTS = [
    ("record", "only"),
    ("record", "all-but"),
    ("prefix", "only"),
    ("prefix", "all-but"),
    ("nowhere", "then-node-admin"),
]


def test_the_table_covers_all_twelve_permissions() -> None:
    assert {row.needs for row in OPERATIONS} == set(AdminPermission)


async def set_up(s: Services, acme: Principal, other: Principal) -> None:
    """A record of Acme's, the other enterprise's group, a derived prefix and a template."""
    admin_of_node = s.node.admin
    await s.records.put_record(
        other, TEAM, [HandleValue(200, "HS_VLIST", VListData((Reference("0.NA/88.999.2", 300),)))]
    )
    owned = [
        text(1, "https://mes.example.com/shared"),
        text(2, "qa@example.com", "EMAIL"),
        HandleValue(100, "HS_ADMIN", OWNER_GROUP),
        admin(103, "88.999.1/ops", 300, NOTHING),
        text(2000, "B1", "batch"),
    ]
    await s.records.put_record(acme, SHARED, owned)
    await s.records.put_record(
        admin_of_node, Handle.parse("0.NA/88.999.1.6"), [HandleValue(100, "HS_ADMIN", OWNER_GROUP)]
    )
    await s.templates.add(acme, parse_template(coil_template_json()))


async def grant(s: Services, where: str, permissions: str) -> None:
    """The node administrator grants the other enterprise `permissions` on Acme's record or prefix."""
    if where == "record":
        await s.records.put_values(s.node.admin, SHARED, [admin(101, str(TEAM), 200, permissions)])
    elif where == "prefix":
        prefix_handle = Handle.parse("0.NA/88.999.1")
        await s.records.put_values(
            s.node.admin, prefix_handle, [admin(102, "0.NA/88.999.2", 300, permissions)]
        )


def _expected(row: Row, where: str, mode: str) -> bool:
    if where == "nowhere" or mode == "all-but":
        return False
    return where == "prefix" or not row.on_prefix


@pytest.mark.parametrize(("where", "mode"), GRANTS, ids=[f"{w}-{m}" for w, m in GRANTS])
@pytest.mark.parametrize("row", OPERATIONS, ids=[f"{r.op.__name__}-{r.needs.name}" for r in OPERATIONS])
async def test_who_may_do_what(
    services: Services, acme: Principal, other: Principal, row: Row, where: str, mode: str
) -> None:
    await set_up(services, acme, other)
    granted = {row.needs} if mode == "only" else set(AdminPermission) - {row.needs}
    await grant(services, where, bits(granted))
    before = (await services.reads.stored(SHARED), await journalled(services))

    if _expected(row, where, mode):
        await row.op(services, other)
    else:
        with pytest.raises(PermissionDenied):
            await row.op(services, other)
        assert (await services.reads.stored(SHARED), await journalled(services)) == before
    if where == "nowhere":
        await row.op(services, services.node.admin)  # who may do everything under the node's prefix


# -- the rows' fine print ------------------------------------------------------------------------------


async def test_a_stranger_outside_the_group_holds_nothing_the_group_was_granted(
    services: Services, acme: Principal, other: Principal
) -> None:
    await set_up(services, acme, other)
    await grant(services, "record", "111111111111")
    stranger = Principal.parse("300:88.999.2/STRANGER")

    with pytest.raises(PermissionDenied) as refused:
        await modify_value(services, stranger)
    assert not isinstance(refused.value, InsufficientPermissions)  # not an administrator at all
    await modify_value(services, other)


async def test_a_group_inside_a_group_still_names_its_members(
    services: Services, acme: Principal, other: Principal
) -> None:
    await set_up(services, acme, other)
    outer = Handle.parse("88.999.2/DEPARTMENT")
    await services.records.put_record(
        other, outer, [HandleValue(200, "HS_VLIST", VListData((Reference(str(TEAM), 200),)))]
    )
    await services.records.put_values(
        services.node.admin, SHARED, [admin(101, str(outer), 200, "000001110000")]
    )

    await modify_value(services, other)
    with pytest.raises(InsufficientPermissions):  # an administrator, but not of admins
        await add_admin(services, other)


async def test_the_attack_of_issue_13_is_refused_step_by_step(
    services: Services, acme: Principal, other: Principal
) -> None:
    """Granted modify-admin and value rights (`000011110000`) on a record, the other enterprise can neither
    grant itself more, nor delete the record, nor remove the owner's administrator."""
    await set_up(services, acme, other)
    await services.records.put_values(acme, SHARED, [admin(101, "0.NA/88.999.2", 300, "000011110000")])
    everything = "111111111111"
    attempts = [
        services.records.put_values(other, SHARED, [admin(105, "0.NA/88.999.2", 300, everything)]),
        services.records.put_values(other, SHARED, [admin(101, "0.NA/88.999.2", 300, everything)]),
        services.records.put_values(other, SHARED, [admin(100, "0.NA/88.999.2", 300, "011111110011")]),
        services.records.delete(other, SHARED),
        services.records.delete_values(other, SHARED, [100]),
    ]
    before = await services.reads.stored(SHARED)

    for attempt in attempts:
        with pytest.raises(InsufficientPermissions):
            await attempt
    assert await services.reads.stored(SHARED) == before
    await modify_value(services, other)  # what it was granted, it may do
    await services.records.delete(acme, SHARED)  # and the owner still may do everything


async def test_value_rights_do_not_reach_a_group_that_names_the_records_administrators(
    services: Services, acme: Principal, other: Principal
) -> None:
    await set_up(services, acme, other)
    own_group = [
        admin(100, str(SHARED), 200, "011111110011"),
        HandleValue(200, "HS_VLIST", VListData((Reference("0.NA/88.999.1", 300),))),
        admin(101, "0.NA/88.999.2", 300, "000001110000"),
    ]
    await services.records.put_values(acme, SHARED, own_group)
    joined = VListData((Reference("0.NA/88.999.1", 300), Reference("0.NA/88.999.2", 300)))

    with pytest.raises(InsufficientPermissions):
        await services.records.put_values(other, SHARED, [HandleValue(200, "HS_VLIST", joined)])
    await services.records.put_values(other, SHARED, [text(1, "https://fine.example")])


async def test_sending_a_record_again_unchanged_needs_only_to_administer_it(
    services: Services, acme: Principal, other: Principal
) -> None:
    await set_up(services, acme, other)
    reader = bits({P.READ_VALUE})
    await services.records.put_values(acme, SHARED, [admin(101, "0.NA/88.999.2", 300, reader)])
    unchanged = await current(services)

    await services.records.put_record(other, SHARED, unchanged)  # read-only administrator: nothing changes
    with pytest.raises(PermissionDenied):
        await services.records.put_record(Principal.parse("300:0.NA/88.999.3"), SHARED, unchanged)


async def test_an_enterprise_may_not_grant_itself_the_derived_prefix_rights_it_lacks(
    services: Services, acme: Principal
) -> None:
    own = Handle.parse("0.NA/88.999.1")
    everything = [HandleValue(100, "HS_ADMIN", AdminData("0.NA/88.999.1", 200, "111111111111"))]

    with pytest.raises(InsufficientPermissions, match="add derived prefix"):
        await services.records.put_values(acme, own, everything)
    await services.records.put_values(acme, own, [text(301, "rotated", "HS_SECKEY")])  # its own keys: yes
