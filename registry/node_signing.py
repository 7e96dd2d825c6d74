"""The node's signing keys: made when the node is set up (or first starts without one), kept in the `node`
table, published as HS_PUBKEY values of the node's prefix handle, and rotated without downtime.

The key ring is one row of the `node` table (`signing_keys`): every key still published, each with its
algorithm, the index of its HS_PUBKEY value in `0.NA/<node prefix>` (310–319; a key keeps its index for
life, so a signature's issuer `310:0.NA/88.118` keeps naming the same key), its private key sealed with the
credential key (`keys.NodeKeys`: `IDNODE_CREDENTIAL_KEY` when set, so that a copy of the database alone
cannot sign), and, once retired, until when it stays published. The newest key that is not retired signs.

Rotation is one transaction: the new key joins the ring, the old one is retired but stays published for a
grace period (clients holding it still verify what it signed, processes that have not yet noticed the
rotation still sign with it), the prefix handle's HS_PUBKEY values are rewritten, and the HS_CERT values
the old key issued to enterprises are issued again by the new one. Every serving process reads the ring
again within seconds (`resolver.signing`).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .codec import decode_values, encode_values
from .errors import AuthenticationFailed, Conflict, HandleNotFound, InvalidHandle, SignatureInvalid
from .handle import NA_PREFIX, Handle, normalise_prefix
from .keys import NodeKeys, seal, unseal
from .signing import RS256, Jws, KeyPair, PublicKey, public_key_from_jwk
from .store import journal, records
from .store.schema import handles, node
from .trust import HS_CERT, sign_claims
from .value_signatures import SignatureReport, certify_key, verify_values
from .values import HS_PUBKEY, HandleValue, OpaqueData, StringData

if TYPE_CHECKING:  # the writer needs the node, which makes the first ring: no import at run time
    from .writer import WriteContext
    from .writes import Records

RING_KEY: Final = "signing_keys"
KEY_INDEXES: Final = range(310, 320)
DEFAULT_GRACE: Final = 48 * 3600


@dataclass(frozen=True, slots=True)
class RingKey:
    """One key of the ring, its private half still sealed."""

    public: PublicKey
    index: int
    sealed: str
    created: int
    retired: int | None = None
    until: int | None = None  # published until then, once retired

    @property
    def kid(self) -> str:
        return self.public.kid

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid, "alg": self.public.alg, "index": self.index, "public": self.public.jwk,
            "private": self.sealed, "created": self.created, "retired": self.retired, "until": self.until,
        }  # fmt: skip

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RingKey:
        public = public_key_from_jwk(body["public"])
        return cls(public, body["index"], body["private"], body["created"], body["retired"], body["until"])


@dataclass(frozen=True, slots=True)
class KeyRing:
    keys: tuple[RingKey, ...]

    @property
    def active(self) -> RingKey:
        return next(key for key in reversed(self.keys) if key.retired is None)

    def published(self, now: float) -> tuple[RingKey, ...]:
        return tuple(k for k in self.keys if k.until is None or k.until > now)

    def free_index(self, now: float) -> int:
        taken = {key.index for key in self.published(now)}
        return next((i for i in KEY_INDEXES if i not in taken), 0)

    def rotated(self, fresh: RingKey, now: int, grace: int) -> KeyRing:
        kept = [
            key if key.retired is not None else replace(key, retired=now, until=now + grace)
            for key in self.published(now)
        ]
        return KeyRing((*kept, fresh))

    def dump(self) -> str:
        return orjson.dumps({"keys": [key.to_json() for key in self.keys]}).decode()

    @classmethod
    def load(cls, text: str) -> KeyRing:
        return cls(tuple(RingKey.from_json(body) for body in orjson.loads(text)["keys"]))


@dataclass(frozen=True, slots=True)
class Signer:
    """The key that signs now, and how signatures name it (`310:0.NA/<node prefix>`)."""

    key: KeyPair
    issuer: str

    @property
    def kid(self) -> str:
        return self.key.kid


def issuer_of(node_prefix: str, index: int) -> str:
    return f"{index}:{Handle.for_prefix(node_prefix)}"


def pubkey_values(ring: KeyRing, now: float, stamp: int) -> list[HandleValue]:
    """The HS_PUBKEY values that publish the ring's keys (publicly readable, as every key must be)."""
    return [
        HandleValue(key.index, HS_PUBKEY, OpaqueData("key", key.public.jwk), timestamp=stamp)
        for key in ring.published(now)
    ]


def new_ring_key(key: KeyPair, index: int, sealing_key: bytes, now: int) -> RingKey:
    sealed = seal(sealing_key, base64.b64encode(key.private_bytes()).decode())
    return RingKey(key.public, index, sealed, now)


async def read_ring(conn: AsyncConnection) -> KeyRing | None:
    text = (await conn.execute(select(node.c.value).where(node.c.key == RING_KEY))).scalar_one_or_none()
    return None if text is None else KeyRing.load(text)


async def write_ring(conn: AsyncConnection, ring: KeyRing, *, new: bool) -> None:
    if new:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await conn.execute(dialect.insert(node).values(key=RING_KEY, value=ring.dump()))
    else:
        await conn.execute(update(node).where(node.c.key == RING_KEY).values(value=ring.dump()))


class NodeSigning:
    """The node's key ring: `ensure` one exists, `signer` to sign with, `rotate` to change keys; and what the
    node does with it for enterprises: `certify` their keys, `verify` their records' value signatures."""

    def __init__(self, records: Records, keys: NodeKeys, *, clock: Callable[[], float] = time.time) -> None:
        self._records = records
        self._writer = records.writer
        self._keys = keys
        self._clock = clock

    @property
    def _prefix_handle(self) -> Handle:
        return Handle.for_prefix(self._writer.node.prefix)

    async def ring(self) -> KeyRing | None:
        async with self._writer.store.reader.connect() as conn:
            return await read_ring(conn)

    async def signer(self) -> Signer:
        """The active key, unsealed (`Conflict` if the credential key cannot unseal it)."""
        ring = await self.ring()
        if ring is None:
            raise Conflict("the node has no signing key yet: start it once or run `idnode node rotate-key`")
        active = ring.active
        try:
            raw = base64.b64decode(unseal(await self._keys.credential_key(), active.sealed))
        except AuthenticationFailed:
            raise Conflict(
                "the node's signing key cannot be unsealed with this credential key (IDNODE_CREDENTIAL_KEY): "
                "set the key it was made with, or run `idnode node rotate-key` with it"
            ) from None
        return Signer(
            KeyPair.from_private_bytes(active.public.alg, raw),
            issuer_of(self._writer.node.prefix, active.index),
        )

    async def trusted(self) -> dict[str, PublicKey]:
        """The node's published keys, by the value references that name them."""
        ring = await self.ring()
        published = ring.published(self._clock()) if ring is not None else ()
        return {issuer_of(self._writer.node.prefix, key.index): key.public for key in published}

    async def certify(self, prefix: str, public: PublicKey, *, index: int = 301) -> HandleValue:
        """Vouch, with the node's key, that the key at `index:0.NA/<prefix>` is `public`: an HS_CERT value in
        the prefix handle (at index 401), over the handles under `prefix`."""
        prefix = normalise_prefix(prefix)
        signer = await self.signer()
        subject = f"{index}:{Handle.for_prefix(prefix)}"
        now = int(self._clock())
        cert = certify_key(prefix, subject, public, signer.key, signer.issuer, now=now)
        await self._records.put_values(self._writer.node.admin, Handle.for_prefix(prefix), [cert])
        return cert

    async def verify(self, handle: Handle) -> SignatureReport:
        """Check the value signatures of a stored record (`SignatureInvalid` unless all its public values are
        signed through a chain that leads to a key of this node)."""
        naming, points = self._writer.node.naming, self._writer.store.points

        async def lookup(text: str) -> list[dict[str, Any]] | None:
            try:
                stored = await points.one(naming.key_of(text))
            except InvalidHandle:
                return None
            return None if stored is None else list(orjson.loads(stored))

        values = await lookup(str(handle))
        if values is None:
            raise HandleNotFound(handle=str(handle))
        return await verify_values(str(handle), values, lookup, await self.trusted(), now=self._clock())

    async def ensure(self, alg: str = RS256) -> KeyRing:
        """The ring, made (and published) now if the node has none; keys past their grace are unpublished."""
        ring = await self.ring()
        if ring is not None and len(ring.published(self._clock())) == len(ring.keys):
            return ring
        return await self._change(KeyPair.generate(alg) if ring is None else None, only_if_none=True)

    async def rotate(self, alg: str = RS256, *, grace: int = DEFAULT_GRACE) -> tuple[RingKey, RingKey]:
        """A new active key of `alg`; the old one stays published for `grace` seconds. (old, new)."""
        before = await self.ring()
        if before is None:
            raise Conflict("the node has no signing key to rotate")
        ring = await self._change(KeyPair.generate(alg), grace=grace)
        return before.active, ring.active

    async def _change(
        self, key: KeyPair | None, *, only_if_none: bool = False, grace: int = DEFAULT_GRACE
    ) -> KeyRing:
        """One transaction on the ring and the prefix handle: `key` joins the ring as its active key (when
        `only_if_none`, only if there is no ring yet), and keys past their grace leave it."""
        sealing = await self._keys.credential_key()
        async with self._writer.transaction(self._writer.node.admin) as ctx:
            handle_key = ctx.key(self._prefix_handle)
            stored = await records.read_for_update(ctx.conn, handle_key)  # serialises concurrent changes
            current = await read_ring(ctx.conn)
            now = int(ctx.now.timestamp())
            ring = None if current is None else KeyRing(current.published(now))
            if key is not None and not (only_if_none and current is not None):
                ring = self._joined(ring, key, sealing, now, grace)
                await self._reissue(ctx, current, ring, key, now)
            if ring is None:
                raise Conflict("the node has no signing key")
            await write_ring(ctx.conn, ring, new=current is None)
            values = [v for v in decode_values(stored or "[]") if v.index not in KEY_INDEXES]
            values += pubkey_values(ring, now, now)
            await records.replace(ctx.conn, handle_key, encode_values(values).decode(), ctx.now)
            await ctx.record([(handle_key, journal.UPDATE)])
        return ring

    @staticmethod
    def _joined(ring: KeyRing | None, key: KeyPair, sealing: bytes, now: int, grace: int) -> KeyRing:
        if ring is None:
            return KeyRing((new_ring_key(key, KEY_INDEXES[0], sealing, now),))
        index = ring.free_index(now)
        if index == 0:  # every slot holds a key in its grace period: the oldest leaves early
            ring = KeyRing(ring.keys[1:])
            index = ring.free_index(now)
        return ring.rotated(new_ring_key(key, index, sealing, now), now, grace)

    async def _reissue(
        self, ctx: WriteContext, old: KeyRing | None, ring: KeyRing, key: KeyPair, now: int
    ) -> None:
        """Issue again, with the new key, the HS_CERT values that the node's earlier keys issued."""
        if old is None:
            return
        prefix = self._writer.node.prefix
        ours = {issuer_of(prefix, k.index) for k in old.keys}
        issuer = issuer_of(prefix, ring.active.index)
        own = ctx.key(self._prefix_handle)  # rewritten by the caller
        where = (handles.c.prefix == NA_PREFIX) & (handles.c.handle != own)
        stmt = select(handles.c.handle, handles.c.values_json).where(where)
        rows = await ctx.conn.execute(stmt)
        for row in rows.all():
            values = decode_values(row.values_json)
            changed = [_reissued(v, ours, issuer, key, now) for v in values]
            if any(a is not b for a, b in zip(values, changed, strict=True)):
                await records.replace(ctx.conn, row.handle, encode_values(changed).decode(), ctx.now)
                await ctx.record([(row.handle, journal.UPDATE)])


def _reissued(value: HandleValue, ours: set[str], issuer: str, key: KeyPair, now: int) -> HandleValue:
    if value.type != HS_CERT or not isinstance(value.data, StringData):
        return value
    try:
        claims = Jws.parse(value.data.value).claims()
    except SignatureInvalid:  # not a certificate this node can read: left as it is
        return value
    if claims.get("iss") not in ours:
        return value
    lifetime = int(claims.get("exp", now)) - int(claims.get("iat", now))
    fresh = claims | {"iss": issuer, "iat": now, "nbf": now - 300, "exp": now + max(lifetime, 86_400)}
    return replace(value, data=StringData(sign_claims(fresh, key)), timestamp=now)


def keys_in(values: Sequence[HandleValue]) -> list[PublicKey]:
    """The node keys published in a prefix handle's values."""
    found = []
    for value in values:
        if value.type == HS_PUBKEY and value.index in KEY_INDEXES and isinstance(value.data, OpaqueData):
            found.append(public_key_from_jwk(value.data.value))
    return found
