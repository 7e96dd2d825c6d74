"""Turning what a caller passes into `Write`s (the outbox's unit), and results for queued ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ._core import Values, Write, values_json
from ._models import Record, WriteResult

MAX_CHUNK = 2_000  # the SNMS batch limit


@dataclass(frozen=True, slots=True)
class FlushReport:
    """What a flush of the outbox did: records delivered, writes given up (with the node's reason), and
    writes still waiting (the node was unreachable again)."""

    delivered: int
    undeliverable: list[tuple[str, str]]
    remaining: int


def single(op: str, handle: str, values: Values | None = None, template_version: str | None = None) -> Write:
    return Write(op, handle, values_json(values) if values is not None else None, template_version)


def linking(parent: str, child: str, relation: str) -> Write:
    return Write("link", child, relation, extra=parent)


def _pair(item: Record | tuple[str, Values]) -> tuple[str, Values]:
    if isinstance(item, Record):
        return item.handle, list(item.values)
    handle, values = item
    return handle, values


def batches(
    records: Iterable[Record | tuple[str, Values]], chunk_size: int, template_version: str | None
) -> Iterator[Write]:
    """`register_many` chunks: one Write of up to `chunk_size` records each, read lazily from `records`."""
    if not 0 < chunk_size <= MAX_CHUNK:
        raise ValueError(f"chunk_size is 1 to {MAX_CHUNK}")
    chunk: list[Write] = []
    for item in records:
        handle, values = _pair(item)
        chunk.append(single("register", handle, values, template_version))
        if len(chunk) == chunk_size:
            yield Write("register_many", items=tuple(chunk))
            chunk = []
    if chunk:
        yield Write("register_many", items=tuple(chunk))


def queued(write: Write) -> list[WriteResult]:
    return [WriteResult(w.handle, "queued") for w in (write.items or (write,))]
