"""Batch registration: many records in one transaction, each item with its own result.

An item that is invalid, not permitted or already registered fails alone; the others are written together,
with their journal entries, in a single transaction and a few multi-row statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .authz import Operation
from .codec import decode_values, encode_values
from .errors import HandleExists, InvalidInput, RegistryError
from .handle import Handle
from .principals import Principal
from .service import Registry, WriteContext
from .store import journal, records
from .values import HandleValue

MAX_BATCH = 10_000


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
    encoded: str


@dataclass(slots=True)
class _Batch:
    results: list[ItemResult]
    pending: list[_Pending] = field(default_factory=list)

    def fail(self, position: int, handle: str, error: RegistryError) -> None:
        self.results[position] = ItemResult(handle, False, error=error)


async def register_many(
    registry: Registry,
    principal: Principal,
    items: Iterable[RecordInput | tuple[str, Sequence[HandleValue]]],
    *,
    overwrite: bool = False,
) -> list[ItemResult]:
    """Register records in one transaction; results are in the order of `items`."""
    inputs = [item if isinstance(item, RecordInput) else RecordInput(*item) for item in items]
    if len(inputs) > MAX_BATCH:
        raise InvalidInput(f"a batch holds at most {MAX_BATCH} records")
    unprocessed = RegistryError("the item was not processed")
    batch = _Batch(results=[ItemResult(str(i.handle), False, error=unprocessed) for i in inputs])
    await _validate(registry, inputs, batch)
    async with registry.writing(principal) as ctx:
        existing = (
            await records.read_many(ctx.conn, [str(p.handle) for p in batch.pending]) if overwrite else {}
        )
        await _authorise(ctx, batch, existing)
        if overwrite:
            await _replace_all(ctx, batch, existing)
        else:
            await _create_new(ctx, batch)
        done = [batch.results[p.position] for p in batch.pending]
        changes = [(r.handle, journal.CREATE if r.created else journal.UPDATE) for r in done if r.ok]
        await ctx.record(changes)
    return batch.results


async def _validate(registry: Registry, inputs: list[RecordInput], batch: _Batch) -> None:
    stamp = registry.stamp()
    seen: set[str] = set()
    for position, item in enumerate(inputs):
        try:
            handle = Handle.parse(item.handle)
            if str(handle) in seen:
                raise InvalidInput("the handle appears twice in the batch")
            seen.add(str(handle))
            values = await registry.prepare(item.values)
            encoded = encode_values(values, stamp).decode()
        except InvalidInput as exc:
            batch.fail(position, str(item.handle), exc)
            continue
        batch.pending.append(_Pending(position, handle, encoded))


async def _authorise(ctx: WriteContext, batch: _Batch, existing: dict[str, str]) -> None:
    allowed = []
    for pending in batch.pending:
        stored = existing.get(str(pending.handle))
        try:
            if stored is None:
                await ctx.authz.check(pending.handle, Operation.CREATE)
            else:
                await ctx.authz.check(pending.handle, Operation.MODIFY, decode_values(stored))
        except RegistryError as exc:
            batch.fail(pending.position, str(pending.handle), exc)
            continue
        allowed.append(pending)
    batch.pending = allowed


def _rows(ctx: WriteContext, batch: _Batch) -> list[dict[str, object]]:
    return [records.new_row(p.handle.prefix, str(p.handle), p.encoded, ctx.now) for p in batch.pending]


async def _create_new(ctx: WriteContext, batch: _Batch) -> None:
    inserted = await records.insert_new(ctx.conn, _rows(ctx, batch))
    for pending in batch.pending:
        name = str(pending.handle)
        if name in inserted:
            batch.results[pending.position] = ItemResult(name, True, created=True)
        else:
            batch.fail(pending.position, name, HandleExists(handle=name))


async def _replace_all(ctx: WriteContext, batch: _Batch, existing: dict[str, str]) -> None:
    await records.upsert(ctx.conn, _rows(ctx, batch))
    for pending in batch.pending:
        name = str(pending.handle)
        batch.results[pending.position] = ItemResult(name, True, created=name not in existing)
