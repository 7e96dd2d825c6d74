"""Checking what is signed, and signing records: the SDK's side of signed answers (`cert=true`), HS_SIGNATURE
and HS_CERT values.

A signature is a compact JWS whose payload is a Handle claims set: `iss` (the value reference `index:handle`
of the signer's key), `sub` (the handle), `iat`/`nbf`/`exp`, and `digests` of values — each the hash of the
value's binary form (handle-native.md) from its TTL type on, as the Handle.Net software digests them — or,
in an HS_CERT, the `publicKey` and `perms` the issuer vouches for. The node signs with RS256 (RSA 2048) or
SM2 with SM3 (which needs `gmssl-pyx`); `cryptography` checks RS256. Both are imported only when a signature
is made or checked, so that `import sdk` stays light.

Trust is anchored in the node: the keys published as HS_PUBKEY values (index 310–319) of `0.NA/<node
prefix>`, fetched through the client (and again when a key it does not know signs) unless pinned with
`node_keys=`. Every check fails closed: a missing, malformed, expired or non-verifying signature, or one
that does not cover every value anyone may read, raises `SignatureError`.

The node's own implementation is `registry/trust.py`; a test keeps the two in agreement.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import struct
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from ._errors import SignatureError

KEY_INDEXES: Final = range(310, 320)
SIGNATURE_INDEX: Final = 400
LEEWAY: Final = 300
MAX_CHAIN: Final = 8
SM2_ID: Final = b"1234567812345678"
_ADMIN_MASKS = (0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x400, 0x80, 0x100, 0x200, 0x800)

Fetch = Callable[[str], Generator[Any, Any, Sequence[Mapping[str, Any]] | None]]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: Any) -> bytes:
    try:
        return base64.urlsafe_b64decode(str(text) + "=" * (-len(str(text)) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError("a signature part is not base64url") from None


def _sm3(raw: bytes) -> bytes:
    try:
        import gmssl_pyx
    except ImportError:
        raise SignatureError("SM2/SM3 signatures need the gmssl-pyx package") from None
    return bytes(gmssl_pyx.sm3_hash(raw))


_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "SHA-256": lambda raw: hashlib.sha256(raw).digest(),
    "SM3": _sm3,
}


# -- the binary form of a value, as the Handle System digests it -------------------------------------------


def _field(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def _text(value: Any) -> bytes:
    return _field(str(value).encode("utf-8"))


def _ref(ref: Mapping[str, Any]) -> bytes:
    return _text(ref["handle"]) + struct.pack(">I", int(ref["index"]))


def _java_bytes(number: int) -> bytes:
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def _data_bytes(data: Any) -> bytes:
    fmt: Any
    value: Any
    fmt, value = ("string", data) if isinstance(data, str) else (data.get("format"), data.get("value"))
    if fmt == "string":
        return str(value).encode("utf-8")
    if fmt == "base64":
        return base64.b64decode(value)
    if fmt == "hex":
        return bytes.fromhex(value)
    if fmt == "admin":
        bits = str(value["permissions"])
        mask = sum(m for bit, m in enumerate(_ADMIN_MASKS) if bits[11 - bit] == "1")
        return struct.pack(">H", mask) + _ref(value)
    if fmt == "vlist":
        return struct.pack(">I", len(value)) + b"".join(_ref(ref) for ref in value)
    if fmt == "key" and isinstance(value, Mapping) and value.get("kty") == "RSA":
        e, n = (int.from_bytes(_unb64url(value[m]), "big") for m in ("e", "n"))
        return _field(b"RSA_PUB_KEY") + b"\0\0" + _field(_java_bytes(e)) + _field(_java_bytes(n))
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _ttl_head(ttl_type: int, ttl: int, permissions: int) -> bytes:
    """A 4-byte TTL as the Handle binary form has it; an absolute TTL past 2038 takes 8 (as the node does)."""
    if -(2**31) <= ttl < 2**31:
        return struct.pack(">BiB", ttl_type, ttl, permissions)
    return struct.pack(">BqB", ttl_type, ttl, permissions)


def value_bytes(value: Mapping[str, Any]) -> bytes:
    """What a value's digest covers: TTL type, TTL, permissions, type, data, references."""
    ttl = value.get("ttl", 86_400)
    if isinstance(ttl, str):
        ttl_type, ttl = 1, calendar.timegm(time.strptime(ttl, "%Y-%m-%dT%H:%M:%SZ"))
    else:
        ttl_type = 0
    bits = str(value.get("permissions", "1110"))
    permissions = sum(m for m, b in zip((8, 4, 2, 1), bits, strict=True) if b == "1")
    refs = value.get("references") or []
    return (
        _ttl_head(ttl_type, int(ttl), permissions)
        + _text(value["type"])
        + _field(_data_bytes(value["data"]))
        + struct.pack(">I", len(refs))
        + b"".join(_ref(ref) for ref in refs)
    )


def digests(values: Sequence[Mapping[str, Any]], alg: str) -> dict[int, str]:
    if alg not in _HASHES:
        raise SignatureError(f"values digested with {alg!r}, which is not known here")
    hash_of = _HASHES[alg]
    try:
        return {v["index"]: base64.b64encode(hash_of(value_bytes(v))).decode() for v in values}
    except (KeyError, TypeError, ValueError, IndexError, binascii.Error):
        raise SignatureError("a value cannot be digested as the Handle System does") from None


def public_values(values: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """What a record's signature covers: the values anyone may read, signatures aside."""
    return [
        v
        for v in values
        if v["type"] not in ("HS_SIGNATURE", "HS_SECKEY") and str(v.get("permissions", "1110"))[2:3] == "1"
    ]


# -- keys and JWS -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A key that checks signatures (from a JWK: RSA, or EC on curve SM2)."""

    alg: str
    jwk: Mapping[str, Any]

    @classmethod
    def from_jwk(cls, jwk: Any) -> PublicKey:
        if isinstance(jwk, Mapping) and jwk.get("kty") == "RSA" and "n" in jwk and "e" in jwk:
            return cls("RS256", jwk)
        if isinstance(jwk, Mapping) and jwk.get("kty") == "EC" and jwk.get("crv") == "SM2":
            return cls("SM2", jwk)
        raise SignatureError("the key is neither an RSA key nor an SM2 key")

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint."""
        names = ("e", "kty", "n") if self.alg == "RS256" else ("crv", "kty", "x", "y")
        canonical = orjson.dumps({name: self.jwk[name] for name in names})
        return _b64url(hashlib.sha256(canonical).digest())

    def verifies(self, message: bytes, signature: bytes) -> bool:
        if self.alg == "SM2":
            return _sm2_verifies(self.jwk, message, signature)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        e, n = (int.from_bytes(_unb64url(self.jwk[m]), "big") for m in ("e", "n"))
        try:
            rsa.RSAPublicNumbers(e, n).public_key().verify(
                signature, message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def _sm2_der(signature: bytes) -> bytes:
    def integer(raw: bytes) -> bytes:
        number = int.from_bytes(raw, "big")
        body = number.to_bytes(number.bit_length() // 8 + 1, "big")
        return b"\x02" + bytes([len(body)]) + body

    body = integer(signature[:32]) + integer(signature[32:])
    return b"\x30" + bytes([len(body)]) + body


def _sm2_verifies(jwk: Mapping[str, Any], message: bytes, signature: bytes) -> bool:
    try:
        import gmssl_pyx
    except ImportError:
        raise SignatureError("SM2 signatures need the gmssl-pyx package") from None
    if len(signature) != 64:
        return False
    point = _unb64url(jwk["x"]) + _unb64url(jwk["y"])
    try:
        return bool(gmssl_pyx.sm2_verify(point, message, _sm2_der(signature), signer_id=SM2_ID))
    except gmssl_pyx.GmsslInnerError:
        return False


@dataclass(frozen=True, slots=True)
class Jws:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @classmethod
    def parse(cls, token: Any) -> Jws:
        if not isinstance(token, str) or token.count(".") != 2:
            raise SignatureError("the signature is not a compact JWS")
        head, body, sig = token.split(".")
        try:
            header, claims = orjson.loads(_unb64url(head)), orjson.loads(_unb64url(body))
        except orjson.JSONDecodeError:
            raise SignatureError("the signature's header or claims are not JSON") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise SignatureError("the signature's header or claims are not JSON objects")
        return cls(header, claims, f"{head}.{body}".encode(), _unb64url(sig))

    def check(self, key: PublicKey, now: float) -> None:
        if self.header.get("alg") != key.alg or not key.verifies(self.signing_input, self.signature):
            raise SignatureError("the signature does not verify with the signer's key")
        exp, nbf = self.claims.get("exp"), self.claims.get("nbf")
        if isinstance(exp, int) and now > exp + LEEWAY:
            raise SignatureError("the signature has expired")
        if isinstance(nbf, int) and now < nbf - LEEWAY:
            raise SignatureError("the signature is not valid yet")


def same_handle(a: Any, b: str) -> bool:
    """As the Handle.Net verifier compares a claim's subject: the prefix ignoring case, the suffix exactly."""
    pa, _, sa = str(a).partition("/")
    pb, _, sb = b.partition("/")
    return pa.upper() == pb.upper() and sa == sb


def handle_of(reference: str) -> str:
    head, colon, rest = reference.partition(":")
    return rest if colon and head.isdigit() else reference


def check_digests(claims: Mapping[str, Any], values: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """The digests claimed, checked against `values`; raise for any claimed value changed or gone."""
    claimed = claims.get("digests")
    if not isinstance(claimed, Mapping):
        raise SignatureError("the signature digests no values")
    wanted: dict[Any, Any] = {
        d.get("index"): d.get("digest") for d in claimed.get("digests") or () if isinstance(d, Mapping)
    }
    by_index = {v["index"]: v for v in values}
    actual: dict[Any, str] = digests([by_index[i] for i in wanted if i in by_index], str(claimed.get("alg")))
    bad = sorted((i for i in wanted if actual.get(i) != wanted[i]), key=str)
    if bad:
        raise SignatureError(f"the values at index {bad} are not those signed")
    return actual


# -- signing records (the enterprise's key) -----------------------------------------------------------------


class SigningKey:
    """An enterprise's private key, and how its signatures name it (`issuer`, e.g. `301:0.NA/88.118.8`: the
    index the node certified it at with `idnode enterprise certify-key`).

    `SigningKey.from_pem(path, issuer=…)` reads an RSA key (PKCS#1 or PKCS#8 PEM, as `openssl genrsa` or an
    HSM export writes it)."""

    def __init__(self, private_key: Any, issuer: str) -> None:
        self._key = private_key
        self.issuer = issuer

    @classmethod
    def from_pem(cls, pem: bytes | str, *, issuer: str, password: bytes | None = None) -> SigningKey:
        from pathlib import Path

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        raw = pem if isinstance(pem, bytes) else Path(pem).read_bytes()
        key = serialization.load_pem_private_key(raw, password=password)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the PEM file holds no RSA private key")
        return cls(key, issuer)

    @property
    def public_jwk(self) -> dict[str, str]:
        numbers = self._key.public_key().public_numbers()
        as_bytes = [x.to_bytes((x.bit_length() + 7) // 8, "big") for x in (numbers.e, numbers.n)]
        return {"kty": "RSA", "e": _b64url(as_bytes[0]), "n": _b64url(as_bytes[1])}

    def sign_claims(self, claims: Mapping[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        kid = PublicKey("RS256", self.public_jwk).kid
        head = _b64url(orjson.dumps({"alg": "RS256", "kid": kid}))
        signing_input = f"{head}.{_b64url(orjson.dumps(claims))}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


def sign_record(
    handle: str,
    values: Sequence[Mapping[str, Any]],
    *,
    private_key: SigningKey,
    index: int = SIGNATURE_INDEX,
    lifetime: int = 5 * 365 * 86_400,
    now: float | None = None,
) -> dict[str, Any]:
    """The HS_SIGNATURE value (Handle REST JSON) that signs the values anyone may read of `values` (Handle
    REST JSON, e.g. `record.raw`) of `handle` with `private_key`."""
    moment = int(time.time() if now is None else now)
    found = digests(public_values(values), "SHA-256")
    claims = {
        "digests": {"alg": "SHA-256", "digests": [{"index": i, "digest": d} for i, d in found.items()]},
        "iss": private_key.issuer, "sub": handle,
        "exp": moment + lifetime, "nbf": moment - LEEWAY, "iat": moment,
    }  # fmt: skip
    token = private_key.sign_claims(claims)
    return {"index": index, "type": "HS_SIGNATURE", "data": {"format": "string", "value": token}}


# -- trusting the node, and checking answers and records ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedRecord:
    """A record whose values anyone may read are all covered by value signatures that verify: `signed` maps
    each index to the issuer (`index:handle`) whose signature covers it."""

    record: Any  # a `Record`
    signed: dict[int, str]


class NodeTrust:
    """The node whose keys a client trusts: `node_prefix` (its keys are fetched from `0.NA/<node prefix>`,
    and fetched again when an unknown key signs), or the keys themselves, pinned (`node_keys`, JWKs)."""

    def __init__(
        self,
        node_prefix: str | None = None,
        node_keys: Sequence[Mapping[str, Any]] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._home = f"0.NA/{node_prefix.upper()}" if node_prefix else None
        self._pinned = [PublicKey.from_jwk(key) for key in node_keys] if node_keys else None
        self._fetched: dict[str, PublicKey] = {}
        self._clock = clock

    def _configured(self) -> None:
        if self._home is None and self._pinned is None:
            raise SignatureError("no node is trusted: give the client node_prefix= or node_keys=")

    def _is_anchor(self, reference: str) -> bool:
        head, _, handle = reference.partition(":")
        if not head.isdigit() or int(head) not in KEY_INDEXES:
            return False
        if self._home is not None:
            return handle.upper() == self._home.upper()
        return self._pinned is not None and handle.upper().startswith("0.NA/")

    def _anchor_key(self, reference: str, kid: Any, fetch: Fetch) -> Generator[Any, Any, PublicKey]:
        self._configured()
        if self._pinned is not None:
            for key in self._pinned:
                if key.kid == kid:
                    return key
            raise SignatureError(f"the signing key {kid} is not one of the node keys given")
        known = self._fetched.get(reference)
        if known is None or known.kid != kid:  # not fetched yet, or the node rotated its key since
            self._fetched = {}
            handle = handle_of(reference)
            for value in (yield from fetch(handle)) or ():
                if value["type"] == "HS_PUBKEY" and value["index"] in KEY_INDEXES:
                    data = value["data"]
                    with_key = data.get("value") if isinstance(data, Mapping) else None
                    self._fetched[f"{value['index']}:{handle}"] = PublicKey.from_jwk(with_key)
            known = self._fetched.get(reference)
        if known is None or known.kid != kid:
            raise SignatureError(f"the node does not publish the key {reference} ({kid}) that signed")
        return known

    def answer(self, requested: str, body: Any, fetch: Fetch) -> Generator[Any, Any, None]:
        """Check a signed Handle REST answer (`cert=true`): signed by a key of the node, about `requested`,
        with its responseCode, covering exactly the values it carries."""
        self._configured()
        token = body.get("signature") if isinstance(body, Mapping) else None
        if token is None:
            raise SignatureError("the answer is not signed", handle=requested)
        jws = Jws.parse(token)
        claims = jws.claims
        if not same_handle(claims.get("sub"), requested):
            raise SignatureError(
                f"the signature is about {claims.get('sub')}, not {requested}", handle=requested
            )
        if claims.get("responseCode") != body.get("responseCode"):
            raise SignatureError("the signature is of another answer", handle=requested)
        issuer = str(claims.get("iss", ""))
        if not self._is_anchor(issuer):
            raise SignatureError(f"the answer is signed by {issuer}, not by the node", handle=requested)
        jws.check((yield from self._anchor_key(issuer, jws.header.get("kid"), fetch)), self._clock())
        values = body.get("values") or []
        if set(check_digests(claims, values)) != {v["index"] for v in values}:
            raise SignatureError("the answer carries values the signature does not cover", handle=requested)

    def record(
        self, handle: str, values: Sequence[Mapping[str, Any]], fetch: Fetch
    ) -> Generator[Any, Any, dict[int, str]]:
        """Check a record's value signatures: every value anyone may read covered by an HS_SIGNATURE that
        verifies, through HS_CERT certificates that lead to a key of the node. Index → issuer."""
        self._configured()
        wanted = public_values(values)
        signed: dict[int, str] = {}
        problems: list[str] = []
        for value in values:
            if value["type"] != "HS_SIGNATURE":
                continue
            data = value["data"]
            try:
                jws = Jws.parse(data if isinstance(data, str) else data.get("value"))
                if not same_handle(jws.claims.get("sub"), handle):
                    raise SignatureError(f"it is about {jws.claims.get('sub')}")
                key = yield from self._issuer_key(jws, handle, fetch)
                jws.check(key, self._clock())
                got = check_digests(jws.claims, wanted)
                signed |= {index: str(jws.claims["iss"]) for index in got}
            except SignatureError as exc:
                problems.append(f"index {value['index']}: {exc.message}")
        unsigned = sorted({v["index"] for v in wanted} - set(signed))
        if unsigned:
            why = "; ".join(problems) or "the record carries no HS_SIGNATURE"
            raise SignatureError(f"the values at index {unsigned} are not signed ({why})", handle=handle)
        return signed

    def _issuer_key(self, jws: Jws, handle: str, fetch: Fetch) -> Generator[Any, Any, PublicKey]:
        issuer, chain = str(jws.claims.get("iss", "")), list(jws.claims.get("chain") or [])
        certs: list[Jws] = []
        while not self._is_anchor(issuer):
            if len(certs) >= MAX_CHAIN:
                raise SignatureError("the certificate chain is too long")
            cert = yield from self._certificate(issuer, chain, fetch)
            if not authorises(cert.claims.get("perms"), handle):
                raise SignatureError(f"the certificate of {issuer} does not cover {handle}")
            certs.append(cert)
            chain = chain[1:] if chain else list(cert.claims.get("chain") or [])
            issuer = str(cert.claims.get("iss", ""))
        key = yield from self._anchor_key(issuer, (certs[-1] if certs else jws).header.get("kid"), fetch)
        for cert in reversed(certs):
            cert.check(key, self._clock())
            key = PublicKey.from_jwk(cert.claims.get("publicKey"))
        return key

    def _certificate(self, issuer: str, chain: list[str], fetch: Fetch) -> Generator[Any, Any, Jws]:
        found: Jws | None = None
        for value in (yield from fetch(handle_of(chain[0] if chain else issuer))) or ():
            if value["type"] != "HS_CERT":
                continue
            data = value["data"]
            try:
                cert = Jws.parse(data if isinstance(data, str) else data.get("value"))
            except SignatureError:
                continue
            later = found is None or int(cert.claims.get("iat", 0)) > int(found.claims.get("iat", 0))
            if cert.claims.get("sub") == issuer and later:
                found = cert
        if found is None:
            raise SignatureError(f"no certificate vouches for the key of {issuer}")
        return found


def authorises(perms: Any, handle: str) -> bool:
    """Whether a certificate's `perms` cover `handle`, as the Handle.Net verifier reads them."""
    prefix, _, suffix = handle.partition("/")
    governed = (suffix if prefix.upper() == "0.NA" else prefix).upper()
    for perm in perms if isinstance(perms, list) else ():
        if not isinstance(perm, Mapping):
            continue
        kind, over = perm.get("perm"), str(perm.get("handle", ""))
        granted = over.partition("/")[2].upper() if over.upper().startswith("0.NA/") else ""
        if kind == "everything":
            return True
        if kind == "thisHandle" and (same_handle(over, handle) or governed == granted):
            return True
        if kind == "handlesUnderThisPrefix" and granted == governed and prefix.upper() != "0.NA":
            return True
        if kind == "derivedPrefixes" and granted and governed.startswith(granted + "."):
            return True
    return False
