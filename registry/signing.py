"""Signing keys and JSON Web Signatures, as the Handle System's signed values carry them.

A key pair signs with RS256 (RSA 2048, PKCS#1 v1.5 with SHA-256: what the Handle.Net software makes) or SM2
with SM3 (GB/T 32918, the user ID in Z_A being GB/T 35276's default `1234567812345678`; JWS `alg` "SM2",
the signature the 64 bytes r‖s as JWS writes EC signatures). A public key's portable form is its JWK, the
`key` format of HS_PUBKEY values in Handle REST: `{"kty":"RSA","n","e"}`, or
`{"kty":"EC","crv":"SM2","x","y"}` for SM2, with `alg` and `kid` (the RFC 7638 thumbprint) beside them.
Signatures are compact JWS (`header.payload.signature`), verifiable by any JOSE library for RS256.

SM2 is done by GmSSL (the `gmssl-pyx` binding): of the maintained Python SM2 libraries it is the one built
on GmSSL's C code, reproduces the GB/T 32918 test vector, agrees with OpenSSL 3 and is fast enough
(registry/README compares them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import gmssl_pyx
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import SignatureInvalid

RS256: Final = "RS256"
SM2: Final = "SM2"
ALGORITHMS: Final = (RS256, SM2)
SM2_SIGNER_ID: Final = b"1234567812345678"
RSA_BITS: Final = 2048


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError, TypeError):
        raise SignatureInvalid("not base64url") from None


def _unsigned(number: int) -> bytes:
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def _thumbprint(members: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without spaces."""
    return b64url(hashlib.sha256(orjson.dumps(dict(sorted(members.items())))).digest())


# -- SM2 through GmSSL: raw r‖s outside, DER inside --------------------------------------------------------


def _der_integer(number: int) -> bytes:
    raw = number.to_bytes(number.bit_length() // 8 + 1, "big")
    return b"\x02" + bytes([len(raw)]) + raw


def _sm2_der(signature: bytes) -> bytes:
    if len(signature) != 64:
        raise SignatureInvalid("an SM2 signature is 64 bytes, r‖s")
    body = _der_integer(int.from_bytes(signature[:32], "big")) + _der_integer(
        int.from_bytes(signature[32:], "big")
    )
    return b"\x30" + bytes([len(body)]) + body


def _sm2_raw(der: bytes) -> bytes:
    out, pos = b"", 2
    for _ in range(2):
        length = der[pos + 1]
        out += int.from_bytes(der[pos + 2 : pos + 2 + length], "big").to_bytes(32, "big")
        pos += 2 + length
    return out


# -- keys ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key that checks signatures: its algorithm, its JWK members and its `kid`."""

    alg: str
    members: dict[str, str]  # the JWK's required members (kty, n, e / kty, crv, x, y)
    kid: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kid", _thumbprint(self.members))

    @property
    def jwk(self) -> dict[str, str]:
        """The JWK an HS_PUBKEY value holds (`key` format)."""
        return {**self.members, "alg": self.alg, "kid": self.kid}

    def verifies(self, message: bytes, signature: bytes) -> bool:
        if self.alg == SM2:
            point = unb64url(self.members["x"]) + unb64url(self.members["y"])
            try:
                return bool(
                    gmssl_pyx.sm2_verify(point, message, _sm2_der(signature), signer_id=SM2_SIGNER_ID)
                )
            except gmssl_pyx.GmsslInnerError:
                return False
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(unb64url(self.members["e"]), "big"),
            int.from_bytes(unb64url(self.members["n"]), "big"),
        )
        try:
            numbers.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    @property
    def rsa_numbers(self) -> tuple[int, int] | None:
        """(e, n) of an RSA key, for the Handle System's binary key encoding; None for SM2."""
        if self.alg != RS256:
            return None
        return int.from_bytes(unb64url(self.members["e"]), "big"), int.from_bytes(
            unb64url(self.members["n"]), "big"
        )


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """The key a JWK describes (an RSA key checks RS256; an EC key on curve SM2 checks SM2)."""
    if not isinstance(jwk, Mapping):
        raise SignatureInvalid("a public key is a JWK object")
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            members = {"e": str(jwk["e"]), "kty": "RSA", "n": str(jwk["n"])}
            if int.from_bytes(unb64url(members["n"]), "big").bit_length() < RSA_BITS:
                raise SignatureInvalid(f"RSA keys of fewer than {RSA_BITS} bits are not accepted")
            return PublicKey(RS256, members)
        if kty == "EC" and jwk.get("crv") == SM2:
            members = {"crv": SM2, "kty": "EC", "x": str(jwk["x"]), "y": str(jwk["y"])}
            if len(unb64url(members["x"])) != 32 or len(unb64url(members["y"])) != 32:
                raise SignatureInvalid("an SM2 key's x and y are 32 bytes each")
            return PublicKey(SM2, members)
    except KeyError as exc:
        raise SignatureInvalid(f"the JWK lacks {exc.args[0]!r}") from None
    raise SignatureInvalid(f"keys of type {kty!r} cannot check signatures here (RSA or EC on SM2)")


def public_key_from_file(raw: bytes) -> PublicKey:
    """The public key in a file: a JWK (JSON; of a private JWK only its public members count), or an RSA
    key in PEM (a public key, or the private key it belongs to)."""
    if raw.lstrip().startswith(b"{"):
        try:
            return public_key_from_jwk(orjson.loads(raw))
        except orjson.JSONDecodeError:
            raise SignatureInvalid("the key file is not valid JSON") from None
    try:
        key: Any = serialization.load_pem_public_key(raw)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(raw, password=None).public_key()
        except (ValueError, TypeError):
            raise SignatureInvalid("the key file holds neither a JWK nor an RSA key in PEM") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureInvalid("a PEM key must be an RSA key (give SM2 keys as JWK)")
    return _rsa_public(key)


def _rsa_public(key: rsa.RSAPublicKey) -> PublicKey:
    numbers = key.public_numbers()
    return PublicKey(
        RS256, {"e": b64url(_unsigned(numbers.e)), "kty": "RSA", "n": b64url(_unsigned(numbers.n))}
    )


def _sm2_public(point: bytes) -> PublicKey:
    return PublicKey(SM2, {"crv": SM2, "kty": "EC", "x": b64url(point[:32]), "y": b64url(point[32:])})


class KeyPair:
    """A private key and its public key. `private_bytes` is what is kept (sealed): PKCS#8 DER for RSA, the
    32-byte private scalar followed by the 64-byte public point for SM2."""

    __slots__ = ("_rsa", "_sm2", "public")

    def __init__(
        self, public: PublicKey, *, rsa_key: rsa.RSAPrivateKey | None = None, sm2: bytes = b""
    ) -> None:
        self.public = public
        self._rsa = rsa_key
        self._sm2 = sm2

    @property
    def alg(self) -> str:
        return self.public.alg

    @property
    def kid(self) -> str:
        return self.public.kid

    @classmethod
    def generate(cls, alg: str = RS256) -> KeyPair:
        if alg == SM2:
            point, private = gmssl_pyx.sm2_key_generate()
            return cls(_sm2_public(point), sm2=private + point)
        if alg != RS256:
            raise ValueError(f"signing algorithm {alg!r} is one of {', '.join(ALGORITHMS)}")
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        return cls(_rsa_public(key.public_key()), rsa_key=key)

    @classmethod
    def from_private_bytes(cls, alg: str, raw: bytes) -> KeyPair:
        if alg == SM2:
            if len(raw) != 96:
                raise ValueError("an SM2 private key is kept as 96 bytes")
            return cls(_sm2_public(raw[32:]), sm2=raw)
        key = serialization.load_der_private_key(raw, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("an RS256 key is an RSA key")
        return cls(_rsa_public(key.public_key()), rsa_key=key)

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | None = None) -> KeyPair:
        """An RSA private key from a PEM file (PKCS#1 or PKCS#8), as an enterprise keeps its signing key."""
        key = serialization.load_pem_private_key(pem, password=password)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the PEM file holds no RSA private key (SM2 keys are given as JWK)")
        return cls(_rsa_public(key.public_key()), rsa_key=key)

    def private_bytes(self) -> bytes:
        if self._rsa is None:
            return self._sm2
        return self._rsa.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, message: bytes) -> bytes:
        if self._rsa is not None:
            return self._rsa.sign(message, padding.PKCS1v15(), hashes.SHA256())
        der = gmssl_pyx.sm2_sign(self._sm2[:32], self._sm2[32:], message, signer_id=SM2_SIGNER_ID)
        return _sm2_raw(der)


# -- compact JWS ---------------------------------------------------------------------------------------------


def jws_sign(payload: bytes, key: KeyPair) -> str:
    """`header.payload.signature` over `payload`, the header naming the algorithm and the key."""
    header = b64url(orjson.dumps({"alg": key.alg, "kid": key.kid}))
    signing_input = f"{header}.{b64url(payload)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


@dataclass(frozen=True, slots=True)
class Jws:
    """A compact JWS taken apart (not yet checked)."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    @classmethod
    def parse(cls, token: Any) -> Jws:
        if not isinstance(token, str) or token.count(".") != 2:
            raise SignatureInvalid("a signature is a compact JWS, header.payload.signature")
        head, body, sig = token.split(".")
        try:
            header = orjson.loads(unb64url(head))
        except orjson.JSONDecodeError:
            raise SignatureInvalid("the JWS header is not JSON") from None
        if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS:
            raise SignatureInvalid(f"the JWS algorithm is not one of {', '.join(ALGORITHMS)}")
        return cls(header, unb64url(body), f"{head}.{body}".encode(), unb64url(sig))

    def claims(self) -> dict[str, Any]:
        try:
            claims = orjson.loads(self.payload)
        except orjson.JSONDecodeError:
            raise SignatureInvalid("the JWS payload is not JSON") from None
        if not isinstance(claims, dict):
            raise SignatureInvalid("the JWS payload is not a claims set")
        return claims

    def check(self, key: PublicKey) -> None:
        """Raise unless `key` made this signature."""
        if self.header["alg"] != key.alg or not key.verifies(self.signing_input, self.signature):
            raise SignatureInvalid("the signature does not verify with the issuer's key")
