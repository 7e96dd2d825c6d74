"""Writing records: create, replace, add and remove values, delete, mint. Each write is one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace

from .codec import decode_values, encode_values
from .errors import HandleExists, HandleNotFound, ValueExists, ValuesNotFound
from .handle import Handle
from .keys import NodeKeys
from .links import LinkValues, holds_links, keep_linked_or_raise, link_values
from .native_secrets import holds_secret, keep_sealed
from .passwords import Passwords
from .prepare import prepare_values
from .principals import Principal
from .rights import Need
from .store import journal, records
from .values import FIRST_BUSINESS_INDEX, TEMPLATE_INDEX, AdminPermission, HandleValue
from .writer import WriteContext, Writer

REMOVE_VALUE = AdminPermission.REMOVE_VALUE
MODIFY_VALUE = AdminPermission.MODIFY_VALUE


def is_business(value: HandleValue) -> bool:
    """The values an SNMS client owns: the template version and the template's items."""
    return value.index == TEMPLATE_INDEX or value.index >= FIRST_BUSINESS_INDEX


def merge_business(current: Sequence[HandleValue], fresh: Sequence[HandleValue]) -> list[HandleValue]:
    """`fresh` as the record's business values, with the system values of `current` it does not replace."""
    replaced = {value.index for value in fresh}
    return [v for v in current if not is_business(v) and v.index not in replaced] + list(fresh)


class Records:
    """The record writes of one node; `passwords` hashes the secret keys that records carry, and the
    credential key of `keys` seals them for the native protocol (`native_secrets.py`)."""

    def __init__(self, writer: Writer, passwords: Passwords, keys: NodeKeys) -> None:
        self.writer = writer
        self.passwords = passwords
        self.keys = keys

    async def prepare(self, values: Sequence[HandleValue]) -> list[HandleValue]:
        """`values` as they are stored (checked; secret keys hashed, and sealed)."""
        return await prepare_values(values, self.passwords, self.keys)

    async def put_record(
        self, principal: Principal, handle: Handle, values: Sequence[HandleValue], *, overwrite: bool = True
    ) -> bool:
        """Create the record, or replace it when `overwrite`; True when it was created."""
        prepared = await self.prepare(values)
        encoded = encode_values(prepared, self.writer.stamp()).decode()
        async with self.writer.transaction(principal) as ctx:
            key = ctx.key(handle)
            existing = await records.read_for_update(ctx.conn, key)
            created, held = existing is None, False
            linked: LinkValues = ()
            if created:
                await ctx.authz.check_create(handle)
                template = await ctx.template_of(handle, prepared)
                row = records.new_row(handle.prefix, key, str(handle), encoded, ctx.now, template)
                created = bool(await records.insert_new(ctx.conn, [row]))
                if not created:  # another writer created it since our read
                    existing = await records.read_for_update(ctx.conn, key)
            if not created:
                if not overwrite:
                    raise HandleExists(handle=str(handle))
                # A replacement is the adds, changes and removals it makes, each authorised.
                before = decode_values(existing or "[]")
                await ctx.authz.check_change(handle, before, prepared)
                template = await ctx.template_of(handle, prepared)
                await records.replace(ctx.conn, key, encoded, ctx.now, template)
                held, linked = holds_secret(before), link_values(before)
            await _keep_linked(ctx, handle, prepared, linked)
            await keep_sealed(ctx.conn, [(key, prepared, held)])
            await ctx.record([(key, journal.CREATE if created else journal.UPDATE)])
        return created

    async def mint(
        self, principal: Principal, prefix: str, values: Sequence[HandleValue], *, stem: str = ""
    ) -> Handle:
        """Create a record under `prefix` whose suffix is `stem` and a UUID the node chooses."""
        while True:
            handle = Handle.parse(f"{prefix}/{stem}{uuid.uuid4()}")
            try:
                await self.put_record(principal, handle, values, overwrite=False)
            except HandleExists:
                continue
            return handle

    async def put_values(
        self, principal: Principal, handle: Handle, values: Sequence[HandleValue], *, overwrite: bool = True
    ) -> bool:
        """Add values to an existing record, replacing those with the same index when `overwrite`; True when
        a value was replaced."""
        now = int(self.writer.clock())
        fresh = [replace(value, timestamp=now) for value in await self.prepare(values)]
        async with self.writer.transaction(principal) as ctx:
            current = await _current(ctx, handle)
            by_index = {value.index: value for value in current}
            taken = sorted(v.index for v in fresh if v.index in by_index)
            if taken and not overwrite:
                # Authorised as the adding it asked for before saying what exists (values may be private).
                await ctx.authz.check_adding(handle, current, fresh)
                raise ValueExists(f"values already exist at index {taken}", handle=str(handle))
            by_index.update((value.index, value) for value in fresh)
            await _store_values(ctx, handle, current, list(by_index.values()))
        return bool(taken)

    async def replace_business_values(
        self, principal: Principal, handle: Handle, values: Sequence[HandleValue]
    ) -> None:
        """Replace the record's template and business values (index 1001 and ≥ 2000) by `values`, keeping
        its system values (URL, HS_ADMIN…): an SNMS update."""
        now = int(self.writer.clock())
        fresh = [replace(value, timestamp=now) for value in await self.prepare(values)]
        async with self.writer.transaction(principal) as ctx:
            current = await _current(ctx, handle)
            await _store_values(ctx, handle, current, merge_business(current, fresh))

    async def modify_values(
        self, principal: Principal, handle: Handle, values: Sequence[HandleValue]
    ) -> None:
        """Replace values that exist (the native protocol's MODIFY_VALUE): `ValuesNotFound` when one does not,
        told only to someone who may modify the record's values."""
        now = int(self.writer.clock())
        fresh = [replace(value, timestamp=now) for value in await self.prepare(values)]
        async with self.writer.transaction(principal) as ctx:
            current = await _current(ctx, handle)
            by_index = {value.index: value for value in current}
            missing = sorted({value.index for value in fresh} - set(by_index))
            if missing:
                await ctx.authz.check_needs(handle, current, [Need(MODIFY_VALUE, index) for index in missing])
                raise ValuesNotFound(f"no values at index {missing}", handle=str(handle))
            by_index.update((value.index, value) for value in fresh)
            await _store_values(ctx, handle, current, list(by_index.values()))

    async def delete_values(self, principal: Principal, handle: Handle, indexes: Iterable[int]) -> None:
        """Remove the values at `indexes`; all of them must exist."""
        wanted = set(indexes)
        async with self.writer.transaction(principal) as ctx:
            current = await _current(ctx, handle)
            missing = sorted(wanted - {value.index for value in current})
            if missing:
                # Only someone who may remove values learns which ones there are not.
                await ctx.authz.check_needs(handle, current, [Need(REMOVE_VALUE, index) for index in missing])
                raise ValuesNotFound(f"no values at index {missing}", handle=str(handle))
            kept = [value for value in current if value.index not in wanted]
            await _store_values(ctx, handle, current, kept)

    async def delete(self, principal: Principal, handle: Handle) -> None:
        """Delete the record (its sealed secrets go with it)."""
        async with self.writer.transaction(principal) as ctx:
            await ctx.authz.check_delete(handle, await _current(ctx, handle))
            await records.remove(ctx.conn, ctx.key(handle))
            await ctx.record([(ctx.key(handle), journal.DELETE)])


async def _current(ctx: WriteContext, handle: Handle) -> list[HandleValue]:
    """The record's values, locked until the transaction ends."""
    stored = await records.read_for_update(ctx.conn, ctx.key(handle))
    if stored is None:
        raise HandleNotFound(handle=str(handle))
    return decode_values(stored)


async def _keep_linked(
    ctx: WriteContext, handle: Handle, values: Sequence[HandleValue], before: LinkValues
) -> None:
    """The record's link rows made those of `values` (checked: the write is refused otherwise); `before`
    its link values as they were."""
    if before or holds_links(values):
        change = (ctx.key(handle), handle, values, before)
        await keep_linked_or_raise(ctx.conn, ctx.naming, ctx.node_prefix, change)


async def _store_values(
    ctx: WriteContext, handle: Handle, current: Sequence[HandleValue], values: Sequence[HandleValue]
) -> None:
    """Replace the record's values `current` by `values`, once the principal may make that change."""
    await ctx.authz.check_change(handle, current, values)
    template = await ctx.template_of(handle, values)
    key = ctx.key(handle)
    await records.replace(ctx.conn, key, encode_values(values).decode(), ctx.now, template)
    await _keep_linked(ctx, handle, values, link_values(current))
    await keep_sealed(ctx.conn, [(key, values, holds_secret(current))])
    await ctx.record([(key, journal.UPDATE)])
