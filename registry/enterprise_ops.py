"""Onboarding enterprises: their prefixes, prefix handles and administrators; finding and listing them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import insert

from .accounts import Accounts
from .codec import decode_values, encode_values
from .enterprises import (
    ACTIVE,
    Enterprise,
    EnterpriseInput,
    derived_prefix_values,
    find_enterprise,
    insert_enterprise,
    insert_prefix,
    list_enterprises,
    lock_allocations,
    prefix_handle_values,
    refuse_nested,
)
from .errors import Conflict, HandleNotFound, InvalidEnterprise, NotResponsible
from .handle import Handle, is_under, normalise_prefix
from .native_secrets import keep_sealed
from .principals import Principal
from .reads import Reads
from .store import journal, records
from .store.schema import users
from .values import HS_ADMIN, AdminData, HandleValue
from .writer import WriteContext
from .writes import Records


class Enterprises:
    """The node administrator's onboarding, and the enterprises as the node knows them."""

    def __init__(self, records: Records, accounts: Accounts, reads: Reads) -> None:
        self._records = records
        self._writer = records.writer
        self._accounts = accounts
        self._reads = reads

    @property
    def _node_prefix(self) -> str:
        return self._writer.node.prefix

    async def find(self, prefix: str) -> Enterprise:
        """The enterprise owning `prefix`, or `HandleNotFound`."""
        async with self._writer.store.reader.connect() as conn:
            found = await find_enterprise(conn, normalise_prefix(prefix))
        if found is None:
            raise HandleNotFound(f"no enterprise owns prefix {prefix}")
        return found

    async def all(self) -> list[Enterprise]:
        async with self._writer.store.reader.connect() as conn:
            return await list_enterprises(conn)

    async def add(
        self, principal: Principal, details: EnterpriseInput, *, prefix: str, secret: str
    ) -> Enterprise:
        """Create an enterprise owning `prefix`, its prefix handle and its administrator
        `300:0.NA/<prefix>` (whose SNMS user name is the prefix, with the same secret)."""
        details = details.validated()
        prefix = self._allocatable(prefix)
        if not secret:
            raise InvalidEnterprise("the enterprise administrator needs a secret")
        values = await self._records.prepare(prefix_handle_values(prefix, secret))
        account = await self._accounts.account_row(
            username=prefix, enterprise_id=0, acts_as=prefix, password=secret
        )
        async with self._writer.transaction(principal) as ctx:
            await self._may_allocate(ctx, prefix, None)
            enterprise_id = await insert_enterprise(ctx.conn, details, ctx.now)
            await insert_prefix(ctx.conn, prefix, enterprise_id, ctx.now)
            await create_prefix_handle(ctx, prefix, values)
            await ctx.conn.execute(insert(users).values(**{**account, "enterprise_id": enterprise_id}))
        fields = (details.name, details.credit_code, details.industry, details.contact)
        return Enterprise(enterprise_id, *fields, ACTIVE, (prefix,))

    async def add_prefix(self, principal: Principal, *, owner_prefix: str, prefix: str) -> Enterprise:
        """Allocate a further prefix to the enterprise owning `owner_prefix`, with the same administrators."""
        prefix = self._allocatable(prefix)
        owner_prefix = normalise_prefix(owner_prefix)
        async with self._writer.transaction(principal) as ctx:
            owner = await find_enterprise(ctx.conn, owner_prefix)
            stored = await records.read(ctx.conn, ctx.key(Handle.for_prefix(owner_prefix)))
            if owner is None or stored is None:
                raise HandleNotFound(f"no enterprise owns prefix {owner_prefix}")
            await self._may_allocate(ctx, prefix, owner.id)
            admins = [
                v.data for v in decode_values(stored) if v.type == HS_ADMIN and isinstance(v.data, AdminData)
            ]
            await insert_prefix(ctx.conn, prefix, owner.id, ctx.now)
            values = await self._records.prepare(derived_prefix_values(admins[0]))
            await create_prefix_handle(ctx, prefix, values)
        return replace(owner, prefixes=tuple(sorted((*owner.prefixes, prefix))))

    async def next_free_prefix(self) -> str:
        """The next unallocated `<node prefix>.<n>`, after the highest number given out so far (`88.999.3.1`
        takes 3 too: `88.999.3` would lie around it)."""
        node_prefix = self._node_prefix
        below = [
            p[len(node_prefix) + 1 :] for p in await self._reads.prefixes() if p.startswith(node_prefix + ".")
        ]
        taken = [rest.partition(".")[0] for rest in below]
        numbers = [int(n) for n in taken if n.isdigit()]
        return f"{node_prefix}.{max(numbers, default=0) + 1}"

    async def _may_allocate(self, ctx: WriteContext, prefix: str, owner_id: int | None) -> None:
        """Raise unless the principal may allocate `prefix` to the enterprise `owner_id` (None: a new one):
        it makes the prefix handle, and the prefix may not nest with another enterprise's."""
        await ctx.authz.check_create(Handle.for_prefix(prefix))
        await lock_allocations(ctx.conn, self._node_prefix)
        await refuse_nested(ctx.conn, prefix, owner_id)

    def _allocatable(self, prefix: str) -> str:
        prefix = normalise_prefix(prefix)
        if prefix == self._node_prefix or not is_under(prefix, self._node_prefix):
            raise NotResponsible(f"enterprise prefixes are allocated under {self._node_prefix}, not {prefix}")
        return prefix


async def create_prefix_handle(ctx: WriteContext, prefix: str, values: Sequence[HandleValue]) -> None:
    handle = Handle.for_prefix(prefix)
    await ctx.authz.check_create(handle)
    key = ctx.key(handle)
    encoded = encode_values(values, ctx.stamp).decode()
    if not await records.insert_new(
        ctx.conn, [records.new_row(handle.prefix, key, str(handle), encoded, ctx.now)]
    ):
        raise Conflict(f"the prefix handle {handle} exists already")
    await keep_sealed(ctx.conn, [(key, values, False)])
    await ctx.record([(key, journal.CREATE)])
