"""A raw native-protocol peer for the server's tests: requests built with the codec, sent over UDP or TCP
sockets as a Handle client sends them, and answers read back byte for byte (no SDK client in between)."""

from __future__ import annotations

import socket
import time

from sdk.native.bodies import ResolutionRequest
from sdk.native.codes import ENVELOPE_SIZE, OpCode, OpFlag
from sdk.native.message import Envelope, Message, frame
from sdk.native.udp import Reassembly

TIMEOUT = 10.0


def request(
    opcode: int = OpCode.RESOLUTION,
    body: bytes = b"",
    flags: OpFlag = OpFlag.NONE,
    credential: bytes = b"",
) -> Message:
    return Message(opcode, 0, flags, body, credential, expiration=int(time.time()) + 600)


def resolution(
    handle: str, *, indexes: tuple[int, ...] = (), types: tuple[str, ...] = (), flags: OpFlag = OpFlag.NONE
) -> Message:
    return request(OpCode.RESOLUTION, ResolutionRequest(handle, indexes, types).encode(), flags)


def envelope(request_id: int = 7, version: tuple[int, int] = (2, 10)) -> Envelope:
    major, minor = version
    return Envelope(major, minor, suggested_major=major, suggested_minor=minor, request_id=request_id)


def udp_ask(port: int, message: Message | bytes, env: Envelope | None = None) -> tuple[Envelope, Message]:
    """Send one request in one datagram; the answer, reassembled from as many datagrams as it takes."""
    raw = message if isinstance(message, bytes) else message.encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendto(frame(env or envelope(), raw), ("127.0.0.1", port))
        return udp_answer(sock)


def udp_answer(sock: socket.socket) -> tuple[Envelope, Message]:
    parts = Reassembly()
    while True:
        datagram, sender = sock.recvfrom(65_535)
        assert len(datagram) <= 512, "a datagram longer than the protocol allows"
        answer_envelope = Envelope.decode(datagram)
        whole = parts.add(sender, answer_envelope, datagram[ENVELOPE_SIZE:])
        if whole is not None:
            return answer_envelope, Message.decode(whole)


def tcp_connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def tcp_send(sock: socket.socket, message: Message | bytes, env: Envelope | None = None) -> None:
    raw = message if isinstance(message, bytes) else message.encode()
    sock.sendall(frame(env or envelope(), raw))


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def tcp_answer(sock: socket.socket) -> tuple[Envelope, Message]:
    answer_envelope = Envelope.decode(read_exactly(sock, ENVELOPE_SIZE))
    return answer_envelope, Message.decode(read_exactly(sock, answer_envelope.length))


def tcp_ask(port: int, message: Message | bytes, env: Envelope | None = None) -> tuple[Envelope, Message]:
    with tcp_connect(port) as sock:
        tcp_send(sock, message, env)
        return tcp_answer(sock)
