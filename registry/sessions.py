"""Handle REST sessions: challenge–response against HS_PUBKEY values, the authenticated ones kept by the node.

The node hands out a session (`POST /api/sessions`, or with a 401) as an id and a nonce; the client proves it
holds the private key of an HS_PUBKEY value (`300:0.NA/88.118.8`) by signing nonce‖cnonce, its own nonce
appended, and then sends the session id alone — the same id, as Handle.Net's clients do.

A session id is `<claims>.<mac>`, the claims base64url JSON (the nonce `n` and the expiry `exp` of the
challenge) and the mac an HMAC-SHA256 of them under a key derived from the node's token key (kept in the
database, `keys.NodeKeys`): every worker process on every host of the node can check an id with no lookup.
That the session is authenticated is kept in the database (the `sessions` table, `store.session_rows`): a
digest of the session's nonce, the principal, `proof` — a digest of the value that proved it — and the
expiry (`LIFETIME` after authenticating). So the original id works in every worker, across restarts, and
DELETE /api/sessions/this ends the session (deletes its row). Every request of a session reads the
principal's value again and compares it with `proof` (as Basic reads the secret each time), so removing or
replacing the key ends it at once, and so does disabling the enterprise.

The node still answers an authentication with a session id in `Authentication-Info`: today the same id.
Ids minted before the node kept sessions (claims with `sub` and `proof`, self-authenticated) are still taken
until they expire, but cannot be revoked before then: DELETE only removes the row their session may have.

A Basic login (`POST /api/sessions` with `Authorization: Basic`) makes an authenticated session too, its proof
the stored HS_SECKEY value: resetting the secret ends it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from . import pubkeys
from .codec import decode_values
from .enterprises import enterprise_active
from .errors import AuthenticationFailed, InvalidInput, InvalidValue
from .handle import Handle, normalise_prefix
from .keys import NodeKeys
from .node import NodeInfo
from .node_signing import KEY_INDEXES as SIGNING_KEY_INDEXES
from .principals import Principal
from .store import session_rows
from .store.engine import Store
from .store.session_rows import SessionRow
from .values import (
    HS_PUBKEY,
    HS_VLIST,
    VLIST_INDEX,
    Base64Data,
    HandleValue,
    HexData,
    KeyData,
    Reference,
    VListData,
)
from .writes import Records

LIFETIME = 3600  # an authenticated session, in seconds
CHALLENGE_LIFETIME = 600  # a session not yet authenticated
NONCE_SIZE = 16
MAX_ID_LENGTH = 2048
_PURPOSE = b"idnode handle-rest sessions"  # the session mac's key is not the SNMS tokens' key
_GONE = "the session is unknown or has expired; start another (POST /api/sessions)"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64decode(text: str, what: str) -> bytes:
    """Standard base64, as Handle.Net's clients send nonces and signatures."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationFailed(f"{what} is not base64") from None


@dataclass(frozen=True, slots=True)
class Session:
    """A session as its id carries it; `principal` once a key (or secret) proved who is acting."""

    id: str
    nonce: bytes
    expires: int
    principal: Principal | None = None
    proof: str | None = None

    @property
    def nonce_text(self) -> str:
        return base64.b64encode(self.nonce).decode()


@dataclass(frozen=True, slots=True)
class Answer:
    """A client's answer to a session's challenge: `Authorization: Handle id=…, type=…, cnonce=…, alg=…,
    signature=…` (cnonce and signature base64)."""

    id: str
    type: str
    cnonce: str
    alg: str
    signature: str


def _proof(value: HandleValue) -> str:
    """A digest of the value that proved a principal: a session lives as long as the value is unchanged."""
    data = orjson.dumps(value.to_json()["data"], option=orjson.OPT_SORT_KEYS)
    return _b64(hashlib.sha256(data).digest()[:16])


def _key(nonce: bytes) -> str:
    """A session's row key: a digest of its nonce, which every id of the session carries (a database
    read gives away no id)."""
    return _b64(hashlib.sha256(b"session " + nonce).digest())


def _self_authenticated(session_id: str) -> bool:
    """Whether an id (one `read` took) names its principal in its own claims, as ids minted before the
    sessions table did."""
    try:
        return "sub" in orjson.loads(_unb64(session_id.partition(".")[0]))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        return False


def key_of(value: HandleValue) -> pubkeys.PublicKey | None:
    """The public key an HS_PUBKEY value holds (as a JWK, or in the binary form as base64 or hex)."""
    if value.type != HS_PUBKEY:
        return None
    data = value.data
    try:
        if isinstance(data, KeyData):
            return data.key
        if isinstance(data, Base64Data):
            return pubkeys.from_bytes(base64.b64decode(data.value))
        if isinstance(data, HexData):
            return pubkeys.from_bytes(bytes.fromhex(data.value))
    except InvalidValue:
        return None
    return None


class Sessions:
    """Opens sessions, checks their challenge answers against HS_PUBKEY values, and says who acts in them."""

    def __init__(self, records: Records, keys: NodeKeys, *, clock: Callable[[], float] | None = None) -> None:
        self._records = records
        self._store: Store = records.writer.store
        self._node: NodeInfo = records.writer.node
        self._keys = keys
        self._own_clock = clock

    def _now(self) -> int:
        return int((self._own_clock or self._records.writer.clock)())

    async def _mac(self, claims: str) -> bytes:
        key = hmac.digest(await self._keys.token_key(), _PURPOSE, hashlib.sha256)
        return hmac.digest(key, claims.encode(), hashlib.sha256)

    async def _issue(self, claims: dict[str, Any]) -> Session:
        text = _b64(orjson.dumps(claims))
        session_id = f"{text}.{_b64(await self._mac(text))}"
        principal = Principal.parse(claims["sub"]) if "sub" in claims else None
        return Session(session_id, _unb64(claims["n"]), claims["exp"], principal, claims.get("proof"))

    # -- sessions ---------------------------------------------------------------------------------------

    async def open(self) -> Session:
        """A new session, not yet authenticated: an id and a fresh nonce."""
        nonce = _b64(os.urandom(NONCE_SIZE))
        return await self._issue({"n": nonce, "exp": self._now() + CHALLENGE_LIFETIME})

    async def read(self, session_id: str) -> Session:
        """The session an id names, if the node made it and it has not expired — authenticated if its row
        says so (or, for an id minted before the table, its own claims); `AuthenticationFailed`."""
        text, _, mac = session_id.strip().partition(".")
        try:
            if len(session_id) > MAX_ID_LENGTH or not hmac.compare_digest(await self._mac(text), _unb64(mac)):
                raise AuthenticationFailed(_GONE)
            claims = orjson.loads(_unb64(text))
            nonce, expires = _unb64(claims["n"]), claims["exp"]
            principal = Principal.parse(claims["sub"]) if "sub" in claims else None
        except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
            raise AuthenticationFailed(_GONE) from None
        if not isinstance(expires, int):
            raise AuthenticationFailed(_GONE)
        if principal is None:
            row = await self._row(nonce)
            if row is not None:  # authenticated: the row's expiry, not the challenge's
                return Session(
                    session_id.strip(), nonce, row.expires, Principal.parse(row.principal), row.proof
                )
        if expires <= self._now():
            raise AuthenticationFailed(_GONE)
        return Session(session_id.strip(), nonce, expires, principal, claims.get("proof"))

    async def _row(self, nonce: bytes) -> SessionRow | None:
        async with self._store.reader.connect() as conn:
            return await session_rows.find(conn, _key(nonce), self._now())

    async def end(self, session: Session) -> None:
        """End the session: its id (and any the node minted for it) authenticates no one from now on — but
        for a self-authenticated id minted before the sessions table, good until it expires."""
        async with self._store.writer.begin() as conn:
            await session_rows.end(conn, _key(session.nonce))

    async def _authenticated(self, session: Session, principal: Principal, value: HandleValue) -> Session:
        """The session, its id unchanged, recorded as authenticated as `principal` for `LIFETIME`."""
        now = self._now()
        row = SessionRow(_key(session.nonce), str(principal), _proof(value), now + LIFETIME)
        async with self._store.writer.begin() as conn:
            await session_rows.record(conn, row, now)
        session_id = session.id
        if _self_authenticated(session_id):  # minted before the table: go on with an id the row speaks for
            fresh = {"n": _b64(session.nonce), "exp": now + CHALLENGE_LIFETIME}
            session_id = (await self._issue(fresh)).id
        return Session(session_id, session.nonce, row.expires, principal, row.proof)

    async def answer(self, session: Session, answer: Answer) -> Session:
        """The session, authenticated, when `answer` signs its nonce‖cnonce with the private key of the
        HS_PUBKEY value `answer.id` names; `AuthenticationFailed` otherwise."""
        if answer.type != HS_PUBKEY:
            raise AuthenticationFailed(f"type={answer.type[:32]!r}: challenges are answered with HS_PUBKEY")
        principal = Principal.parse(answer.id)
        signed = session.nonce + b64decode(answer.cnonce, "cnonce")
        signature = b64decode(answer.signature, "the signature")
        value = await self.prove(principal, signed, signature, answer.alg)
        return await self._authenticated(session, principal, value)

    async def prove(self, principal: Principal, signed: bytes, signature: bytes, alg: str) -> HandleValue:
        """The HS_PUBKEY value of `principal` whose key made `signature` over `signed`, if its enterprise may
        act; `AuthenticationFailed` otherwise. (The native protocol's challenge–response signs a nonce and the
        request's digest the same way.)"""
        if self._signs_answers(principal):
            # The node's answer-signing keys vouch for answers, never for who administers the node.
            raise AuthenticationFailed(f"{principal} signs the node's answers; it administers nothing")
        value = await self._credential(principal)
        key = key_of(value) if value is not None else None
        if value is None or key is None:
            raise AuthenticationFailed(f"{principal} holds no public key")
        try:
            good = pubkeys.verifies(key, signature, signed, alg)
        except InvalidValue as exc:  # an alg the node does not know
            raise AuthenticationFailed(exc.message) from None
        if not good:
            raise AuthenticationFailed(f"the signature does not verify with the key of {principal}")
        await self._check_active(principal)
        return value

    async def with_secret(self, session: Session, principal: Principal) -> Session:
        """The session, authenticated as `principal`, who has just proved its secret (Basic)."""
        value = await self._credential(principal)
        if value is None:
            raise AuthenticationFailed(f"{principal} holds no credential")
        return await self._authenticated(session, principal, value)

    async def principal(self, session: Session) -> Principal:
        """Who acts in an authenticated session, while the value that proved it is unchanged and the
        enterprise may act."""
        principal = session.principal
        if principal is None:
            raise AuthenticationFailed("the session is not authenticated: answer its challenge first")
        value = await self._credential(principal)
        if value is None or session.proof is None or not hmac.compare_digest(_proof(value), session.proof):
            raise AuthenticationFailed(f"the key of {principal} has changed: authenticate again")
        await self._check_active(principal)
        return principal

    def _signs_answers(self, principal: Principal) -> bool:
        node_handle = Handle.for_prefix(self._node.prefix)
        return principal.index in SIGNING_KEY_INDEXES and principal.handle == node_handle

    async def _credential(self, principal: Principal) -> HandleValue | None:
        stored = await self._store.points.one(self._node.naming.key(principal.handle))
        found = [v for v in decode_values(stored) if v.index == principal.index] if stored else []
        return found[0] if found else None

    async def _check_active(self, principal: Principal) -> None:
        async with self._store.reader.connect() as conn:
            if not await enterprise_active(conn, principal.handle.governing_prefix):
                raise AuthenticationFailed(f"the enterprise of {principal} is disabled")

    # -- keys -------------------------------------------------------------------------------------------

    async def add_key(
        self, principal: Principal, prefix: str, key: pubkeys.PublicKey, *, index: int
    ) -> Principal:
        """Put `key` as the HS_PUBKEY value at `index` of the prefix handle `0.NA/<prefix>` (replacing what
        that index held: at 300, the secret key), and name it in the prefix's admin group (HS_VLIST at 200)
        if the group does not name it yet. The administrator it makes, `index:0.NA/<prefix>`."""
        handle = Handle.for_prefix(normalise_prefix(prefix))
        admin = Principal(handle, index)
        if index == VLIST_INDEX:
            raise InvalidInput(f"index {VLIST_INDEX} holds the prefix's admin group")
        fresh = [HandleValue(index, HS_PUBKEY, KeyData(key))]
        group = await self._group(handle)
        if group is not None and not any(admin.matches(ref, self._node.naming) for ref in group.refs):
            refs = (*group.refs, Reference(str(handle), index))
            fresh.append(HandleValue(VLIST_INDEX, HS_VLIST, VListData(refs)))
        await self._records.put_values(principal, handle, fresh)
        return admin

    async def _group(self, handle: Handle) -> VListData | None:
        stored = await self._store.points.one(self._node.naming.key(handle))
        for value in decode_values(stored) if stored else ():
            if value.index == VLIST_INDEX and value.type == HS_VLIST and isinstance(value.data, VListData):
                return value.data
        return None
