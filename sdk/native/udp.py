"""Messages over UDP: one datagram carries at most 492 bytes of a message, so a longer one is sent as several,
each with the whole message's length in its envelope and its place in `sequence`, counting from 0.

Every datagram of a split message is flagged TC (truncated): a client that reassembles them (the CNRI library
does) ignores the flag; one that cannot sees a truncated answer and asks again over TCP, as the protocol says.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import replace

from .codes import ENVELOPE_SIZE, UDP_PAYLOAD, EnvelopeFlag
from .message import Envelope
from .wire import WireError


def datagrams(envelope: Envelope, message: bytes) -> list[bytes]:
    """`message` as the datagrams that carry it."""
    if len(message) <= UDP_PAYLOAD:
        return [replace(envelope, length=len(message), sequence=0).encode() + message]
    split = replace(envelope, length=len(message), flags=envelope.flags | EnvelopeFlag.TC)
    return [
        replace(split, sequence=n).encode() + message[at : at + UDP_PAYLOAD]
        for n, at in enumerate(range(0, len(message), UDP_PAYLOAD))
    ]


class Reassembly:
    """The parts of split messages as they arrive, keyed by sender and request id; bounded in how many
    messages it holds at once and how long it waits for the rest of one, so that parts never completed cost
    nothing lasting."""

    def __init__(self, *, max_pending: int = 256, timeout: float = 5.0) -> None:
        self._pending: OrderedDict[tuple[object, int], _Parts] = OrderedDict()
        self._max_pending = max_pending
        self._timeout = timeout

    def add(self, sender: object, envelope: Envelope, payload: bytes) -> bytes | None:
        """The whole message once its last part arrives; None until then. A part that does not fit the
        message it belongs to raises `WireError`."""
        parts_needed = -(-envelope.length // UDP_PAYLOAD)
        if envelope.length <= UDP_PAYLOAD and envelope.sequence == 0:
            return _whole(envelope, payload)
        key = (sender, envelope.request_id)
        now = time.monotonic()
        self._expire(now)
        parts = self._pending.get(key)
        if parts is None:
            if len(self._pending) >= self._max_pending:
                self._pending.popitem(last=False)
            parts = self._pending[key] = _Parts(envelope.length, parts_needed, now + self._timeout)
        message = parts.add(envelope, payload)
        if message is not None:
            del self._pending[key]
        return message

    def _expire(self, now: float) -> None:
        while self._pending:
            key, parts = next(iter(self._pending.items()))
            if parts.deadline > now:
                return
            del self._pending[key]


class _Parts:
    __slots__ = ("chunks", "deadline", "length", "needed")

    def __init__(self, length: int, needed: int, deadline: float) -> None:
        self.length = length
        self.needed = needed
        self.deadline = deadline
        self.chunks: dict[int, bytes] = {}

    def add(self, envelope: Envelope, payload: bytes) -> bytes | None:
        if envelope.length != self.length or envelope.sequence >= self.needed:
            raise WireError("a datagram that does not belong to the message it names")
        last = envelope.sequence == self.needed - 1
        expected = self.length - UDP_PAYLOAD * (self.needed - 1) if last else UDP_PAYLOAD
        if len(payload) != expected:
            raise WireError(f"datagram {envelope.sequence} holds {len(payload)} bytes, not {expected}")
        self.chunks[envelope.sequence] = payload
        if len(self.chunks) < self.needed:
            return None
        return b"".join(self.chunks[n] for n in range(self.needed))


def _whole(envelope: Envelope, payload: bytes) -> bytes:
    if len(payload) != envelope.length:
        raise WireError(f"the envelope says {envelope.length} bytes of message, {len(payload)} there")
    return payload


def split_datagram(datagram: bytes) -> tuple[Envelope, bytes]:
    return Envelope.decode(datagram), datagram[ENVELOPE_SIZE:]
