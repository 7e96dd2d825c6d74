"""The native protocol's UDP and TCP listeners, one pair in every node process (SO_REUSEPORT: the kernel
spreads datagrams and connections over the processes, as it does HTTP connections over granian's workers).

UDP: an answer ready at once (`Responder.respond`) is sent from the receive callback itself; one that needs
the database is sent by a task. Split requests are reassembled (bounded); a datagram that is not even an
envelope is dropped, the only thing that is.

TCP: connections stay open until the client closes them or stays silent for `idle_timeout` seconds (the
CAICT ID-SDK sends every request on one connection and breaks if the server closes it). Several requests may
be in flight on one connection; answers go back in the order the requests came. A length over the protocol's
limit cannot be read past, so it is answered (protocol error) and the connection closed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeAlias, cast

from sdk.native.codes import ENVELOPE_SIZE, UDP_DATAGRAM
from sdk.native.message import Envelope, unframe
from sdk.native.udp import Reassembly, datagrams
from sdk.native.wire import WireError

from .handler import Responder
from .lane import HotLane
from .logins import Connection
from .request import refusal

log = logging.getLogger("idnode.native")

# Requests in flight on one TCP connection before the server stops reading from it.
MAX_IN_FLIGHT = 64


class UdpServer(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder, lane: HotLane) -> None:
        self._responder = responder
        self._lane = lane
        self._transport: asyncio.DatagramTransport | None = None
        self._reassembly = Reassembly()
        self._tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # uvloop's does not subclass it
        # A burst of datagrams waits here while the process answers; the default buffer drops them.
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        framed = self._lane.answer(data, str(addr[0]))
        if framed is not None:
            self._send(framed, addr)
            return
        try:
            envelope = Envelope.decode(data)
            raw = self._reassembly.add(addr, envelope, data[ENVELOPE_SIZE:])
        except WireError as exc:
            if len(data) >= ENVELOPE_SIZE:  # else there is no request id to answer
                self._send(refusal(data[:ENVELOPE_SIZE], exc), addr)
            return
        if raw is None:
            return  # more parts to come
        reply = self._responder.respond(envelope, raw, str(addr[0]))
        if isinstance(reply, bytes):
            self._send(reply, addr)
        elif reply is not None:
            task = asyncio.ensure_future(self._later(reply, addr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _later(self, reply: Awaitable[bytes], addr: Any) -> None:
        self._send(await reply, addr)

    def _send(self, framed: bytes, addr: Any) -> None:
        """A framed answer, in one datagram or split as the protocol says."""
        assert self._transport is not None
        if len(framed) <= UDP_DATAGRAM:
            self._transport.sendto(framed, addr)
            return
        for datagram in datagrams(*unframe(framed)):
            self._transport.sendto(datagram, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)  # an ICMP "port unreachable" from a client that went: nothing to do

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


Pending: TypeAlias = "asyncio.Future[bytes] | bytes | None"


class TcpConnection(asyncio.Protocol):
    def __init__(self, responder: Responder, lane: HotLane, idle_timeout: float) -> None:
        self._responder = responder
        self._lane = lane
        self._idle_timeout = idle_timeout
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        # The framed answers, or the tasks making them, in the order their requests came.
        self._queue: collections.deque[Pending] = collections.deque()
        self._idle: asyncio.TimerHandle | None = None
        self._paused = False
        self._closing = False
        self._peer = ""
        self._connection = Connection()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else ""
        self._arm()

    def _arm(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self._idle_timeout, self._expire)

    def _expire(self) -> None:
        if self._transport is not None and not self._queue:
            self._transport.close()
        else:
            self._arm()  # still answering: idle only once the answers are out

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        for reply in self._queue:
            if isinstance(reply, asyncio.Future):
                reply.cancel()
        self._queue.clear()
        self._transport = None

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        self._buffer += data
        self._arm()
        while len(self._buffer) >= ENVELOPE_SIZE and not self._closing:
            if not self._take_one():
                break
        self._flush()

    def _take_one(self) -> bool:
        """Take the first message from the buffer if it is all there; False when more bytes are needed."""
        head = bytes(self._buffer[:ENVELOPE_SIZE])
        try:
            envelope = Envelope.decode(head)
        except WireError as exc:
            self._refuse(head, exc)
            return False
        end = ENVELOPE_SIZE + envelope.length
        if len(self._buffer) < end:
            return False
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        reply: Pending = self._lane.answer(data, self._peer)
        if reply is None:
            answering = self._responder.respond(envelope, data[ENVELOPE_SIZE:], self._peer, self._connection)
            if answering is not None and not isinstance(answering, bytes):
                reply = asyncio.ensure_future(answering)
                reply.add_done_callback(lambda _: self._flush())
            else:
                reply = answering
        self._queue.append(reply)
        if len(self._queue) >= MAX_IN_FLIGHT and self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()
        return True

    def _refuse(self, head: bytes, exc: WireError) -> None:
        """A length that cannot be read past: answer it, then close once the earlier answers are out."""
        self._closing = True
        self._buffer.clear()
        self._queue.append(refusal(head, exc))

    def _flush(self) -> None:
        """Write the answers that are ready, in the order their requests came."""
        transport = self._transport
        if transport is None:
            return
        while self._queue:
            reply = self._queue[0]
            if isinstance(reply, asyncio.Future):
                if not reply.done():
                    break
                framed = None if reply.cancelled() or reply.exception() is not None else reply.result()
            else:
                framed = reply
            self._queue.popleft()
            if framed:
                transport.write(framed)
        if self._paused and len(self._queue) < MAX_IN_FLIGHT // 2:
            self._paused = False
            transport.resume_reading()
        if self._closing and not self._queue:
            transport.close()


@contextlib.asynccontextmanager
async def listening(
    responder: Responder, lane: HotLane, host: str, port: int, *, idle_timeout: float
) -> AsyncIterator[int]:
    """Serve UDP and TCP on `host:port` until the block ends; the port bound (port 0: one chosen by the
    system, the same for both)."""
    # The loop binds the sockets itself: uvloop answered datagrams on a socket it made about twice as fast
    # as on one handed to it (hdlload against a bare answering server, same run).
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: TcpConnection(responder, lane, idle_timeout), host, port, reuse_port=True, backlog=1024
    )
    bound = int(server.sockets[0].getsockname()[1])
    try:
        transport, udp = await loop.create_datagram_endpoint(
            lambda: UdpServer(responder, lane), local_addr=(host, bound), reuse_port=True
        )
    except OSError:
        server.close()
        raise
    try:
        yield bound
    finally:
        transport.close()
        server.close()
        await udp.drain()
        await server.wait_closed()
