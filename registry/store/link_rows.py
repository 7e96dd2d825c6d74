"""SQL on the links table: the rows of records' link values, the cycle check, and the trace's walk.

The walks are recursive CTEs that SQLite and PostgreSQL both run (`WITH RECURSIVE … UNION`): one statement,
however deep the genealogy. Each step follows one index (`origin` or `product`), whichever way a link was
declared.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause

from .schema import child_nodes, handles, links

# Keys a statement: well within SQLite's and asyncpg's limits on parameters.
CHUNK = 500
Way = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class LinkRow:
    source: str  # the key of the record holding the link value
    idx: int
    relation: str
    target: str  # the key of the handle the value names
    target_name: str  # that handle as written
    prefix: str  # the source's prefix
    origin: str
    product: str

    def params(self) -> dict[str, Any]:
        return asdict(self)


def _chunks(keys: Sequence[str]) -> list[Sequence[str]]:
    return [keys[start : start + CHUNK] for start in range(0, len(keys), CHUNK)]


async def drop(conn: AsyncConnection, sources: Sequence[str]) -> None:
    """Delete the link rows of the records `sources`."""
    for chunk in _chunks(sources):
        await conn.execute(delete(links).where(links.c.source.in_(chunk)))


async def add(conn: AsyncConnection, rows: Sequence[LinkRow]) -> None:
    if rows:
        await conn.execute(insert(links), [row.params() for row in rows])


# Two transactions could each add one half of a cycle, neither seeing the other's half (PostgreSQL's READ
# COMMITTED): writers of links take this lock, to the end of their transactions, before adding theirs, so the
# later one's cycle check sees the earlier one's links. SQLite has one writer at a time anyway.
_LINK_WRITERS = 0x11D0DE_17
_SERIALISE = text("SELECT pg_advisory_xact_lock(:key)")


async def serialise(conn: AsyncConnection) -> None:
    """Wait for other transactions adding links to end (PostgreSQL; nothing on SQLite)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_SERIALISE, {"key": _LINK_WRITERS})


async def delegated(conn: AsyncConnection) -> list[str]:
    """The node prefixes a top-level node allocated to secondary nodes (their records live there)."""
    return list((await conn.execute(select(child_nodes.c.prefix))).scalars())


async def existing(conn: AsyncConnection, keys: Sequence[str]) -> set[str]:
    """Those of the records `keys` that exist."""
    found: set[str] = set()
    for chunk in _chunks(keys):
        stmt = select(handles.c.handle).where(handles.c.handle.in_(chunk))
        found.update((await conn.execute(stmt)).scalars())
    return found


# Each link of the sources starts a walk toward products from its product; a walk that comes back to the
# link's origin is a cycle. UNION (not UNION ALL) keeps each (link, record) once, so the walk ends.
_CYCLES = text(
    """
WITH RECURSIVE reach(seed, idx, start, node) AS (
    SELECT source, idx, origin, product FROM links WHERE source IN :sources
    UNION
    SELECT r.seed, r.idx, r.start, l.product FROM reach r JOIN links l ON l.origin = r.node
    WHERE r.node <> r.start
)
SELECT DISTINCT seed, idx FROM reach WHERE node = start
"""
).bindparams(bindparam("sources", expanding=True))


async def cycles(conn: AsyncConnection, sources: Sequence[str]) -> list[tuple[str, int]]:
    """The links (source, index) of the records `sources` that lie on a cycle."""
    found: list[tuple[str, int]] = []
    for chunk in _chunks(sources):
        result = await conn.execute(_CYCLES, {"sources": list(chunk)})
        found.extend((row.seed, row.idx) for row in result)
    return found


@dataclass(frozen=True, slots=True)
class Step:
    """A link a walk crossed, `depth` links away from its root; `way` the walk that crossed it."""

    way: Way
    depth: int
    source: str
    idx: int
    relation: str
    target: str
    target_name: str
    origin: str
    product: str

    @property
    def reached(self) -> str:
        """The end of the link away from the root."""
        return self.origin if self.way == "up" else self.product


# From a record, `up` crosses the links whose product it is (to their origins), `down` those whose origin it
# is. Rows are made breadth first on both databases, so a walk cut short keeps the nearest links.
_NEAR = {"up": "product", "down": "origin"}
_FAR = {"up": "origin", "down": "product"}
_COLUMNS = "l.source, l.idx, l.relation, l.target, l.target_name, l.origin, l.product"


def _walk_cte(way: Way, typed: bool, inner_limit: bool) -> str:
    near, far = _NEAR[way], _FAR[way]
    only = " AND l.relation IN :types" if typed else ""
    limit = " LIMIT :cap" if inner_limit else ""
    return (
        f"{way}(depth, source, idx, relation, target, target_name, origin, product, far) AS ("
        f" SELECT 1, {_COLUMNS}, l.{far} FROM links l WHERE l.{near} = :root{only}"
        f" UNION SELECT w.depth + 1, {_COLUMNS}, l.{far} FROM {way} w JOIN links l ON l.{near} = w.far"
        f" WHERE w.depth < :depth{only}{limit})"
    )


@functools.cache
def _walk(ways: tuple[Way, ...], typed: bool, dialect: str) -> TextClause:
    # SQLite stops a recursive CTE at its own LIMIT; PostgreSQL makes only the rows the outer query reads.
    inner = dialect != "postgresql"
    ctes = ", ".join(_walk_cte(way, typed, inner) for way in ways)
    outer = " LIMIT :cap" if not inner else ""
    selects = " UNION ALL ".join(
        f"SELECT * FROM (SELECT '{way}' AS way, depth, source, idx, relation, target, target_name, origin,"
        f" product FROM {way}{outer}) AS {way}_rows"
        for way in ways
    )
    stmt = text(f"WITH RECURSIVE {ctes} {selects}")
    return stmt.bindparams(bindparam("types", expanding=True)) if typed else stmt


async def walk(
    conn: AsyncConnection,
    root: str,
    ways: tuple[Way, ...],
    *,
    depth: int,
    types: Sequence[str] = (),
    cap: int,
) -> list[Step]:
    """The links within `depth` of the record `root`, each way, at most `cap` rows a way (a link reached at
    two depths is two rows), only of the relations `types` when given."""
    params: dict[str, Any] = {"root": root, "depth": depth, "cap": cap}
    if types:
        params["types"] = list(types)
    result = await conn.execute(_walk(ways, bool(types), conn.dialect.name), params)
    return [Step(*row) for row in result]


async def named_records(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Key → (the handle as written, its stored values) of those of the records `keys` that exist."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(keys):
        stmt = select(handles.c.handle, handles.c.name, handles.c.values_json).where(
            handles.c.handle.in_(chunk)
        )
        for row in await conn.execute(stmt):
            found[row.handle] = (row.name or row.handle, row.values_json)
    return found
