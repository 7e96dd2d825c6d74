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
from .service import Registry
from .store.schema import node

TOKEN_KEY = "token_key"
CREDENTIAL_KEY = "credential_key"


async def node_key(registry: Registry, name: str) -> bytes:
    """The key called `name`, made on first use (by whichever process gets there first)."""
    if name in registry.keys:
        return registry.keys[name]
    async with registry.store.writer.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        fresh = secrets.token_hex(32)
        await conn.execute(
            dialect.insert(node).values(key=name, value=fresh).on_conflict_do_nothing(index_elements=["key"])
        )
        value = (await conn.execute(select(node.c.value).where(node.c.key == name))).scalar_one()
    registry.keys[name] = bytes.fromhex(value)
    return registry.keys[name]


async def credential_key(registry: Registry) -> bytes:
    """The key that seals password verifiers: `IDNODE_CREDENTIAL_KEY` (64 hex digits) when set, so that a
    copy of the database alone cannot be used to log in; else one kept in the database."""
    configured = os.environ.get("IDNODE_CREDENTIAL_KEY")
    if configured:
        return bytes.fromhex(configured)
    return await node_key(registry, CREDENTIAL_KEY)


def seal(key: bytes, text: str) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, text.encode(), None)).decode()


def unseal(key: bytes, sealed: str) -> str:
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], None).decode()
    except Exception:  # a changed key or a damaged verifier: the login fails, never the server
        raise AuthenticationFailed("the password verifier cannot be read with this node's key") from None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
