"""Challenge–response, as the Handle.Net library does it: a server answers a request that needs an
administrator with 402 (authentication needed), a nonce and the request's digest; the client answers that
(opcode 200) naming who it is (`300:0.NA/88.118.8`) and proving it over nonce‖digest — with the secret of an
HS_SECKEY value (a MAC) or the private key of an HS_PUBKEY value (a signature).

Secret-key answers by protocol version: 2.7 and later PBKDF2-HMAC-SHA1 (the client chooses salt and
iterations, 10,000 in the reference library, and says them), 2.1–2.6 SHA-1 of secret‖data‖secret. HMAC-SHA1
and HMAC-SHA256 answers are accepted too.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from . import wire
from .wire import Reader, WireError

HS_SECKEY = "HS_SECKEY"
HS_PUBKEY = "HS_PUBKEY"
NONCE_SIZE = 16

MD5, SHA1, SHA256 = 0x01, 0x02, 0x03
HMAC_SHA1, HMAC_SHA256, PBKDF2_HMAC_SHA1 = 0x12, 0x13, 0x22
DEFAULT_ITERATIONS = 10_000
# A client chooses the iterations: more than this would let one answer cost the server seconds.
MAX_ITERATIONS = 200_000
KEY_BITS = 160


@dataclass(frozen=True, slots=True)
class Challenge:
    """A 402 answer's body (after the request digest, which every challenge carries): the nonce."""

    nonce: bytes

    def encode(self) -> bytes:
        return wire.bytes_(self.nonce)

    @classmethod
    def decode(cls, reader: Reader) -> Challenge:
        challenge = cls(reader.bytes_("nonce"))
        reader.done("challenge")
        return challenge


@dataclass(frozen=True, slots=True)
class ChallengeAnswer:
    """The body of a CHALLENGE_RESPONSE (opcode 200): the kind of key, whose it is, and the proof."""

    kind: str  # HS_SECKEY or HS_PUBKEY
    handle: str
    index: int
    response: bytes

    def encode(self) -> bytes:
        return (
            wire.text(self.kind) + wire.text(self.handle) + wire.i32(self.index) + wire.bytes_(self.response)
        )

    @classmethod
    def decode(cls, body: bytes) -> ChallengeAnswer:
        reader = Reader(body)
        answer = cls(reader.text("key type"), reader.text("identity handle"), reader.i32("identity index"),
                     reader.bytes_("challenge answer"))  # fmt: skip
        reader.done("challenge answer")
        return answer


def signed_by_answer(nonce: bytes, request_digest: bytes) -> bytes:
    """What a challenge answer proves knowledge over: the nonce, then the request's digest (without the
    digest's type byte)."""
    return nonce + request_digest


# -- secret keys -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pbkdf2:
    salt: bytes
    iterations: int
    key_bits: int
    mac: bytes

    def encode(self) -> bytes:
        return (
            wire.bytes_(self.salt)
            + wire.i32(self.iterations)
            + wire.i32(self.key_bits)
            + wire.bytes_(self.mac)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Pbkdf2:
        found = cls(
            reader.bytes_("salt"), reader.i32("iterations"), reader.i32("key length"), reader.bytes_("mac")
        )
        reader.done("PBKDF2 answer")
        return found


def _password(secret: bytes) -> bytes:
    # The reference library turns each byte into a char and lets the JCE encode the chars as UTF-8.
    return secret.decode("latin-1").encode()


def secret_mac(kind: int, data: bytes, secret: bytes, params: Pbkdf2 | None = None) -> bytes:
    """The MAC of `data` keyed by `secret` in the scheme `kind` (for PBKDF2, with `params`' salt, iterations
    and length; the result then is `params` with the MAC in it, encoded)."""
    if kind == PBKDF2_HMAC_SHA1:
        if params is None:
            raise WireError("a PBKDF2 answer needs its salt and iterations")
        if (
            not 0 < params.iterations <= MAX_ITERATIONS
            or not 0 < params.key_bits <= 1024
            or params.key_bits % 8
        ):
            raise WireError(f"PBKDF2 parameters out of bounds ({params.iterations}, {params.key_bits})")
        key = hashlib.pbkdf2_hmac(
            "sha1", _password(secret), params.salt, params.iterations, params.key_bits // 8
        )
        mac = hmac.new(key, data, "sha1").digest()
        return Pbkdf2(params.salt, params.iterations, params.key_bits, mac).encode()
    if kind == HMAC_SHA256:
        return hmac.new(secret, data, "sha256").digest()
    if kind == HMAC_SHA1:
        return hmac.new(secret, data, "sha1").digest()
    if kind in (SHA256, SHA1, MD5):
        name = {SHA256: "sha256", SHA1: "sha1", MD5: "md5"}[kind]
        return hashlib.new(name, secret + data + secret).digest()
    raise WireError(f"unknown secret-key answer type {kind}")


def secret_answer(data: bytes, secret: bytes, version: tuple[int, int], salt: bytes) -> bytes:
    """A client's proof of `secret` over `data` for a challenge in `version` (`salt`: PBKDF2's, 16 random
    bytes)."""
    if version >= (2, 7):
        params = Pbkdf2(salt, DEFAULT_ITERATIONS, KEY_BITS, b"")
        return bytes([PBKDF2_HMAC_SHA1]) + secret_mac(PBKDF2_HMAC_SHA1, data, secret, params)
    return bytes([SHA1]) + secret_mac(SHA1, data, secret)


def secret_verifies(response: bytes, data: bytes, secret: bytes) -> bool:
    """Whether `response` (a challenge answer's proof) proves `secret` over `data`."""
    if not response:
        return False
    kind, rest = response[0], response[1:]
    params = Pbkdf2.decode(Reader(rest)) if kind == PBKDF2_HMAC_SHA1 else None
    expected = secret_mac(kind, data, secret, params)
    return hmac.compare_digest(expected, rest)


# -- public keys -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyAnswer:
    """A public-key proof: the hash algorithm's name (`SHA-256`, `SHA-1`) and the signature."""

    hash_alg: str
    signature: bytes

    def encode(self) -> bytes:
        return wire.text(self.hash_alg) + wire.bytes_(self.signature)

    @classmethod
    def decode(cls, response: bytes) -> KeyAnswer:
        reader = Reader(response)
        answer = cls(reader.text("hash algorithm"), reader.bytes_("signature"))
        reader.done("public-key answer")
        return answer
