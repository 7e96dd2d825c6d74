"""Handle claims sets: what HS_SIGNATURE and HS_CERT values, and the node's signed answers, say and sign.

As the Handle.Net software makes them (`net.handle.hdllib.trust`), a signature is a compact JWS whose payload
is a claims set: `iss`, the signer, named by the value reference `index:handle` of its key; `sub`, the handle
signed (or, in a certificate, the key certified); `iat`, `nbf`, `exp`; and either `digests` of values —
`{"alg":"SHA-256","digests":[{"index":1,"digest":"<base64>"}]}` — or, in a certificate (HS_CERT), the
subject's `publicKey` (a JWK) and the `perms` it is trusted with (`everything`, `thisHandle`,
`derivedPrefixes`, `handlesUnderThisPrefix` over a handle). `chain` names where the issuer's own certificate
is, when it is not in the issuer's handle.

A value's digest is the hash of its binary form (handle-native.md) from the TTL type on: the index is
bound by the digest's own `index`, and the timestamp is left out, as the Handle.Net software leaves them
out. Data is hashed in its binary form: string as UTF-8, base64 and hex decoded, HS_ADMIN and HS_VLIST as
the protocol encodes them, an RSA `key` as its RSA_PUB_KEY encoding; where no binary form is known from the
JSON (HS_SITE, SM2 keys) the canonical JSON (sorted keys, no spaces) stands for it. Digests are SHA-256, or
SM3 for signatures made with SM2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import gmssl_pyx
import orjson

from .errors import InvalidHandle, InvalidValue, SignatureInvalid
from .handle import NA_PREFIX, Handle, is_under
from .signing import SM2, KeyPair, jws_sign, public_key_from_jwk
from .values import DEFAULT_PERMISSIONS, parse_time

HS_SIGNATURE: Final = "HS_SIGNATURE"
HS_CERT: Final = "HS_CERT"
SIGNATURE_INDEX: Final = 400  # where a record's HS_SIGNATURE goes unless told otherwise
CERT_INDEX: Final = 401  # where a prefix handle's HS_CERT goes
LEEWAY: Final = 300  # seconds of clock difference tolerated at nbf and exp

# HS_ADMIN permission bits as the protocol encodes them, by the bit numbers of `values.AdminPermission`.
_ADMIN_MASKS = (0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x400, 0x80, 0x100, 0x200, 0x800)
_RSA_PUBLIC = b"RSA_PUB_KEY"
_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "SHA-256": lambda raw: hashlib.sha256(raw).digest(),
    "SM3": lambda raw: bytes(gmssl_pyx.sm3_hash(raw)),
}


DIGEST_ALGS: Final = frozenset(_HASHES)


def digest_alg(key_alg: str) -> str:
    return "SM3" if key_alg == SM2 else "SHA-256"


# -- the binary form of a value ----------------------------------------------------------------------------


def _field(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def _text(value: Any) -> bytes:
    return _field(str(value).encode("utf-8"))


def _java_bytes(number: int) -> bytes:
    """A positive integer as Java's BigInteger.toByteArray writes it (two's complement, minimal)."""
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def _key_bytes(jwk: Any) -> bytes:
    if isinstance(jwk, Mapping) and jwk.get("kty") == "RSA":
        numbers = public_key_from_jwk(jwk).rsa_numbers
        if numbers is not None:
            e, n = numbers
            return _field(_RSA_PUBLIC) + b"\0\0" + _field(_java_bytes(e)) + _field(_java_bytes(n))
    return orjson.dumps(jwk, option=orjson.OPT_SORT_KEYS)


def _data_bytes(data: Any) -> bytes:
    fmt: Any
    value: Any
    fmt, value = ("string", data) if isinstance(data, str) else (data.get("format"), data.get("value"))
    try:
        if fmt == "string":
            return str(value).encode("utf-8")
        if fmt == "base64":
            return base64.b64decode(value, validate=True)
        if fmt == "hex":
            return bytes.fromhex(value)
        if fmt == "admin":
            bits = str(value["permissions"])
            mask = sum(m for bit, m in enumerate(_ADMIN_MASKS) if bits[11 - bit] == "1")
            return struct.pack(">H", mask) + _text(value["handle"]) + struct.pack(">I", int(value["index"]))
        if fmt == "vlist":
            refs = b"".join(_text(ref["handle"]) + struct.pack(">I", int(ref["index"])) for ref in value)
            return struct.pack(">I", len(value)) + refs
        if fmt == "key":
            return _key_bytes(value)
    except (KeyError, TypeError, ValueError, IndexError, binascii.Error):
        raise InvalidValue(f"{fmt} data cannot be encoded") from None
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def ttl_head(ttl_type: int, ttl: int, permissions: int) -> bytes:
    """TTL type, TTL and permissions as the Handle binary form has them — a 4-byte TTL; an absolute TTL past
    2038 does not fit one and takes 8 bytes (idnode's extension: the Handle software cannot say it at all)."""
    if -(2**31) <= ttl < 2**31:
        return struct.pack(">BiB", ttl_type, ttl, permissions)
    return struct.pack(">BqB", ttl_type, ttl, permissions)


def value_bytes(value: Mapping[str, Any]) -> bytes:
    """What a value's digest covers: TTL type, TTL, permissions, type, data, references."""
    ttl = value.get("ttl", 86_400)
    ttl_type, ttl_number = (1, parse_time(ttl)) if isinstance(ttl, str) else (0, int(ttl))
    bits = str(value.get("permissions", DEFAULT_PERMISSIONS))
    permissions = sum(m for m, b in zip((8, 4, 2, 1), bits, strict=True) if b == "1")
    refs = value.get("references") or []
    encoded_refs = b"".join(_text(ref["handle"]) + struct.pack(">I", int(ref["index"])) for ref in refs)
    return (
        ttl_head(ttl_type, ttl_number, permissions)
        + _text(value["type"])
        + _field(_data_bytes(value["data"]))
        + struct.pack(">I", len(refs))
        + encoded_refs
    )


def digests(values: Iterable[Mapping[str, Any]], alg: str = "SHA-256") -> dict[str, Any]:
    """The `digests` claim of `values` (JSON values, as Handle REST writes them)."""
    hash_of = _HASHES[alg]
    found = [
        {"index": value["index"], "digest": base64.b64encode(hash_of(value_bytes(value))).decode()}
        for value in values
    ]
    return {"alg": alg, "digests": found}


def check_digests(claimed: Any, values: Sequence[Mapping[str, Any]]) -> None:
    """Raise unless `claimed` digests exactly `values`: each one, none missing, none more."""
    if not isinstance(claimed, Mapping) or claimed.get("alg") not in _HASHES:
        raise SignatureInvalid("the signature's digests name no known hash")
    wanted: dict[Any, Any] = {
        d.get("index"): d.get("digest") for d in claimed.get("digests") or () if isinstance(d, Mapping)
    }
    actual: dict[Any, Any] = {d["index"]: d["digest"] for d in digests(values, claimed["alg"])["digests"]}
    if wanted != actual:
        bad = sorted((i for i in set(wanted) | set(actual) if wanted.get(i) != actual.get(i)), key=str)
        raise SignatureInvalid(f"the values at index {bad} are not those signed")


# -- claims -------------------------------------------------------------------------------------------------


def values_claims(
    issuer: str, subject: str, values: Sequence[Mapping[str, Any]], *, alg: str, now: int, lifetime: int
) -> dict[str, Any]:
    """The claims of a signature over `values` of `subject` (Handle.Net's field order)."""
    return {
        "digests": digests(values, digest_alg(alg)),
        "iss": issuer,
        "sub": subject,
        "exp": now + lifetime,
        "nbf": now - LEEWAY,
        "iat": now,
    }


def cert_claims(
    issuer: str, subject: str, public_jwk: Mapping[str, Any], perms: Sequence[Mapping[str, str]], *, now: int,
    lifetime: int, chain: Sequence[str] = (),
) -> dict[str, Any]:  # fmt: skip
    """The claims of a certificate: `issuer` vouches that `subject`'s key is `public_jwk`, for `perms`."""
    claims: dict[str, Any] = {"perms": list(perms)}
    if chain:
        claims["chain"] = list(chain)
    return claims | {
        "publicKey": dict(public_jwk), "iss": issuer, "sub": subject,
        "exp": now + lifetime, "nbf": now - LEEWAY, "iat": now,
    }  # fmt: skip


def sign_claims(claims: Mapping[str, Any], key: KeyPair) -> str:
    return jws_sign(orjson.dumps(claims), key)


def check_time(claims: Mapping[str, Any], now: float) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, int) and now > exp + LEEWAY:
        raise SignatureInvalid("the signature has expired")
    if isinstance(nbf, int) and now < nbf - LEEWAY:
        raise SignatureInvalid("the signature is not valid yet")


def same_handle(a: str, b: str) -> bool:
    """Handles compared as the Handle.Net software compares a claim's subject: the prefix ignoring case."""
    pa, _, sa = a.partition("/")
    pb, _, sb = b.partition("/")
    return pa.upper() == pb.upper() and sa == sb


def handle_of(reference: str) -> str:
    """The handle of a value reference `index:handle` (or of a bare handle)."""
    head, colon, rest = reference.partition(":")
    return rest if colon and head.isdigit() else reference


def authorises(perms: Any, handle: str) -> bool:
    """Whether a certificate's `perms` cover `handle`, as the Handle.Net verifier reads them."""
    try:
        target = Handle.parse(handle)
    except InvalidHandle:
        return False
    for perm in perms if isinstance(perms, list) else ():
        kind, over = (
            (perm.get("perm"), str(perm.get("handle", ""))) if isinstance(perm, Mapping) else ("", "")
        )
        granted = over.partition("/")[2].upper() if over.upper().startswith(NA_PREFIX + "/") else ""
        if kind == "everything":
            return True
        if kind == "thisHandle" and (same_handle(handle, over) or target.prefix == granted):
            return True
        if kind == "handlesUnderThisPrefix" and target.prefix == granted and not target.is_prefix_handle:
            return True
        derived = target.governing_prefix
        if kind == "derivedPrefixes" and granted and derived != granted and is_under(derived, granted):
            return True
    return False
