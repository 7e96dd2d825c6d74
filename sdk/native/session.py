"""Sessions (opcodes 400–402): a key both ends share, set up by Diffie–Hellman, so that the requests of one
administrator are challenged once and then carry a MAC made with it — as the Handle.Net library does them.

SESSION_SETUP's body is the key exchange mode (2 bytes), the timeout (seconds), the identity the client will
authenticate as (handle, index) and, for Diffie–Hellman, the client's public value in the Handle System's key
encoding (`DH_PUB_KEY`: y, p, g). The answer (certified with the server's key, which is how the client knows
whom it shares the key with) has the mode and the server's half: from 2.4 the algorithm the key is for (4
bytes: 3, AES) and the server's public value. The library counts 4 bytes for the 2-byte mode of both bodies
and sends 2 zero bytes after them; both are written and read here.

The session key is the shared secret's first 32 bytes after its leading zeros (the library's AES key); from
2.7 a message in a session carries HMAC-SHA256 with it over the same bytes a signature covers. A message may
also be encrypted with it (envelope flag EC): the library does so by itself for requests carrying values the
public may not read, and for every request of a session set up as encrypted; an answer is encrypted when its
request asks (operation flag ENC).

Diffie–Hellman is done with Python's integers rather than `cryptography`, which deprecates finite-field DH
and will remove it; the exchange is two modular powers with a fresh private exponent per session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import wire
from .codes import ResponseCode
from .credential import HMAC_SHA256, HS_MAC, Signature, framed_data
from .message import Envelope, Message
from .wire import Reader, WireError

DH_PUB_KEY = "DH_PUB_KEY"
AES = 3  # the library's code for the session key's algorithm
KEY_SIZE = 32
DEFAULT_TIMEOUT = 24 * 3600  # the library's, in seconds
# RFC 3526's 2048-bit MODP group (14), with generator 2: the group this SDK's clients agree keys in.
MODP_2048 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)
# A prime shorter than this gives a key anyone can find; longer ones cost more than they are worth here.
MIN_PRIME_BITS, MAX_PRIME_BITS = 1024, 4096
_BLOCK = 16  # AES's, and the IV's


class KeyExchange(IntEnum):
    NONE = 0
    CIPHER_CLIENT = 1  # the server sends a key encrypted with the client's public key
    CIPHER_SERVER = 2  # the client sends one encrypted with the server's
    CIPHER_HDL = 3  # … with a public key a handle holds
    DH = 4  # Diffie–Hellman: the library's default


def _java(number: int) -> bytes:
    """Java's `BigInteger.toByteArray()` of a positive number (how the library writes y, p and g)."""
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


@dataclass(frozen=True, slots=True)
class DhPublic:
    y: int
    p: int
    g: int

    def encode(self) -> bytes:
        parts = (_java(self.y), _java(self.p), _java(self.g))
        return wire.text(DH_PUB_KEY) + bytes(2) + b"".join(wire.bytes_(part) for part in parts)

    @classmethod
    def decode(cls, data: bytes) -> DhPublic:
        reader = Reader(data)
        kind = reader.text("key type")
        if kind != DH_PUB_KEY:
            raise WireError(f"a key of type {kind[:32]!r}, not {DH_PUB_KEY}")
        reader.u16("key flags")
        y, p, g = (int.from_bytes(reader.bytes_(name), "big") for name in ("y", "p", "g"))
        reader.done("Diffie-Hellman key")
        return cls(y, p, g)

    def check(self) -> None:
        """`WireError` unless this is a value one may agree a key with: a prime of a sound size, a generator
        and a public value inside the group and not one of its trivial elements."""
        if not MIN_PRIME_BITS <= self.p.bit_length() <= MAX_PRIME_BITS or self.p % 2 == 0:
            raise WireError(f"a Diffie-Hellman prime of {MIN_PRIME_BITS} to {MAX_PRIME_BITS} bits is needed")
        if not (1 < self.g < self.p - 1 and 1 < self.y < self.p - 1):
            raise WireError("the Diffie-Hellman generator or public value is outside the group")


@dataclass(frozen=True, slots=True)
class DhPrivate:
    x: int
    public: DhPublic

    @classmethod
    def generate(cls, p: int, g: int) -> DhPrivate:
        x = secrets.randbelow(p - 3) + 2
        return cls(x, DhPublic(pow(g, x, p), p, g))

    def shared_key(self, peer: DhPublic) -> bytes:
        """The session key agreed with `peer` (which must use this key's group)."""
        peer.check()
        if (peer.p, peer.g) != (self.public.p, self.public.g):
            raise WireError("the Diffie-Hellman values are of different groups")
        secret = pow(peer.y, self.x, self.public.p).to_bytes((self.public.p.bit_length() + 7) // 8, "big")
        return session_key(secret)


def session_key(secret: bytes) -> bytes:
    """The library's AES session key of a shared secret: 32 bytes from its first non-zero one (as long as
    32 remain)."""
    start = 0
    while start + KEY_SIZE < len(secret) and secret[start] == 0:
        start += 1
    return secret[start : start + KEY_SIZE]


@dataclass(frozen=True, slots=True)
class SessionSetup:
    """A SESSION_SETUP request's body."""

    mode: int
    timeout: int = DEFAULT_TIMEOUT
    identity: str = ""
    identity_index: int = 0
    public_key: bytes = b""  # CIPHER_CLIENT, DH
    key_handle: str = ""  # CIPHER_HDL
    key_index: int = 0

    def encode(self) -> bytes:
        body = wire.u16(self.mode) + wire.u32(self.timeout) + wire.text(self.identity)
        body += wire.u32(self.identity_index)
        if self.mode in (KeyExchange.CIPHER_CLIENT, KeyExchange.DH):
            body += wire.bytes_(self.public_key)
        elif self.mode == KeyExchange.CIPHER_HDL:
            body += wire.text(self.key_handle) + wire.u32(self.key_index)
        return body + bytes(2)

    @classmethod
    def decode(cls, body: bytes) -> SessionSetup:
        reader = Reader(body)
        mode = reader.u16("key exchange mode")
        timeout = reader.i32("session timeout")
        identity, index = reader.text("identity handle"), reader.i32("identity index")
        public_key, key_handle, key_index = b"", "", 0
        if mode in (KeyExchange.CIPHER_CLIENT, KeyExchange.DH):
            public_key = reader.bytes_("exchange key")
        elif mode == KeyExchange.CIPHER_HDL:
            key_handle, key_index = reader.text("key handle"), reader.i32("key index")
        _padding(reader)
        return cls(mode, timeout, identity, index, public_key, key_handle, key_index)


@dataclass(frozen=True, slots=True)
class SessionSetupAnswer:
    """A SESSION_SETUP answer's body (after the request digest)."""

    mode: int
    data: bytes

    def encode(self) -> bytes:
        return wire.u16(self.mode) + wire.bytes_(self.data) + bytes(2)

    @classmethod
    def decode(cls, reader: Reader) -> SessionSetupAnswer:
        answer = cls(reader.u16("key exchange mode"), reader.bytes_("key exchange data"))
        _padding(reader)
        return answer

    @classmethod
    def dh(cls, public: DhPublic) -> SessionSetupAnswer:
        return cls(KeyExchange.DH, wire.u32(AES) + public.encode())

    def dh_public(self) -> DhPublic:
        reader = Reader(self.data)
        algorithm = reader.u32("session key algorithm")
        if algorithm != AES:
            raise WireError(f"a session key for algorithm {algorithm}: only AES (3) is spoken here")
        return DhPublic.decode(self.data[4:])


def _padding(reader: Reader) -> None:
    """The 2 zero bytes the library writes after a session body (and nothing else)."""
    if reader.remaining > 2 or any(reader.raw(reader.remaining, "padding")):
        raise WireError("unexpected bytes after the session body")


def mac(key: bytes, envelope: Envelope, signed: bytes, counter: int) -> Signature:
    """The HS_MAC credential of a message in a session (protocol 2.7 or later): HMAC-SHA256 keyed by the
    session key over what a signature covers, `signed` being the header and body as sent."""
    data = framed_data(envelope, signed, counter)
    return Signature(HMAC_SHA256, hmac.digest(key, data, hashlib.sha256), counter, HS_MAC)


def mac_verifies(key: bytes, envelope: Envelope, signed: bytes, credential: Signature) -> bool:
    if credential.kind != HS_MAC or credential.hash_alg.replace("-", "").upper() != "HMACSHA256":
        return False
    expected = mac(key, envelope, signed, credential.counter).signature
    return hmac.compare_digest(expected, credential.signature)


@dataclass(slots=True)
class ClientSession:
    """A session as its client keeps it: the id the server gave, the key, the next message counter."""

    id: int
    key: bytes
    counter: int = 1  # the library's first; 0 is a message outside the count

    def sealed(self, request: Message) -> Callable[[Envelope], bytes]:
        """What sends `request` in this session: given the envelope it goes in (its request id is known only
        then), the message with its MAC."""
        counter, self.counter = self.counter, self.counter + 1

        def encode(envelope: Envelope) -> bytes:
            credential = mac(self.key, envelope, request.signed_part(), counter).encode()
            return replace(request, credential=credential).encode()

        return encode


def encrypt(key: bytes, message: bytes) -> bytes:
    """A message (header, body, credential) as a session sends it encrypted (envelope flag EC): a fresh IV,
    then AES-CBC with PKCS#5 padding under the session key's first 16 bytes (the library's AES-128)."""
    iv = secrets.token_bytes(_BLOCK)
    padder = padding.PKCS7(_BLOCK * 8).padder()
    encryptor = Cipher(algorithms.AES(key[:16]), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padder.update(message) + padder.finalize()) + encryptor.finalize()


def decrypt(key: bytes, data: bytes) -> bytes:
    """The message `encrypt` made; `WireError` when it was not made with this key."""
    if len(data) < 2 * _BLOCK or len(data) % _BLOCK:
        raise WireError("an encrypted message is an IV and whole AES blocks", ResponseCode.SESSION_FAILED)
    decryptor = Cipher(algorithms.AES(key[:16]), modes.CBC(data[:_BLOCK])).decryptor()
    unpadder = padding.PKCS7(_BLOCK * 8).unpadder()
    try:
        return unpadder.update(decryptor.update(data[_BLOCK:]) + decryptor.finalize()) + unpadder.finalize()
    except ValueError:
        raise WireError(
            "the message was not encrypted with the session key", ResponseCode.SESSION_FAILED
        ) from None
