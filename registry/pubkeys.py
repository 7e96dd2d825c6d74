"""HS_PUBKEY: public keys as the Handle System writes them, and checking signatures made with them.

Three forms of one key:

- **binary**, the value's data on the native protocol (Handle.Net's `Util.getBytesFromPublicKey`): the key
  type as a string (`RSA_PUB_KEY`, `DSA_PUB_KEY`, `ED25519_PUB_KEY`), two bytes of flags (0, reserved), then
  each parameter as a 4-byte length and its bytes — RSA: exponent, modulus; DSA: q, p, g, y (integers
  big-endian, in two's complement as Java writes them, read as unsigned); Ed25519: the 32-byte key.
- **JSON**, Handle REST's `{"format": "key", "value": …}`: a JWK as Handle.Net writes it — RSA
  `{"kty", "n", "e"}`, DSA `{"kty", "y", "p", "q", "g"}`, unpadded base64url of the unsigned big-endian
  integers; Ed25519 as RFC 8037 says, `{"kty": "OKP", "crv": "Ed25519", "x"}`.
- **cryptography**'s key objects, to verify signatures, and PEM files, to read keys in.

Handle.Net 9 defines no Ed25519 key: `ED25519_PUB_KEY` is idnode's spelling, after Handle.Net's `RSA_PUB_KEY`
and `DSA_PUB_KEY` and CAICT's `SM2_PUB_KEY`. Keys are checked for their shape when read (sizes); whether
`cryptography` can use one (an odd exponent, DSA's standard sizes) is found out when a signature is checked:
a key it cannot load verifies nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from typing import Any, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ed25519, padding, rsa

from .errors import InvalidValue

RSA_PUB_KEY, DSA_PUB_KEY, ED25519_PUB_KEY = b"RSA_PUB_KEY", b"DSA_PUB_KEY", b"ED25519_PUB_KEY"
MIN_RSA_BITS, MAX_KEY_BITS = 512, 16_384
ED25519_SIZE = 32
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# Hash names as Handle.Net's clients spell them in `alg=` (its `constructSignedResponse`).
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    **dict.fromkeys(("SHA", "SHA1", "SHA-1"), hashes.SHA1),
    **dict.fromkeys(("SHA256", "SHA-256", "SHA2", "SHA-2"), hashes.SHA256),
}


def _unsigned(number: int) -> bytes:
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _from_b64(text: object, name: str) -> bytes:
    """Unpadded base64url, as JWKs write their members (RFC 7515) and Handle.Net writes them."""
    if not isinstance(text, str) or not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidValue(f"the key's {name} must be unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidValue(f"the key's {name} is not base64url") from None


def _number(obj: dict[str, Any], name: str) -> int:
    return int.from_bytes(_from_b64(obj.get(name), name), "big")


def _check_size(number: int, name: str) -> None:
    if number.bit_length() > MAX_KEY_BITS:
        raise InvalidValue(f"the key's {name} has more than {MAX_KEY_BITS} bits")


@dataclass(frozen=True, slots=True)
class RsaKey:
    n: int
    e: int

    def __post_init__(self) -> None:
        if not MIN_RSA_BITS <= self.n.bit_length() <= MAX_KEY_BITS:
            raise InvalidValue(f"an RSA modulus has {MIN_RSA_BITS} to {MAX_KEY_BITS} bits")
        _check_size(self.e, "e")

    def to_jwk(self) -> dict[str, str]:
        return {"kty": "RSA", "n": _b64url(_unsigned(self.n)), "e": _b64url(_unsigned(self.e))}

    def to_bytes(self) -> bytes:
        return _encode(RSA_PUB_KEY, _signed(self.e), _signed(self.n))

    def verify(self, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> None:
        key = rsa.RSAPublicNumbers(self.e, self.n).public_key()
        key.verify(signature, data, padding.PKCS1v15(), algorithm)


@dataclass(frozen=True, slots=True)
class DsaKey:
    p: int
    q: int
    g: int
    y: int

    def __post_init__(self) -> None:
        for name in ("p", "q", "g", "y"):
            _check_size(getattr(self, name), name)

    def to_jwk(self) -> dict[str, str]:
        numbers = {name: _b64url(_unsigned(getattr(self, name))) for name in ("y", "p", "q", "g")}
        return {"kty": "DSA", **numbers}

    def to_bytes(self) -> bytes:
        return _encode(DSA_PUB_KEY, *(_signed(n) for n in (self.q, self.p, self.g, self.y)))

    def verify(self, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> None:
        parameters = dsa.DSAParameterNumbers(self.p, self.q, self.g)
        dsa.DSAPublicNumbers(self.y, parameters).public_key().verify(signature, data, algorithm)


@dataclass(frozen=True, slots=True)
class Ed25519Key:
    x: bytes

    def __post_init__(self) -> None:
        if len(self.x) != ED25519_SIZE:
            raise InvalidValue(f"an Ed25519 key is {ED25519_SIZE} bytes")

    def to_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(self.x)}

    def to_bytes(self) -> bytes:
        return _encode(ED25519_PUB_KEY, self.x)

    def verify(self, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> None:
        # Ed25519 hashes the message itself (SHA-512): `alg` names the hash for RSA and DSA only.
        del algorithm
        ed25519.Ed25519PublicKey.from_public_bytes(self.x).verify(signature, data)


PublicKey: TypeAlias = RsaKey | DsaKey | Ed25519Key


# -- binary ------------------------------------------------------------------------------------------------


def _signed(number: int) -> bytes:
    """Java's `BigInteger.toByteArray()` of a positive number: big-endian with room for a sign bit."""
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def _encode(kind: bytes, *parts: bytes) -> bytes:
    out = [struct.pack(">I", len(kind)), kind, b"\0\0"]  # the flags, reserved
    for part in parts:
        out += [struct.pack(">I", len(part)), part]
    return b"".join(out)


class _Reader:
    def __init__(self, raw: bytes) -> None:
        self._raw, self._at = raw, 0

    def take(self, size: int) -> bytes:
        if size < 0 or self._at + size > len(self._raw):
            raise InvalidValue("the HS_PUBKEY data ends too soon")
        part = self._raw[self._at : self._at + size]
        self._at += size
        return part

    def array(self) -> bytes:
        (size,) = struct.unpack(">I", self.take(4))
        return self.take(size)

    def number(self) -> int:
        return int.from_bytes(self.array(), "big")


def from_bytes(raw: bytes) -> PublicKey:
    """The key of an HS_PUBKEY value's binary data (what follows the key's parameters is ignored, as
    Handle.Net ignores it)."""
    reader = _Reader(raw)
    kind = reader.array()
    reader.take(2)  # flags
    if kind == RSA_PUB_KEY:
        e = reader.number()
        return RsaKey(reader.number(), e)
    if kind == DSA_PUB_KEY:
        q, p, g, y = (reader.number() for _ in range(4))
        return DsaKey(p, q, g, y)
    if kind == ED25519_PUB_KEY:
        return Ed25519Key(reader.array())
    raise InvalidValue(f"unknown public key type {kind[:32]!r}")


# -- JWK ---------------------------------------------------------------------------------------------------


def from_jwk(obj: object) -> PublicKey:
    """The key of a JWK (members other than the key's are ignored, as Handle.Net ignores them)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("kty"), str):
        raise InvalidValue("key data is a JWK: an object with kty")
    kty = obj["kty"].upper()
    if kty == "RSA":
        return RsaKey(_number(obj, "n"), _number(obj, "e"))
    if kty == "DSA":
        return DsaKey(*(_number(obj, name) for name in ("p", "q", "g", "y")))
    if kty == "OKP" and obj.get("crv") == "Ed25519":
        return Ed25519Key(_from_b64(obj.get("x"), "x"))
    raise InvalidValue("a key is RSA, DSA or OKP (Ed25519)")


def handle_encoding(jwk: object) -> bytes | None:
    """The Handle System's encoding of a JWK's key, or None for a key it has no encoding for (SM2)."""
    try:
        return from_jwk(jwk).to_bytes()
    except InvalidValue:
        return None


# -- cryptography and PEM ----------------------------------------------------------------------------------


def from_crypto(key: object) -> PublicKey:
    """The key of one of `cryptography`'s public keys (RSA, DSA or Ed25519)."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return RsaKey(numbers.n, numbers.e)
    if isinstance(key, dsa.DSAPublicKey):
        found = key.public_numbers()
        params = found.parameter_numbers
        return DsaKey(params.p, params.q, params.g, found.y)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Ed25519Key(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    raise InvalidValue("only RSA, DSA and Ed25519 keys are supported")


def from_pem(data: bytes) -> PublicKey:
    """The public key of a PEM (or DER) file: `-----BEGIN PUBLIC KEY-----` as openssl writes it."""
    try:
        key: object = (
            serialization.load_pem_public_key(data)
            if b"-----BEGIN" in data
            else serialization.load_der_public_key(data)
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidValue("the file is not a PEM or DER public key") from None
    return from_crypto(key)


# -- signatures --------------------------------------------------------------------------------------------


def hash_named(alg: str) -> hashes.HashAlgorithm:
    """The hash of a challenge answer's `alg=` (SHA1 or SHA256, in Handle.Net's spellings)."""
    found = _HASHES.get(alg.strip().upper())
    if found is None:
        raise InvalidValue(f"alg {alg[:32]!r} is not SHA1 or SHA256")
    return found()


def verifies(key: PublicKey, signature: bytes, data: bytes, alg: str) -> bool:
    """Whether `signature` is `key`'s over `data`: RSA PKCS#1 v1.5 and DSA with `alg`'s hash, Ed25519."""
    algorithm = hash_named(alg)
    try:
        key.verify(signature, data, algorithm)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False  # a wrong signature, or a key `cryptography` refuses to use
    return True


def fingerprint(key: PublicKey) -> str:
    """A short name of the key (a digest of its binary form)."""
    return _b64url(hashlib.sha256(key.to_bytes()).digest()[:16])
