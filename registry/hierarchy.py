"""The node's place in the hierarchy, chosen at `idnode init --role`.

A **secondary** node (the default) has a parent — the top-level node that allocated its node prefix — which
it homes its prefix at and reports to, as the administrator of its own prefix handle there
(`300:0.NA/<node prefix>`, with the secret the parent gave it). A **top-level** node allocates node prefixes
to secondary nodes (`ChildNodes`), holds their prefix handles (where each homes its site record), and
receives their reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .enterprise_ops import create_prefix_handle
from .enterprises import ENTERPRISE_ADMIN_PERMISSIONS, insert_prefix, lock_allocations, prefix_handle_values
from .errors import Conflict, HandleNotFound, InvalidInput, NotResponsible
from .handle import Handle, is_under, normalise_prefix
from .keys import NodeKeys, seal, unseal
from .node_site import SITE_INDEX
from .principals import Principal
from .store import records
from .store.engine import Store
from .store.schema import child_nodes, node
from .values import KEY_INDEX
from .writes import Records

SECONDARY: Final = "secondary"
TOP_LEVEL: Final = "top-level"
ROLES: Final = (SECONDARY, TOP_LEVEL)
ACTIVE, DISABLED = "active", "disabled"

ROLE_KEY, PARENT_URL_KEY, PARENT_SECRET_KEY = "role", "parent_url", "parent_secret"
# What the sealed parent secret belongs to: it cannot be unsealed as anything else.
_SEALED_FOR = b"idnode parent secret"


@dataclass(frozen=True, slots=True)
class Parent:
    """Where a secondary node's parent answers HTTP, and the secret of the node's administrator there."""

    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Place:
    role: str
    parent: Parent | None

    @property
    def top_level(self) -> bool:
        return self.role == TOP_LEVEL


def parent_principal(node_prefix: str) -> str:
    """Who a secondary node is at its parent: the administrator of its prefix handle there."""
    return f"300:{Handle.for_prefix(node_prefix)}"


def checked_url(url: str) -> str:
    if not url.startswith(("http://", "https://")) or len(url) > 2000:
        raise InvalidInput(f"the parent's URL must start with http:// or https://, not {url[:60]!r}")
    return url.rstrip("/")


async def _settings(conn: AsyncConnection) -> dict[str, str]:
    wanted = (ROLE_KEY, PARENT_URL_KEY, PARENT_SECRET_KEY)
    rows = await conn.execute(select(node.c.key, node.c.value).where(node.c.key.in_(wanted)))
    return {row.key: row.value for row in rows}


async def read_place(store: Store, keys: NodeKeys) -> Place:
    """The node's role and parent as `idnode init` left them (a node set up before roles: secondary)."""
    async with store.reader.connect() as conn:
        found = await _settings(conn)
    parent = None
    if PARENT_URL_KEY in found and PARENT_SECRET_KEY in found:
        secret = unseal(await keys.credential_key(), found[PARENT_SECRET_KEY], context=_SEALED_FOR)
        parent = Parent(found[PARENT_URL_KEY], secret)
    return Place(found.get(ROLE_KEY, SECONDARY), parent)


async def set_place(store: Store, keys: NodeKeys, *, role: str | None, parent: Parent | None) -> Place:
    """Fix the node's role (once: a role already set is never changed; None keeps it, or makes the node
    secondary) and set or change its parent."""
    if role is not None and role not in ROLES:
        raise InvalidInput(f"a node's role is {' or '.join(ROLES)}, not {role!r}")
    sealing = await keys.credential_key()
    async with store.writer.begin() as conn:
        found = await _settings(conn)
        held = found.get(ROLE_KEY)
        if held is not None and role is not None and held != role:
            raise Conflict(f"this node's role is {held}; it is fixed when the node is set up")
        role = role or held or SECONDARY
        if parent is not None and role == TOP_LEVEL:
            raise InvalidInput("a top-level node has no parent")
        wanted = {ROLE_KEY: role}
        if parent is not None:
            wanted |= {
                PARENT_URL_KEY: checked_url(parent.url),
                PARENT_SECRET_KEY: seal(sealing, parent.secret, context=_SEALED_FOR),
            }
        for key, value in wanted.items():
            if key in found:
                await conn.execute(update(node).where(node.c.key == key).values(value=value))
            else:
                await conn.execute(insert(node).values(key=key, value=value))
    return await read_place(store, keys)


@dataclass(frozen=True, slots=True)
class ChildNode:
    prefix: str
    name: str
    status: str
    created_at: datetime

    @property
    def administrator(self) -> str:
        return parent_principal(self.prefix)

    def to_json(self) -> dict[str, object]:
        return {
            "prefix": self.prefix,
            "name": self.name,
            "status": self.status,
            "administrator": self.administrator,
            "created": self.created_at.isoformat(),
        }


class ChildNodes:
    """A top-level node's secondary nodes: allocating a node prefix makes its prefix handle, administered by
    the secondary node itself with the secret given here."""

    def __init__(self, records: Records) -> None:
        self._records = records
        self._writer = records.writer

    async def add(self, principal: Principal, prefix: str, *, name: str, secret: str) -> ChildNode:
        prefix = normalise_prefix(prefix)
        own = self._writer.node.prefix
        if prefix == own or not is_under(prefix, own):
            raise NotResponsible(f"node prefixes are allocated under {own}, not {prefix}")
        if not name.strip() or len(name) > 200:
            raise InvalidInput("a node's name has 1 to 200 characters")
        if not secret:
            raise InvalidInput("a secondary node needs a secret to home its prefix and report with")
        values = prefix_handle_values(prefix, secret, ENTERPRISE_ADMIN_PERMISSIONS)
        values = await self._records.prepare(values)
        async with self._writer.transaction(principal) as ctx:
            await ctx.authz.check_create(Handle.for_prefix(prefix))
            await lock_allocations(ctx.conn, own)
            await insert_prefix(ctx.conn, prefix, None, ctx.now)
            await create_prefix_handle(ctx, prefix, values)
            made = ChildNode(prefix, name.strip(), ACTIVE, ctx.now)
            row = {"prefix": prefix, "name": made.name, "status": ACTIVE, "created_at": ctx.now}
            await ctx.conn.execute(insert(child_nodes).values(**row))
        return made

    async def all(self) -> list[ChildNode]:
        async with self._writer.store.reader.connect() as conn:
            rows = await conn.execute(select(child_nodes).order_by(child_nodes.c.prefix))
            return [ChildNode(r.prefix, r.name, r.status, r.created_at) for r in rows]

    async def find(self, prefix: str) -> ChildNode:
        prefix = normalise_prefix(prefix)
        async with self._writer.store.reader.connect() as conn:
            row = (await conn.execute(select(child_nodes).where(child_nodes.c.prefix == prefix))).first()
        if row is None:
            raise HandleNotFound(f"no secondary node has the prefix {prefix}")
        return ChildNode(row.prefix, row.name, row.status, row.created_at)

    async def disable(self, principal: Principal, prefix: str) -> ChildNode:
        """Stop routing to the node and refuse its homing and reports: its site record and its secret are
        removed from its prefix handle (a new secret, `idnode enterprise secret`-style, is needed to come
        back)."""
        child = await self.find(prefix)
        handle = Handle.for_prefix(child.prefix)
        gone = [i for i in (SITE_INDEX, KEY_INDEX) if i in await self._indexes(handle)]
        if gone:
            await self._records.delete_values(principal, handle, gone)
        async with self._writer.store.writer.begin() as conn:
            stmt = update(child_nodes).where(child_nodes.c.prefix == child.prefix).values(status=DISABLED)
            await conn.execute(stmt)
        return await self.find(child.prefix)

    async def _indexes(self, handle: Handle) -> set[int]:
        async with self._writer.store.reader.connect() as conn:
            stored = await records.read(conn, self._writer.node.naming.key(handle))
        return set() if stored is None else {int(v["index"]) for v in orjson.loads(stored)}
