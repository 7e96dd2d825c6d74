"""Asking a Handle server over the native protocol's TCP, as a node passes a resolution on: public values
only, the recursion count carried, one request at a time on a connection, the connections kept open for
the next (up to `keep`: as many as the node asks at once, or each wave of queries would open them anew).
The codec is `sdk.native`'s, as the node's own front end uses it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from sdk.native import bodies
from sdk.native.codes import ENVELOPE_SIZE, EnvelopeFlag, OpCode, OpFlag, ResponseCode
from sdk.native.message import Envelope, Message, frame
from sdk.native.values import to_json
from sdk.native.wire import WireError

# The answers whose body is a handle and its values: a resolution, and the referrals to another service.
WITH_VALUES = (ResponseCode.SUCCESS, ResponseCode.SERVICE_REFERRAL, ResponseCode.PREFIX_REFERRAL)
EXPIRY = 600  # seconds a request is valid for, as the SDK's client sends it
# What a failed exchange raises: the server is down, slow, or speaks something else.
FAILURES = (OSError, EOFError, TimeoutError, WireError)

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class NativeAsker:
    """One Handle server's TCP interface."""

    def __init__(self, host: str, port: int, *, timeout: float, keep: int = 64) -> None:
        self._host, self._port = host, port
        self._timeout = timeout
        self._keep = keep
        self._idle: list[Connection] = []

    async def relay(self, handle: str, *, recursion: int) -> tuple[int, list[dict[str, Any]]]:
        """The response code, and the values in their JSON form for a success or a referral (the HS_SITE
        values of where to ask); none otherwise. Raises one of `FAILURES`."""
        body = bodies.ResolutionRequest(handle, (), ()).encode()
        request = Message(
            OpCode.RESOLUTION, flags=OpFlag.PO | OpFlag.REC, body=body, recursion=min(recursion, 255),
            expiration=int(time.time()) + EXPIRY,
        )  # fmt: skip
        answer = await asyncio.wait_for(self._exchange(request.encode()), self._timeout)
        if answer.response_code not in WITH_VALUES:
            return answer.response_code, []
        return answer.response_code, [to_json(value) for value in bodies.read_resolution(answer).values]

    async def _exchange(self, request: bytes) -> Message:
        reader, writer = (
            self._idle.pop() if self._idle else await asyncio.open_connection(self._host, self._port)
        )
        try:
            writer.write(frame(Envelope(), request))
            await writer.drain()
            envelope = Envelope.decode(await reader.readexactly(ENVELOPE_SIZE))
            message = await reader.readexactly(envelope.length)
            if envelope.flags & (EnvelopeFlag.CP | EnvelopeFlag.EC):
                raise WireError("a compressed or encrypted answer to a request that asked for neither")
            answer = Message.decode(message)
        except BaseException:
            writer.close()  # what is left on it (if anything) would be read as the next answer
            raise
        if len(self._idle) < self._keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return answer

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
            with contextlib.suppress(*FAILURES):
                await writer.wait_closed()
        self._idle.clear()
