"""The registry's write API: every change is one transaction that also appends to the change journal."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .authz import Authoriser, Operation
from .codec import decode_values, encode_values
from .enterprises import enterprise_active
from .errors import (
    AuthenticationFailed,
    HandleExists,
    HandleNotFound,
    InvalidValue,
    NodeNotInitialised,
    ValueExists,
    ValuesNotFound,
)
from .handle import Handle
from .passwords import HASH_MARK, Passwords
from .principals import Principal
from .store import journal, records, template_rows
from .store.engine import Store
from .store.schema import node, prefixes
from .templates import Template, template_version
from .values import (
    FIRST_BUSINESS_INDEX,
    HS_SECKEY,
    TEMPLATE_INDEX,
    HandleValue,
    StringData,
    render_time,
)

MAX_VALUES_PER_RECORD = 1_000


def is_business(value: HandleValue) -> bool:
    """The values an SNMS client owns: the template version and the template's items."""
    return value.index == TEMPLATE_INDEX or value.index >= FIRST_BUSINESS_INDEX


def merge_business(current: Sequence[HandleValue], fresh: Sequence[HandleValue]) -> list[HandleValue]:
    """`fresh` as the record's business values, with the system values of `current` it does not replace."""
    replaced = {value.index for value in fresh}
    return [v for v in current if not is_business(v) and v.index not in replaced] + list(fresh)


SECRET_PERMISSIONS = "1100"  # admin read and write, never public


@dataclass(frozen=True, slots=True)
class HandlePage:
    prefix: str
    total: int
    page: int
    page_size: int
    handles: list[str]


@dataclass(slots=True)
class WriteContext:
    """One write transaction: its connection, authoriser and time, and the handles it changed."""

    conn: AsyncConnection
    authz: Authoriser
    principal: Principal
    now: datetime
    stamp: str  # `now` as value timestamps carry it
    changed: list[str] = field(default_factory=list)
    _templates: dict[tuple[str, str], Template | None] = field(default_factory=dict)

    async def record(self, changes: Sequence[tuple[str, str]]) -> None:
        """Journal `(handle, op)` changes in this transaction."""
        await journal.append(self.conn, changes, principal=str(self.principal), at=self.now)
        self.changed.extend(handle for handle, _ in changes)

    async def template_of(self, handle: Handle, values: Sequence[HandleValue]) -> str | None:
        """The template version `values` name (TEMPLATE at index 1001), once they are checked against it."""
        version = template_version(values)
        if version is None or handle.is_prefix_handle:
            return None
        key = (handle.prefix, version)
        if key not in self._templates:
            self._templates[key] = await template_rows.read(self.conn, *key)
        template = self._templates[key]
        if template is None:
            raise InvalidValue(f"前缀 {handle.prefix} 没有版本为 {version} 的模板", handle=str(handle))
        template.check(values)
        return version


ChangeListener = Callable[[Sequence[str]], Awaitable[None]]


class Registry:
    """Reads and writes records on a `Store`; `clock` (epoch seconds) is replaceable for tests."""

    def __init__(
        self,
        store: Store,
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.passwords = passwords or Passwords()
        self.clock = clock
        self._node_prefix: str | None = None
        self._listeners: list[ChangeListener] = []
        self.keys: dict[str, bytes] = {}  # the node's keys (registry.keys), once read

    def on_change(self, listener: ChangeListener) -> None:
        """Call `listener` with the handles every committed write changed, before the write returns."""
        self._listeners.append(listener)

    def now(self) -> datetime:
        """The clock's time, to the second, as the database stores it."""
        return datetime.fromtimestamp(int(self.clock()), UTC)

    async def node_prefix(self) -> str:
        if self._node_prefix is None:
            async with self.store.reader.connect() as conn:
                stmt = select(node.c.value).where(node.c.key == "prefix")
                value = (await conn.execute(stmt)).scalar_one_or_none()
            if value is None:
                raise NodeNotInitialised()
            self._node_prefix = value
        return self._node_prefix

    async def read(self, handle: Handle) -> str | None:
        """The stored JSON values of a handle, or None: one indexed read."""
        return await self.store.points.one(str(handle))

    async def authenticate(self, username: str, secret: str) -> Principal:
        """The principal whose HS_SECKEY matches `secret`, or `AuthenticationFailed`."""
        principal = Principal.parse(username)
        stored = await self.read(principal.handle)
        for value in decode_values(stored) if stored else ():
            if (
                value.index == principal.index
                and value.type == HS_SECKEY
                and isinstance(value.data, StringData)
                and await self.passwords.verify(value.data.value, secret)
            ):
                async with self.store.reader.connect() as conn:
                    if await enterprise_active(conn, principal.handle.governing_prefix):
                        return principal
                raise AuthenticationFailed(f"the enterprise of {principal} is disabled")
        raise AuthenticationFailed(f"authentication failed for {principal}")

    async def prefixes(self) -> list[str]:
        async with self.store.reader.connect() as conn:
            stmt = select(prefixes.c.prefix).order_by(prefixes.c.prefix)
            return list((await conn.execute(stmt)).scalars().all())

    # -- writes ---------------------------------------------------------------------------------------

    @asynccontextmanager
    async def writing(self, principal: Principal) -> AsyncIterator[WriteContext]:
        """One write transaction with an authoriser for `principal`; once it has committed, the change
        listeners hear of what it changed (caches drop old answers before the writer is answered)."""
        node_prefix = await self.node_prefix()
        async with self.store.writer.begin() as conn:
            now = self.now()
            stamp = render_time(int(now.timestamp()))
            ctx = WriteContext(conn, Authoriser(conn, node_prefix, principal), principal, now, stamp)
            yield ctx
        if ctx.changed:
            for listener in self._listeners:
                await listener(ctx.changed)

    def stamp(self) -> str:
        """The clock's time as value timestamps carry it."""
        return render_time(int(self.clock()))

    async def prepare(self, values: Sequence[HandleValue]) -> list[HandleValue]:
        """Check a record's values and hash any plain secret key; the result is what gets stored
        (encoded with `stamp()` as the timestamp of new values)."""
        if len(values) > MAX_VALUES_PER_RECORD:
            raise InvalidValue(f"a record holds at most {MAX_VALUES_PER_RECORD} values")
        if len({value.index for value in values}) != len(values):
            raise InvalidValue("two values of the record have the same index")
        return [await self._protect(value) if value.is_secret else value for value in values]

    async def _protect(self, value: HandleValue) -> HandleValue:
        if value.type != HS_SECKEY:
            return value
        if not isinstance(value.data, StringData):
            raise InvalidValue("an HS_SECKEY value holds its secret as a string")
        secret = value.data.value
        if not secret.startswith(HASH_MARK):
            secret = await asyncio.to_thread(self.passwords.hash, secret)
        return replace(value, data=StringData(secret), permissions=SECRET_PERMISSIONS)

    async def put_record(
        self,
        principal: Principal,
        handle: Handle,
        values: Sequence[HandleValue],
        *,
        overwrite: bool = True,
    ) -> bool:
        """Create the record, or replace it when `overwrite`; True when it was created."""
        prepared = await self.prepare(values)
        encoded = encode_values(prepared, self.stamp()).decode()
        name = str(handle)
        async with self.writing(principal) as ctx:
            existing = await records.read_for_update(ctx.conn, name)
            created = existing is None
            if created:
                await ctx.authz.check(handle, Operation.CREATE)
                template = await ctx.template_of(handle, prepared)
                row = records.new_row(handle.prefix, name, encoded, ctx.now, template)
                created = bool(await records.insert_new(ctx.conn, [row]))
                if not created:  # another writer created it since our read
                    existing = await records.read_for_update(ctx.conn, name)
            if not created:
                if not overwrite:
                    raise HandleExists(handle=name)
                await ctx.authz.check(handle, Operation.MODIFY, decode_values(existing or "[]"))
                template = await ctx.template_of(handle, prepared)
                await records.replace(ctx.conn, name, encoded, ctx.now, template)
            await ctx.record([(name, journal.CREATE if created else journal.UPDATE)])
        return created

    async def mint(self, principal: Principal, prefix: str, values: Sequence[HandleValue]) -> Handle:
        """Create a record under `prefix` with a suffix the node chooses."""
        while True:
            handle = Handle.parse(f"{prefix}/{uuid.uuid4()}")
            try:
                await self.put_record(principal, handle, values, overwrite=False)
            except HandleExists:
                continue
            return handle

    async def put_values(
        self,
        principal: Principal,
        handle: Handle,
        values: Sequence[HandleValue],
        *,
        overwrite: bool = True,
    ) -> None:
        """Add values to an existing record, replacing those with the same index when `overwrite`."""
        now = int(self.clock())
        fresh = [replace(value, timestamp=now) for value in await self.prepare(values)]
        name = str(handle)
        async with self.writing(principal) as ctx:
            current = await self._current(ctx, handle)
            by_index = {value.index: value for value in current}
            taken = sorted(v.index for v in fresh if v.index in by_index)
            if taken and not overwrite:
                raise ValueExists(f"values already exist at index {taken}", handle=name)
            by_index.update((value.index, value) for value in fresh)
            await self._store_values(ctx, handle, list(by_index.values()))

    async def replace_business_values(
        self, principal: Principal, handle: Handle, values: Sequence[HandleValue]
    ) -> None:
        """Replace the record's template and business values (index 1001 and ≥ 2000) by `values`, keeping
        its system values (URL, HS_ADMIN…): an SNMS update."""
        now = int(self.clock())
        fresh = [replace(value, timestamp=now) for value in await self.prepare(values)]
        async with self.writing(principal) as ctx:
            current = await self._current(ctx, handle)
            await self._store_values(ctx, handle, merge_business(current, fresh))

    async def delete_values(self, principal: Principal, handle: Handle, indexes: Iterable[int]) -> None:
        """Remove the values at `indexes`; all of them must exist."""
        wanted = set(indexes)
        name = str(handle)
        async with self.writing(principal) as ctx:
            current = await self._current(ctx, handle)
            missing = sorted(wanted - {value.index for value in current})
            if missing:
                raise ValuesNotFound(f"no values at index {missing}", handle=name)
            kept = [value for value in current if value.index not in wanted]
            await self._store_values(ctx, handle, kept)

    async def delete(self, principal: Principal, handle: Handle) -> None:
        name = str(handle)
        async with self.writing(principal) as ctx:
            await self._current(ctx, handle, Operation.DELETE)
            await records.remove(ctx.conn, name)
            await ctx.record([(name, journal.DELETE)])

    async def _current(
        self, ctx: WriteContext, handle: Handle, op: Operation = Operation.MODIFY
    ) -> list[HandleValue]:
        stored = await records.read_for_update(ctx.conn, str(handle))
        if stored is None:
            raise HandleNotFound(handle=str(handle))
        current = decode_values(stored)
        await ctx.authz.check(handle, op, current)
        return current

    async def _store_values(self, ctx: WriteContext, handle: Handle, values: Sequence[HandleValue]) -> None:
        template = await ctx.template_of(handle, values)
        await records.replace(ctx.conn, str(handle), encode_values(values).decode(), ctx.now, template)
        await ctx.record([(str(handle), journal.UPDATE)])

    # -- listing --------------------------------------------------------------------------------------

    async def list_handles(
        self, principal: Principal, prefix: str, *, page: int, page_size: int
    ) -> HandlePage:
        """One page (zero-based) of the handles under `prefix`; a page size of 0 only counts them."""
        node_prefix = await self.node_prefix()
        async with self.store.reader.connect() as conn:
            await Authoriser(conn, node_prefix, principal).check_prefix(prefix, Operation.LIST)
            total = await records.count_under(conn, prefix)
            names = (
                await records.names_under(conn, prefix, offset=page * page_size, limit=page_size)
                if page_size
                else []
            )
        return HandlePage(prefix, total, page, page_size, names)
