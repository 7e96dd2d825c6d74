"""Message credentials: the signature (HS_SIGNED) a server puts on a certified answer, and the MAC (HS_MAC)
that messages inside a session carry, keyed by the session key — as the Handle.Net library makes and checks
them.

What is signed is the message's header and body, after — from protocol 2.6 on — some envelope fields: the
versions (the suggested one too from 2.8), the session id, the request id and a session counter (0 outside
sessions). Protocol 2.6 wrote those fields over one another (the reference library's "painful bug");
`signed_data` reproduces that, since its peers check exactly those bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import wire
from .message import Envelope, Message
from .wire import Reader, WireError

HS_SIGNED = "HS_SIGNED"
HS_MAC = "HS_MAC"
SHA256 = "SHA-256"
HMAC_SHA256 = "HMAC-SHA256"


def signed_data(envelope: Envelope, message: Message, counter: int = 0) -> bytes:
    """The bytes a signature (or a MAC) of `message`, framed by `envelope`, is of."""
    return framed_data(envelope, message.signed_part(), counter)


def framed_data(envelope: Envelope, body: bytes, counter: int = 0) -> bytes:
    """`signed_data` of a message whose header and body, as sent, are `body`."""
    version = (envelope.major, envelope.minor)
    if version < (2, 6):
        return body
    ids = wire.u32(envelope.session_id) + wire.u32(envelope.request_id) + wire.u32(counter)
    if version >= (2, 8):
        head = bytes([envelope.major, envelope.minor, envelope.suggested_major, envelope.suggested_minor])
        return head + ids + body
    if version >= (2, 7):
        return bytes([envelope.major, envelope.minor]) + ids + body
    # 2.6: each field written at offset 2 + 4 = 4 … over the one before, in a buffer of 14 bytes.
    garbled = bytearray(14)
    garbled[0:2] = bytes([envelope.major, envelope.minor])
    garbled[2:6] = wire.u32(envelope.session_id)
    garbled[4:8] = wire.u32(envelope.request_id)
    garbled[4:8] = wire.u32(counter)
    return bytes(garbled) + body


@dataclass(frozen=True, slots=True)
class Signature:
    """A credential: a signature (`kind` HS_SIGNED) or a MAC (HS_MAC), with the session counter it covers."""

    hash_alg: str
    signature: bytes
    counter: int = 0
    kind: str = HS_SIGNED

    def encode(self) -> bytes:
        section = wire.text(self.hash_alg) + wire.bytes_(self.signature)
        # version, reserved, flags (all 0), an unused empty string, the session counter
        head = bytes(4) + wire.text("") + wire.u32(self.counter)
        return head + wire.text(self.kind) + wire.bytes_(section)

    @classmethod
    def decode(cls, credential: bytes) -> Signature:
        reader = Reader(credential)
        reader.raw(4, "credential version and flags")
        reader.bytes_("credential's unused field")
        counter = reader.u32("session counter")
        kind = reader.text("credential type")
        if kind not in (HS_SIGNED, HS_MAC):
            raise WireError(f"a credential of type {kind[:32]!r}, not {HS_SIGNED} or {HS_MAC}")
        section = Reader(reader.bytes_("signature section"))
        signature = cls(section.text("hash algorithm"), section.bytes_("signature"), counter, kind)
        section.done("signature section")
        reader.done("credential")
        return signature


def signed_by(key: bytes, envelope: Envelope, message: Message) -> bool:
    """True when `message`, framed by `envelope`, carries an HS_SIGNED SHA-256 signature of the RSA key whose
    Handle System encoding is `key` (a site's server key: how the node signs)."""
    try:
        signature = Signature.decode(message.credential)
        public = _rsa_key(key)
    except WireError:
        return False
    if signature.kind != HS_SIGNED or signature.hash_alg.replace("-", "").upper() != "SHA256":
        return False
    data = signed_data(envelope, message, signature.counter)
    try:
        public.verify(signature.signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _rsa_key(key: bytes) -> rsa.RSAPublicKey:
    reader = Reader(key)
    kind = reader.text("key type")
    if kind != "RSA_PUB_KEY":
        raise WireError(f"a key of type {kind[:32]!r}: only RSA signatures are checked here")
    reader.u16("key flags")
    e, n = (int.from_bytes(reader.bytes_(name), "big") for name in ("exponent", "modulus"))
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise WireError(f"not an RSA key: {exc}") from None
