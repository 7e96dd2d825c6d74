"""What reports are made of that only the journal and the tables know: the changes to enterprises, their
prefixes and templates, each identifier's operations of a day, and how many prefixes there are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, func, not_, or_, select

from ..store import journal as journal_rows
from ..store.engine import Store
from ..store.schema import handles, journal, prefixes
from ..visibility import public_values

PREFIX_HANDLE, TEMPLATE, ENTERPRISE, USER = "0.NA/", "template:", "enterprise:", "user:"


def _of_the_registry() -> ColumnElement[bool]:
    upper = func.upper(journal.c.handle)
    return or_(
        upper.like(f"{PREFIX_HANDLE}%"),
        journal.c.handle.like(f"{TEMPLATE}%"),
        journal.c.handle.like(f"{ENTERPRISE}%"),
        journal.c.handle.like(f"{USER}%"),
    )


@dataclass(frozen=True, slots=True)
class Changed:
    """Changes to enterprises and templates after a point of the journal, and the newest point read."""

    prefixes: set[str]  # enterprise prefixes whose prefix handle changed
    credit_codes: set[str]
    templates: set[tuple[str, str]]  # (prefix, version)
    newest: int


async def newest_change(store: Store) -> int:
    async with store.reader.connect() as conn:
        return await journal_rows.latest(conn)


async def registry_changes(store: Store, after: int, *, limit: int = 10_000) -> Changed:
    """The enterprises, prefixes and templates the journal says changed after `after` (at most `limit`
    changes of them: `newest` says where to go on from)."""
    async with store.reader.connect() as conn:
        newest = await journal_rows.latest(conn)
        stmt = select(journal.c.seq, journal.c.handle).where(
            (journal.c.seq > after) & (journal.c.seq <= newest)
        )
        stmt = stmt.where(_of_the_registry()).order_by(journal.c.seq).limit(limit)
        rows = (await conn.execute(stmt)).all()
    if len(rows) == limit:
        newest = rows[-1].seq
    found = Changed(set(), set(), set(), newest)
    for _, handle in rows:
        if handle.upper().startswith(PREFIX_HANDLE):
            found.prefixes.add(handle[len(PREFIX_HANDLE) :].upper())
        elif handle.startswith(ENTERPRISE):
            found.credit_codes.add(handle[len(ENTERPRISE) :])
        elif handle.startswith(TEMPLATE):
            prefix, _, version = handle[len(TEMPLATE) :].partition("/")
            found.templates.add((prefix, version))
    return found


async def identifier_operations(
    store: Store, start: datetime, end: datetime
) -> dict[str, list[tuple[str, str, str]]]:
    """The identifiers changed in [start, end), by prefix: each key, its first and its last operation."""
    stmt = select(journal.c.handle, journal.c.op).where((journal.c.at >= start) & (journal.c.at < end))
    stmt = stmt.where(not_(_of_the_registry())).order_by(journal.c.seq)
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    async with store.reader.connect() as conn:
        for handle, op in await conn.execute(stmt):
            first.setdefault(handle, op)
            last[handle] = op
    found: dict[str, list[tuple[str, str, str]]] = {}
    for handle, op in first.items():
        found.setdefault(handle.partition("/")[0], []).append((handle, op, last[handle]))
    return found


async def prefix_counts(store: Store, start: datetime, end: datetime) -> tuple[int, int]:
    """How many enterprise prefixes were made in [start, end), and how many there are."""
    enterprise = prefixes.c.enterprise_id.is_not(None)
    made = (prefixes.c.created_at >= start) & (prefixes.c.created_at < end)
    async with store.reader.connect() as conn:
        total = (
            await conn.execute(select(func.count()).select_from(prefixes).where(enterprise))
        ).scalar_one()
        new = (
            await conn.execute(select(func.count()).select_from(prefixes).where(enterprise & made))
        ).scalar_one()
    return int(new), int(total)


async def public_records(store: Store, keys: Sequence[str]) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """The records of `keys` that exist: each one's handle as it was written and its public values (what
    anyone may read is all a report upward tells)."""
    found: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    async with store.reader.connect() as conn:
        for at in range(0, len(keys), 1000):
            wanted = list(keys[at : at + 1000])
            stmt = select(handles.c.handle, handles.c.name, handles.c.values_json)
            for key, name, values in await conn.execute(stmt.where(handles.c.handle.in_(wanted))):
                found[key] = (name or key, public_values(orjson.loads(values)))
    return found
