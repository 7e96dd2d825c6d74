"""Who a native client is, and the keys it writes: `SecretKey` and `PrivateKey` answer a server's challenge
(`auth`), and `jwk_bytes` turns a JWK — the JSON form of an HS_PUBKEY value's data — into the Handle System's
key bytes, for `values.from_json(..., keys=jwk_bytes)`.

An identity is `index:handle` of the administrator's HS_SECKEY or HS_PUBKEY value (`300:0.NA/88.118.8`); a
handle alone means index 300, as the HTTP client reads its `username`. A secret-key answer is PBKDF2-HMAC-SHA1
(from protocol 2.7) keyed by the secret as UTF-8; a private-key answer a signature over nonce‖digest with
SHA-256: RSA PKCS#1 v1.5, DSA, or Ed25519 (which hashes for itself).

Key bytes (Handle.Net's `Util.getBytesFromPublicKey`): the key type as a length-prefixed string
(`RSA_PUB_KEY`, `DSA_PUB_KEY`, and idnode's `ED25519_PUB_KEY`), two bytes of flags (0), then each parameter
length-prefixed — RSA: exponent, modulus; DSA: q, p, g, y, as Java's `BigInteger.toByteArray()` writes
positive numbers (big-endian, room for a sign bit); Ed25519: the 32-byte key.

`cryptography` is imported only when a private key is used.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from typing import Any

from .._keys import administrator
from . import auth, wire
from .values import JsonValue
from .wire import WireError

SIGNATURE_HASH = "SHA-256"


def identity(name: str) -> tuple[str, int]:
    """The handle and index of an administrator named `index:handle` (or `handle`, for index 300)."""
    index, _, handle = administrator(name, None).partition(":")
    if not handle:
        raise ValueError(f"an administrator is index:handle, not {name!r}")
    return handle, int(index)


@dataclass(frozen=True, slots=True)
class SecretKey:
    """An administrator (`300:0.NA/88.118.8`) proving its HS_SECKEY secret."""

    identity: str
    secret: str | bytes = field(repr=False)

    def __post_init__(self) -> None:
        identity(self.identity)

    def answer(self, nonce: bytes, digest: bytes, version: tuple[int, int]) -> auth.ChallengeAnswer:
        """The answer to a challenge of `nonce` over a request of `digest` (without its type byte)."""
        handle, index = identity(self.identity)
        secret = self.secret.encode() if isinstance(self.secret, str) else self.secret
        data = auth.signed_by_answer(nonce, digest)
        proof = auth.secret_answer(data, secret, version, salt=os.urandom(16))
        return auth.ChallengeAnswer(auth.HS_SECKEY, handle, index, proof)


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """An administrator (`300:0.NA/88.118.8`) proving the private key of its HS_PUBKEY value: one of
    `cryptography`'s RSA, DSA or Ed25519 private keys, or a PEM of one (`password` if it is encrypted)."""

    identity: str
    key: Any = field(repr=False)
    password: str | bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        identity(self.identity)
        if isinstance(self.key, bytes | bytearray | str):
            from cryptography.hazmat.primitives import serialization

            pem = self.key.encode() if isinstance(self.key, str) else bytes(self.key)
            password = self.password.encode() if isinstance(self.password, str) else self.password
            try:
                loaded = serialization.load_pem_private_key(pem, password=password)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"not a PEM private key: {exc}") from None
            object.__setattr__(self, "key", loaded)
            object.__setattr__(self, "password", None)

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import dsa, ed25519, padding, rsa

        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if isinstance(self.key, dsa.DSAPrivateKey):
            return self.key.sign(data, hashes.SHA256())
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(data)
        raise ValueError("the private key is not RSA, DSA or Ed25519")

    def answer(self, nonce: bytes, digest: bytes, version: tuple[int, int]) -> auth.ChallengeAnswer:
        """The answer to a challenge of `nonce` over a request of `digest` (without its type byte)."""
        del version  # a signature is the same in every version from 2.1
        handle, index = identity(self.identity)
        signature = self.sign(auth.signed_by_answer(nonce, digest))
        proof = auth.KeyAnswer(SIGNATURE_HASH, signature).encode()
        return auth.ChallengeAnswer(auth.HS_PUBKEY, handle, index, proof)


Credential = SecretKey | PrivateKey


# -- JWK → key bytes ---------------------------------------------------------------------------------------


def _raw(jwk: dict[str, Any], name: str) -> bytes:
    text = jwk.get(name)
    if not isinstance(text, str):
        raise WireError(f"the key has no {name}", code=202)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise WireError(f"the key's {name} is not base64url", code=202) from None


def _member(jwk: dict[str, Any], name: str) -> int:
    return int.from_bytes(_raw(jwk, name), "big")


def _java(number: int) -> bytes:
    """Java's `BigInteger.toByteArray()` of a positive number."""
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def _key(kind: str, *parts: bytes) -> bytes:
    return wire.text(kind) + bytes(2) + b"".join(wire.bytes_(part) for part in parts)


def jwk_bytes(jwk: JsonValue) -> bytes:
    """The Handle System's bytes of the public key in `jwk` (RSA, DSA, or OKP Ed25519)."""
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
        raise WireError("key data is a JWK: an object with kty", code=202)
    kty = jwk["kty"].upper()
    if kty == "RSA":
        return _key("RSA_PUB_KEY", _java(_member(jwk, "e")), _java(_member(jwk, "n")))
    if kty == "DSA":
        return _key("DSA_PUB_KEY", *(_java(_member(jwk, name)) for name in ("q", "p", "g", "y")))
    if kty == "OKP" and jwk.get("crv") == "Ed25519":
        x = _raw(jwk, "x")
        if len(x) != 32:
            raise WireError("an Ed25519 key is 32 bytes", code=202)
        return _key("ED25519_PUB_KEY", x)
    raise WireError("a key is RSA, DSA or OKP (Ed25519)", code=202)


__all__ = ["Credential", "PrivateKey", "SecretKey", "identity", "jwk_bytes"]
