"""Setting up a node and onboarding enterprises: the node administrator's operations."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import insert, select

from .accounts import account_row
from .authz import Operation
from .codec import decode_values, encode_values
from .enterprises import (
    ACTIVE,
    Enterprise,
    EnterpriseInput,
    derived_prefix_values,
    find_enterprise,
    insert_enterprise,
    insert_prefix,
    prefix_handle_values,
)
from .errors import Conflict, HandleNotFound, InvalidEnterprise, NodeNotInitialised, NotResponsible
from .handle import Handle, is_under, normalise_prefix
from .principals import Principal
from .service import Registry, WriteContext
from .store import journal, records
from .store.schema import node, users
from .values import HS_ADMIN, AdminData, HandleValue


@dataclass(frozen=True, slots=True)
class NodeSetup:
    node_prefix: str
    created: bool
    admin: Principal


def new_secret() -> str:
    """A random secret for an administrator who was not given one."""
    return secrets.token_urlsafe(18)


async def init_node(registry: Registry, node_prefix: str, admin_secret: str) -> NodeSetup:
    """Set the node's prefix and create its administrator, once; a second call changes nothing."""
    node_prefix = normalise_prefix(node_prefix)
    admin = Principal(Handle.for_prefix(node_prefix))
    try:
        existing: str | None = await registry.node_prefix()
    except NodeNotInitialised:
        existing = None
    if existing is not None:
        if existing != node_prefix:
            raise Conflict(f"this database belongs to node {existing}, not {node_prefix}")
        return NodeSetup(existing, False, admin)
    values = await registry.prepare(prefix_handle_values(node_prefix, admin_secret))
    async with registry.store.writer.begin() as conn:
        if (await conn.execute(select(node.c.value).where(node.c.key == "prefix"))).first():
            raise Conflict("another process initialised this database just now")
        await conn.execute(insert(node).values(key="prefix", value=node_prefix))
        now = registry.now()
        await insert_prefix(conn, node_prefix, None, now)
        name = str(admin.handle)
        row = records.new_row(
            admin.handle.prefix, name, encode_values(values, registry.stamp()).decode(), now
        )
        await records.insert_new(conn, [row])
        await journal.append(conn, [(name, journal.CREATE)], principal=str(admin), at=now)
    return NodeSetup(node_prefix, True, admin)


async def node_admin(registry: Registry) -> Principal:
    """The node administrator, `300:0.NA/<node prefix>`."""
    return Principal(Handle.for_prefix(await registry.node_prefix()))


async def _check_allocatable(registry: Registry, prefix: str) -> str:
    prefix = normalise_prefix(prefix)
    node_prefix = await registry.node_prefix()
    if prefix == node_prefix or not is_under(prefix, node_prefix):
        raise NotResponsible(f"enterprise prefixes are allocated under {node_prefix}, not {prefix}")
    return prefix


async def _create_prefix_handle(ctx: WriteContext, prefix: str, values: Sequence[HandleValue]) -> None:
    handle = Handle.for_prefix(prefix)
    await ctx.authz.check(handle, Operation.CREATE)
    row = records.new_row(handle.prefix, str(handle), encode_values(values, ctx.stamp).decode(), ctx.now)
    if not await records.insert_new(ctx.conn, [row]):
        raise Conflict(f"the prefix handle {handle} exists already")
    await ctx.record([(str(handle), journal.CREATE)])


async def add_enterprise(
    registry: Registry,
    details: EnterpriseInput,
    *,
    prefix: str,
    secret: str,
    principal: Principal | None = None,
) -> Enterprise:
    """Create an enterprise owning `prefix`, its prefix handle and its administrator `300:0.NA/<prefix>`."""
    details = details.validated()
    prefix = await _check_allocatable(registry, prefix)
    if not secret:
        raise InvalidEnterprise("the enterprise administrator needs a secret")
    principal = principal or await node_admin(registry)
    values = await registry.prepare(prefix_handle_values(prefix, secret))
    account = await account_row(registry, username=prefix, enterprise_id=0, acts_as=prefix, password=secret)
    async with registry.writing(principal) as ctx:
        enterprise_id = await insert_enterprise(ctx.conn, details, ctx.now)
        await insert_prefix(ctx.conn, prefix, enterprise_id, ctx.now)
        await _create_prefix_handle(ctx, prefix, values)
        # The administrator logs in to the SNMS API with the prefix as user name and the same secret.
        await ctx.conn.execute(insert(users).values(**{**account, "enterprise_id": enterprise_id}))
    return Enterprise(
        enterprise_id,
        details.name,
        details.credit_code,
        details.industry,
        details.contact,
        ACTIVE,
        (prefix,),
    )


async def add_prefix(
    registry: Registry, *, owner_prefix: str, prefix: str, principal: Principal | None = None
) -> Enterprise:
    """Allocate a further prefix to the enterprise owning `owner_prefix`, with the same administrators."""
    prefix = await _check_allocatable(registry, prefix)
    owner_prefix = normalise_prefix(owner_prefix)
    principal = principal or await node_admin(registry)
    async with registry.writing(principal) as ctx:
        owner = await find_enterprise(ctx.conn, owner_prefix)
        stored = await records.read(ctx.conn, str(Handle.for_prefix(owner_prefix)))
        if owner is None or stored is None:
            raise HandleNotFound(f"no enterprise owns prefix {owner_prefix}")
        admins = [
            v.data for v in decode_values(stored) if v.type == HS_ADMIN and isinstance(v.data, AdminData)
        ]
        await insert_prefix(ctx.conn, prefix, owner.id, ctx.now)
        values = await registry.prepare(derived_prefix_values(admins[0]))
        await _create_prefix_handle(ctx, prefix, values)
    return replace(owner, prefixes=tuple(sorted((*owner.prefixes, prefix))))


async def next_free_prefix(registry: Registry) -> str:
    """The next unallocated `<node prefix>.<n>`, after the highest number given out so far."""
    node_prefix = await registry.node_prefix()
    taken = [p.rpartition(".")[2] for p in await registry.prefixes() if p.rpartition(".")[0] == node_prefix]
    numbers = [int(n) for n in taken if n.isdigit()]
    return f"{node_prefix}.{max(numbers, default=0) + 1}"
