"""Message credentials: the signature (HS_SIGNED) a server puts on a certified answer, as the Handle.Net
library makes and checks it.

What is signed is the message's header and body, after — from protocol 2.6 on — some envelope fields: the
versions (the suggested one too from 2.8), the session id, the request id and a session counter (0 outside
sessions). Protocol 2.6 wrote those fields over one another (the reference library's "painful bug");
`signed_data` reproduces that, since its peers check exactly those bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import wire
from .message import Envelope, Message
from .wire import Reader, WireError

HS_SIGNED = "HS_SIGNED"
SHA256 = "SHA-256"


def signed_data(envelope: Envelope, message: Message, counter: int = 0) -> bytes:
    """The bytes a signature of `message`, framed by `envelope`, is of."""
    version = (envelope.major, envelope.minor)
    body = message.signed_part()
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
    hash_alg: str
    signature: bytes
    counter: int = 0

    def encode(self) -> bytes:
        section = wire.text(self.hash_alg) + wire.bytes_(self.signature)
        # version, reserved, flags (all 0), an unused empty string, the session counter
        head = bytes(4) + wire.text("") + wire.u32(self.counter)
        return head + wire.text(HS_SIGNED) + wire.bytes_(section)

    @classmethod
    def decode(cls, credential: bytes) -> Signature:
        reader = Reader(credential)
        reader.raw(4, "credential version and flags")
        reader.bytes_("credential's unused field")
        counter = reader.u32("session counter")
        kind = reader.text("credential type")
        if kind != HS_SIGNED:
            raise WireError(f"a credential of type {kind!r}, not {HS_SIGNED}")
        section = Reader(reader.bytes_("signature section"))
        signature = cls(section.text("hash algorithm"), section.bytes_("signature"), counter)
        section.done("signature section")
        reader.done("credential")
        return signature
