"""Batch writes: many records in one transaction, each item with its own result.

An item that is invalid, not permitted, against its template, already registered (create) or missing (update,
delete) fails alone; the others are written together, with their journal entries, in a single transaction and
a few multi-row statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from .codec import decode_values, encode_values
from .errors import HandleExists, HandleNotFound, InvalidInput, InvalidValue, RegistryError
from .handle import Handle
from .links import LinkChange, LinkValues, holds_links, keep_linked, link_values, targets_of
from .native_secrets import Change, holds_secret, keep_sealed
from .principals import Principal
from .store import journal, records
from .values import HandleValue
from .writer import WriteContext
from .writes import Records, merge_business

MAX_BATCH = 10_000
# Items a batch works through before other requests get a turn on the event loop: a thousand records take
# a few hundred milliseconds of CPU, while a resolution waiting behind them takes microseconds.
TURN = 32
T = TypeVar("T")


async def in_turns(items: Iterable[T], every: int = TURN) -> AsyncIterator[T]:
    """`items`, one by one, letting the event loop run whatever else is ready after every `every` of them."""
    for count, item in enumerate(items, 1):
        yield item
        if count % every == 0:
            await asyncio.sleep(0)


@dataclass(frozen=True, slots=True)
class RecordInput:
    """A record to register: a handle and its values."""

    handle: str
    values: Sequence[HandleValue]


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What became of one item: `ok`, and whether it was `created` (else replaced), or its `error`."""

    handle: str
    ok: bool
    created: bool = False
    error: RegistryError | None = None


@dataclass(slots=True)
class _Pending:
    position: int
    handle: Handle
    key: str
    values: list[HandleValue]
    template: str | None = None
    encoded: str = ""
    held_secret: bool = False  # the stored record held an HS_SECKEY value
    links_before: LinkValues = ()  # the stored record's link values


@dataclass(slots=True)
class _Batch:
    results: list[ItemResult]
    pending: list[_Pending] = field(default_factory=list)

    @classmethod
    def of(cls, names: Sequence[str]) -> _Batch:
        if len(names) > MAX_BATCH:
            raise InvalidInput(f"a batch holds at most {MAX_BATCH} records")
        unprocessed = RegistryError("the item was not processed")
        return cls([ItemResult(name, False, error=unprocessed) for name in names])

    def fail(self, pending: _Pending, error: RegistryError) -> None:
        self.results[pending.position] = ItemResult(str(pending.handle), False, error=error)

    def succeed(self, pending: _Pending, *, created: bool = False) -> None:
        self.results[pending.position] = ItemResult(str(pending.handle), True, created=created)

    def keys(self) -> list[str]:
        return [p.key for p in self.pending]

    def written(self) -> list[Change]:
        """The records the batch wrote, for `keep_sealed`."""
        return [(p.key, p.values, p.held_secret) for p in self.pending if self.results[p.position].ok]

    def relinks(self) -> bool:
        """Whether the batch changes the links of a record (a record that had and has none, the usual
        case, is told at the cost of a look at its types)."""
        return any(
            (p.links_before or holds_links(p.values)) and p.links_before != link_values(p.values)
            for p in self.pending
        )

    def linked(self) -> list[LinkChange]:
        """The records the batch wrote whose links change, for `keep_linked`."""
        return [
            (p.key, p.handle, p.values, p.links_before)
            for p in self.pending
            if self.results[p.position].ok and p.links_before != link_values(p.values)
        ]

    async def each(self, step: Callable[[_Pending], Awaitable[None]]) -> None:
        """Run `step` on every pending item; an item whose step raises fails alone and leaves the batch."""
        kept = []
        async for pending in in_turns(self.pending):
            try:
                await step(pending)
            except RegistryError as exc:
                self.fail(pending, exc)
                continue
            kept.append(pending)
        self.pending = kept

    async def journal(self, ctx: WriteContext, op: str | None = None) -> None:
        changes = []
        for pending in self.pending:
            result = self.results[pending.position]
            if result.ok:
                changes.append((pending.key, op or (journal.CREATE if result.created else journal.UPDATE)))
        await ctx.record(changes)
        ctx.refuse((r.handle, r.error) for r in self.results if r.error is not None)


async def _parse(
    writes: Records, inputs: Sequence[RecordInput], batch: _Batch, *, prepare: bool = True
) -> None:
    naming = writes.writer.node.naming
    seen: set[str] = set()
    async for position, item in in_turns(enumerate(inputs)):
        try:
            handle = Handle.parse(item.handle)
            key = naming.key(handle)
            if key in seen:
                raise InvalidInput("the handle appears twice in the batch")
            seen.add(key)
            values = await writes.prepare(item.values) if prepare else []
        except InvalidInput as exc:
            batch.results[position] = ItemResult(str(item.handle), False, error=exc)
            continue
        batch.pending.append(_Pending(position, handle, key, values))


def _inputs(items: Iterable[RecordInput | tuple[str, Sequence[HandleValue]]]) -> list[RecordInput]:
    return [item if isinstance(item, RecordInput) else RecordInput(*item) for item in items]


async def register_many(
    writes: Records,
    principal: Principal,
    items: Iterable[RecordInput | tuple[str, Sequence[HandleValue]]],
    *,
    overwrite: bool = False,
) -> list[ItemResult]:
    """Register records in one transaction; results are in the order of `items`."""
    inputs = _inputs(items)
    batch = _Batch.of([str(i.handle) for i in inputs])
    await _parse(writes, inputs, batch)
    stamp = writes.writer.stamp()
    async with writes.writer.transaction(principal) as ctx:
        existing = await records.read_many(ctx.conn, batch.keys()) if overwrite else {}

        async def check(pending: _Pending) -> None:
            stored = existing.get(pending.key)
            if stored is None:
                await ctx.authz.check_create(pending.handle)
            else:
                current = decode_values(stored)
                pending.held_secret = holds_secret(current)
                pending.links_before = link_values(current)
                await ctx.authz.check_change(pending.handle, current, pending.values)
            pending.template = await ctx.template_of(pending.handle, pending.values)
            pending.encoded = encode_values(pending.values, stamp).decode()

        await batch.each(check)

        async def write() -> None:
            if overwrite:
                await records.upsert(ctx.conn, _rows(ctx, batch))
                for pending in batch.pending:
                    batch.succeed(pending, created=pending.key not in existing)
            else:
                await _create_new(ctx, batch)

        await _write_linked(ctx, batch, write)
        await keep_sealed(ctx.conn, batch.written())
        await batch.journal(ctx)
    return batch.results


async def update_many(
    writes: Records,
    principal: Principal,
    items: Iterable[RecordInput | tuple[str, Sequence[HandleValue]]],
) -> list[ItemResult]:
    """Replace the business values (template and items) of existing records, keeping their system values."""
    inputs = _inputs(items)
    batch = _Batch.of([str(i.handle) for i in inputs])
    await _parse(writes, inputs, batch)
    now = int(writes.writer.clock())
    async with writes.writer.transaction(principal) as ctx:
        existing = await records.read_many(ctx.conn, batch.keys())

        async def check(pending: _Pending) -> None:
            stored = existing.get(pending.key)
            if stored is None:
                raise HandleNotFound(handle=str(pending.handle))
            current = decode_values(stored)
            pending.held_secret = holds_secret(current)
            pending.links_before = link_values(current)
            fresh = [replace(value, timestamp=now) for value in pending.values]
            pending.values = merge_business(current, fresh)
            await ctx.authz.check_change(pending.handle, current, pending.values)
            pending.template = await ctx.template_of(pending.handle, pending.values)
            pending.encoded = encode_values(pending.values).decode()

        await batch.each(check)

        async def write() -> None:
            await records.upsert(ctx.conn, _rows(ctx, batch))
            for pending in batch.pending:
                batch.succeed(pending)

        await _write_linked(ctx, batch, write)
        await keep_sealed(ctx.conn, batch.written())
        await batch.journal(ctx, journal.UPDATE)
    return batch.results


async def delete_many(writes: Records, principal: Principal, handles: Iterable[str]) -> list[ItemResult]:
    """Delete records (their sealed secrets go with them); a missing or forbidden one fails alone."""
    inputs = [RecordInput(name, ()) for name in handles]
    batch = _Batch.of([i.handle for i in inputs])
    await _parse(writes, inputs, batch, prepare=False)
    async with writes.writer.transaction(principal) as ctx:
        existing = await records.read_many(ctx.conn, batch.keys())

        async def check(pending: _Pending) -> None:
            stored = existing.get(pending.key)
            if stored is None:
                raise HandleNotFound(handle=str(pending.handle))
            await ctx.authz.check_delete(pending.handle, decode_values(stored))

        await batch.each(check)
        await records.remove_many(ctx.conn, batch.keys())
        for pending in batch.pending:
            batch.succeed(pending)
        await batch.journal(ctx, journal.DELETE)
    return batch.results


class _LinksRefused(Exception):
    """Rolls a batch's savepoint back: some of its records' links are refused."""

    def __init__(self, refused: dict[str, RegistryError]) -> None:
        super().__init__("links refused")
        self.refused = refused


async def _write_linked(ctx: WriteContext, batch: _Batch, write: Callable[[], Awaitable[None]]) -> None:
    """`write` the batch's rows, then keep their links in step (`links.keep_linked`). Records whose links are
    refused fail alone: the rows go back to a savepoint and the rest are written again (whose links may then
    name a record no longer written: those fail with it, and it is done again until none is refused). A batch
    that changes no links takes no savepoint."""
    while True:
        if not batch.relinks():
            await write()
            return
        try:
            async with ctx.conn.begin_nested():
                await write()
                refused = await keep_linked(ctx.conn, ctx.naming, ctx.node_prefix, batch.linked())
                if refused:
                    raise _LinksRefused(refused)
            return
        except _LinksRefused as exc:
            refused = _with_dependents(ctx, batch, exc.refused)
            for pending in batch.pending:
                if pending.key in refused:
                    batch.fail(pending, refused[pending.key])
            batch.pending = [p for p in batch.pending if p.key not in refused]


def _with_dependents(
    ctx: WriteContext, batch: _Batch, refused: dict[str, RegistryError]
) -> dict[str, RegistryError]:
    """`refused`, and the items that link to a record the batch was creating and now will not (and to those,
    and so on): they fail at once, not one more round each."""
    refused = dict(refused)
    gone = {p.key: p.handle for p in batch.pending if p.key in refused and batch.results[p.position].created}
    while gone:
        found = {}
        for pending in batch.pending:
            if pending.key in refused:
                continue
            target = next((t for t in targets_of(pending.values, ctx.naming) if t in gone), None)
            if target is not None:
                why = f"it links to {gone[target]}, which this batch does not create: its links are refused"
                refused[pending.key] = InvalidValue(why, handle=str(pending.handle))
                found[pending.key] = pending.handle
        gone = found
    return refused


def _rows(ctx: WriteContext, batch: _Batch) -> list[dict[str, object]]:
    return [
        records.new_row(p.handle.prefix, p.key, str(p.handle), p.encoded, ctx.now, p.template)
        for p in batch.pending
    ]


async def _create_new(ctx: WriteContext, batch: _Batch) -> None:
    inserted = await records.insert_new(ctx.conn, _rows(ctx, batch))
    for pending in batch.pending:
        if pending.key in inserted:
            batch.succeed(pending, created=True)
        else:
            batch.fail(pending, HandleExists(handle=str(pending.handle)))
