"""The native hot path: an unfiltered, unsigned RESOLUTION of a handle the in-process cache holds, answered
from the request's bytes with one `struct` unpack and one pack — no envelope, message or body objects.

Measured on the node (hdlload, UDP, one worker), the general path (`Responder.respond`: decoded envelope,
message and body, dataclasses, flag enums) costs about 4 times what this lane does; everything it does not
take — any other opcode, filters, a credential, a split or compressed message, a cache miss — goes there.
"""

from __future__ import annotations

import itertools
import struct
import time
from collections.abc import Callable

from registry import Handle, InvalidHandle
from sdk.native.codes import MAJOR, MINOR, OpFlag
from sdk.native.message import digest, negotiated

from ...query import Query
from ..context import Context
from .render import NATIVE_VALUES
from .request import EXPIRY

# Envelope (20 bytes) and header (24) of a request, read at once.
_HEAD = struct.Struct(">BBBBIIIIIIIHBBII")
_HEAD_SIZE = _HEAD.size
_ENVELOPE = struct.Struct(">BBBBIIII")
_ANSWER_HEADER = struct.Struct(">IIIHBBII")
_U32 = struct.Struct(">I")
_EMPTY_LISTS = bytes(8)  # no indexes, no types
_NO_CREDENTIAL = bytes(4)
_ECHOED = int(OpFlag.RD | OpFlag.KA | OpFlag.PO)
_RD, _AT, _CT, _PO = int(OpFlag.RD), int(OpFlag.AT), int(OpFlag.CT), int(OpFlag.PO)
_REC = int(OpFlag.REC)
_SUGGESTED = (MAJOR & 0x03, MINOR)
# Above the hot set of a chain's lines (the benchmark's Zipf sample names 27,000 handles); when full, the
# older half goes, so a hot set a little larger than this does not thrash it.
_QUERIES_MAX = 65_536


class HotLane:
    """`answer(data)`: the framed answer to the framed request `data`, or None for the general path."""

    def __init__(self, context: Callable[[], Context]) -> None:
        self._context = context
        # Queries of handles asked for lately, by the handle's bytes: a parse costs more than a cache hit.
        self._queries: dict[bytes, Query] = {}

    def answer(self, data: bytes, source: str = "") -> bytes | None:
        if len(data) < _HEAD_SIZE + 16:
            return None
        (major, minor, flag, suggested_minor, session, request_id, _, length,
         opcode, code, flags, _, _, _, _, body_length) = _HEAD.unpack_from(data)  # fmt: skip
        if opcode != 1 or code or flags & _CT or flag & 0xE0 or length != len(data) - 20 or major < 2:
            return None
        handle_length = _U32.unpack_from(data, _HEAD_SIZE)[0]
        tail = _HEAD_SIZE + 4 + handle_length
        if body_length != handle_length + 12 or len(data) != tail + 12:
            return None
        if data[tail : tail + 8] != _EMPTY_LISTS or data[tail + 8 :] != _NO_CREDENTIAL:
            return None
        handle = data[_HEAD_SIZE + 4 : tail]
        query = self._query(handle)
        if query is None:
            return None
        context = self._context()
        answer = context.pipeline.ready(query)
        if answer is None or not (answer.public or flags & _PO):  # values only some may read: see reading.py
            return None
        if answer.remote and not flags & _REC:  # another node's, and no recursion asked for: a referral
            return None
        context.stats.seen(query.handle.prefix, source, True, 0.0)  # answered from memory at once
        if flag & 0x03:  # the version the sender suggests, else its own
            major, minor = flag & 0x03, suggested_minor
        version = negotiated(major, minor)
        body = digest(data[20 : tail + 8], version) if flags & _RD else b""
        values = answer.rendered(NATIVE_VALUES)
        body += _U32.pack(handle_length) + handle + values
        header = _ANSWER_HEADER.pack(
            1, 1, (flags & _ECHOED) | _AT, 0, 0, 0, (int(time.time()) + EXPIRY) & 0xFFFFFFFF, len(body)
        )
        message_length = 24 + len(body) + 4
        envelope = _ENVELOPE.pack(
            version[0], version[1], _SUGGESTED[0], _SUGGESTED[1], session, request_id, 0, message_length
        )
        return envelope + header + body + _NO_CREDENTIAL

    def _query(self, handle: bytes) -> Query | None:
        query = self._queries.get(handle)
        if query is None:
            try:
                parsed = Handle.parse(handle.decode())
            except (UnicodeDecodeError, InvalidHandle):
                return None  # the general path answers it, in the protocol's terms
            if len(self._queries) >= _QUERIES_MAX:
                for old in list(itertools.islice(self._queries, _QUERIES_MAX // 2)):
                    del self._queries[old]
            query = self._queries[handle] = Query(parsed, self._context().naming)
        return query
