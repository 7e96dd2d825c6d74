"""The node itself: setting it up once (its prefix, case rule and administrator) and reading who it is."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .codec import encode_values
from .enterprises import insert_prefix, prefix_handle_values
from .errors import Conflict, NodeNotInitialised
from .handle import Handle, normalise_prefix
from .keys import NodeKeys
from .naming import Naming
from .native_secrets import keep_sealed
from .node_signing import KEY_INDEXES, RING_KEY, KeyRing, new_ring_key, pubkey_values
from .passwords import Passwords
from .prepare import prepare_values
from .principals import Principal
from .signing import RS256, KeyPair
from .store import journal, records
from .store.engine import Store
from .store.schema import node
from .values import ALL_ADMIN_PERMISSIONS, render_time

PREFIX_KEY, CASE_KEY = "prefix", "case"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """Who the node is: its prefix and its rule for telling handles apart."""

    prefix: str
    naming: Naming

    @property
    def admin(self) -> Principal:
        """The node administrator, `300:0.NA/<node prefix>`."""
        return Principal(Handle.for_prefix(self.prefix))


@dataclass(frozen=True, slots=True)
class NodeSetup:
    node_prefix: str
    created: bool
    admin: Principal


def new_secret() -> str:
    """A random secret for an administrator who was not given one."""
    return secrets.token_urlsafe(18)


async def _settings(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(select(node.c.key, node.c.value).where(node.c.key.in_([PREFIX_KEY, CASE_KEY])))
    return {row.key: row.value for row in rows}


async def read_node(store: Store) -> NodeInfo:
    """The node the database belongs to, or `NodeNotInitialised`."""
    async with store.reader.connect() as conn:
        found = await _settings(conn)
    if PREFIX_KEY not in found:
        raise NodeNotInitialised()
    return NodeInfo(found[PREFIX_KEY], Naming.from_label(found.get(CASE_KEY, "insensitive")))


async def init_node(
    store: Store,
    node_prefix: str,
    admin_secret: str,
    *,
    passwords: Passwords,
    naming: Naming,
    signing_alg: str = RS256,
    credential_key: bytes | None = None,
    signing_key: KeyPair | None = None,
) -> NodeSetup:
    """Set the node's prefix, case rule, administrator and first signing key (`signing_key`, else a new one of
    `signing_alg`; sealed with `credential_key` or the key kept in the database), once; a second call changes
    nothing."""
    node_prefix = normalise_prefix(node_prefix)
    admin = Principal(Handle.for_prefix(node_prefix))
    try:
        existing = await read_node(store)
    except NodeNotInitialised:
        pass
    else:
        if existing.prefix != node_prefix:
            raise Conflict(f"this database belongs to node {existing.prefix}, not {node_prefix}")
        return NodeSetup(existing.prefix, False, admin)
    keys = NodeKeys(store, credential_key=credential_key)
    values = prefix_handle_values(node_prefix, admin_secret, ALL_ADMIN_PERMISSIONS)
    values = await prepare_values(values, passwords, keys)  # the secret sealed for the native protocol too
    now = datetime.now(UTC).replace(microsecond=0)
    epoch = int(now.timestamp())
    sealing = await keys.credential_key()
    first = signing_key or KeyPair.generate(signing_alg)
    ring = KeyRing((new_ring_key(first, KEY_INDEXES[0], sealing, epoch),))
    values += pubkey_values(ring, epoch, epoch)
    async with store.writer.begin() as conn:
        if PREFIX_KEY in await _settings(conn):
            raise Conflict("another process initialised this database just now")
        await conn.execute(
            insert(node),
            [
                {"key": PREFIX_KEY, "value": node_prefix},
                {"key": CASE_KEY, "value": naming.label},
                {"key": RING_KEY, "value": ring.dump()},
            ],
        )
        await insert_prefix(conn, node_prefix, None, now)
        key = naming.key(admin.handle)
        encoded = encode_values(values, render_time(int(now.timestamp()))).decode()
        await records.insert_new(
            conn, [records.new_row(admin.handle.prefix, key, str(admin.handle), encoded, now)]
        )
        await keep_sealed(conn, [(key, values, False)])
        await journal.append(conn, [(key, journal.CREATE)], principal=str(admin), at=now)
    return NodeSetup(node_prefix, True, admin)
