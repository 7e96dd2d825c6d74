"""Reading what the registry holds, outside the resolver's hot path: records for authorisation and merges,
listings, the prefixes homed here, and counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text

from .authz import Authoriser
from .handle import Handle
from .node import NodeInfo
from .principals import Principal
from .store import records
from .store.engine import Store
from .store.schema import prefixes
from .values import AdminPermission


@dataclass(frozen=True, slots=True)
class HandlePage:
    prefix: str
    total: int
    page: int
    page_size: int
    handles: list[str]


@dataclass(frozen=True, slots=True)
class PrefixCount:
    """How many handles a prefix holds, in all and by the template they were registered with."""

    prefix: str
    handles: int
    templates: dict[str, int]


class Reads:
    def __init__(self, store: Store, node: NodeInfo) -> None:
        self._store = store
        self._node = node

    async def stored(self, handle: Handle) -> str | None:
        """The stored JSON values of a handle, or None: one indexed read."""
        return await self._store.points.one(self._node.naming.key(handle))

    async def list_handles(
        self, principal: Principal, prefix: str, *, page: int, page_size: int
    ) -> HandlePage:
        """One page (zero-based) of the handles under `prefix`, as written; a page size of 0 only counts."""
        async with self._store.reader.connect() as conn:
            authz = Authoriser(conn, self._node.prefix, self._node.naming, principal)
            await authz.check_prefix(prefix, AdminPermission.LIST_HANDLES)
            total = await records.count_under(conn, prefix)
            offset = page * page_size
            names = (
                await records.names_under(conn, prefix, offset=offset, limit=page_size) if page_size else []
            )
        return HandlePage(prefix, total, page, page_size, names)

    async def ping(self) -> None:
        """Raise unless the database answers a query now."""
        async with self._store.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def prefixes(self) -> list[str]:
        """The prefixes homed on this node: its own and its enterprises'."""
        async with self._store.reader.connect() as conn:
            stmt = select(prefixes.c.prefix).order_by(prefixes.c.prefix)
            return list((await conn.execute(stmt)).scalars().all())

    async def counts(self) -> list[PrefixCount]:
        """Handles by prefix and by template version ("" for none)."""
        async with self._store.reader.connect() as conn:
            rows = await records.counts(conn)
        by_prefix: dict[str, PrefixCount] = {}
        for prefix, template, count in rows:
            entry = by_prefix.setdefault(prefix, PrefixCount(prefix, 0, {}))
            entry.templates[template or ""] = count
            by_prefix[prefix] = PrefixCount(prefix, entry.handles + count, entry.templates)
        return list(by_prefix.values())
