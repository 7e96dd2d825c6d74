"""The node's own keys: kept in the database so that every process and host signs and checks alike."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from .errors import AuthenticationFailed
from .store.engine import Store
from .store.schema import node

TOKEN_KEY = "token_key"
CREDENTIAL_KEY = "credential_key"


class NodeKeys:
    """The token key and the credential key, made on first use by whichever process gets there first.

    `credential_key`, when given (from the node's settings), seals password verifiers instead of the key kept
    in the database, so that a copy of the database alone cannot be used to log in."""

    def __init__(self, store: Store, *, credential_key: bytes | None = None) -> None:
        self._store = store
        self._known: dict[str, bytes] = {}
        if credential_key is not None:
            self._known[CREDENTIAL_KEY] = credential_key

    async def token_key(self) -> bytes:
        return await self._key(TOKEN_KEY)

    async def credential_key(self) -> bytes:
        return await self._key(CREDENTIAL_KEY)

    async def _key(self, name: str) -> bytes:
        if name not in self._known:
            self._known[name] = await self._made(name)
        return self._known[name]

    async def _made(self, name: str) -> bytes:
        async with self._store.writer.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            fresh = secrets.token_hex(32)
            insert = dialect.insert(node).values(key=name, value=fresh)
            await conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]))
            value = (await conn.execute(select(node.c.value).where(node.c.key == name))).scalar_one()
        return bytes.fromhex(value)


def seal(key: bytes, text: str, *, context: bytes | None = None) -> str:
    """`text` encrypted and authenticated with `key` (AES-GCM); `context`, if given, is authenticated too and
    must be given again to unseal it (what the sealed text belongs to)."""
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, text.encode(), context)).decode()


def unseal(key: bytes, sealed: str, *, context: bytes | None = None) -> str:
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], context).decode()
    except Exception:  # a changed key or a damaged verifier: the login fails, never the server
        raise AuthenticationFailed("the password verifier cannot be read with this node's key") from None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
