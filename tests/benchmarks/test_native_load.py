"""hdlload, the native Handle protocol load generator, against a small asyncio responder over UDP and TCP:
the requests it sends are well formed, and its counts of what came back add up."""

from __future__ import annotations

import asyncio
import math
import struct
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal, cast

import pytest

from benchmarks.machine import free_port
from benchmarks.native_load import NativeLoad, NativeResult, build
from benchmarks.services import ROOT

HANDLES = [
    "88.999.1/PART-0001",
    "88.999.1/PART-0002",
    "88.999.1/missing-0001",
    "88.999.1/BIG-0001",  # its answer takes 3 datagrams over UDP
    "88.999.1/missing-0002",
    "88.999.1/PART-0003",
]
ENVELOPE = struct.Struct(">BBHIIII")  # major, minor, flags, session, request id, sequence, message length
HEADER = struct.Struct(">IIIHBBII")  # opcode, response code, op flags, serial, recursion, -, expiry, body
UDP_PAYLOAD = 492
KEEP_ALIVE = 0x02000000


def _string(text: bytes) -> bytes:
    return struct.pack(">I", len(text)) + text


def _values(handle: bytes) -> bytes:
    """No values, or for BIG- handles one URL value whose data puts the message in 3 datagrams."""
    if b"BIG-" not in handle:
        return struct.pack(">I", 0)
    value = struct.pack(">IIBIB", 1, 0, 0, 86400, 0x0E) + _string(b"URL") + _string(b"x" * 1100)
    return struct.pack(">I", 1) + value + struct.pack(">I", 0)  # the value, then its 0 references


class Responder:
    """Answers RESOLUTION requests: code 100 for handles with "missing" in them, else 1 with the handle
    and its values; records each handle asked for and anything wrong in a request."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()
        self.problems: list[str] = []
        self.oversize = False  # answer with a message length beyond the limit instead

    def answer(self, request: bytes, *, tcp: bool) -> tuple[int, bytes]:
        """The request id and the response message of one request (envelope and message)."""
        request_id, handle = self._check(request, tcp=tcp)
        self.asked[handle.decode()] += 1
        if b"missing" in handle:
            code, body = 100, b""
        else:
            code, body = 1, _string(handle) + _values(handle)
        header = HEADER.pack(1, code, 0, 0, 0, 0, 0, len(body))
        return request_id, header + body + struct.pack(">I", 0)

    def _check(self, request: bytes, *, tcp: bool) -> tuple[int, bytes]:
        """The request id and the handle of a request, its other fields checked."""
        major, minor, flags, session, request_id, sequence, length = ENVELOPE.unpack_from(request)
        if (major, minor, flags, session, sequence) != (2, 10, 0x020A, 0, 0) or request_id == 0:
            self.problems.append(f"envelope {request[:20].hex()}")
        if length != len(request) - 20:
            self.problems.append(f"message length {length} of {len(request) - 20}")
        opcode, code, op_flags, serial, recursion, _, expiry, body = HEADER.unpack_from(request, 20)
        if (opcode, code, op_flags, serial, recursion) != (1, 0, KEEP_ALIVE if tcp else 0, 0, 0):
            self.problems.append(f"header {request[20:44].hex()}")
        if abs(expiry - (time.time() + 3600)) > 60:
            self.problems.append(f"expiration {expiry}")
        (size,) = struct.unpack_from(">I", request, 44)
        handle = request[48 : 48 + size]
        rest = request[48 + size :]
        if body != 12 + size or rest != bytes(12):  # index list, type list, credential: all empty
            self.problems.append(f"body {request[44:].hex()}")
        return request_id, handle


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        assert self.transport is not None
        request_id, message = self.responder.answer(data, tcp=False)
        length = len(message)
        if self.responder.oversize:
            length, message = 300000, message[:UDP_PAYLOAD]
        for sequence in range(math.ceil(len(message) / UDP_PAYLOAD)):
            part = message[sequence * UDP_PAYLOAD : (sequence + 1) * UDP_PAYLOAD]
            self.transport.sendto(ENVELOPE.pack(2, 10, 0x020A, 0, request_id, sequence, length) + part, addr)


class _Tcp(asyncio.Protocol):
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        answers = []
        while len(self.buffer) >= 20:
            end = 20 + struct.unpack_from(">I", self.buffer, 16)[0]
            if len(self.buffer) < end:
                break
            request_id, message = self.responder.answer(self.buffer[:end], tcp=True)
            self.buffer = self.buffer[end:]
            length = 300000 if self.responder.oversize else len(message)
            answers.append(ENVELOPE.pack(2, 10, 0x020A, 0, request_id, 0, length) + message)
        self.transport.write(b"".join(answers))


Serving = tuple[Responder, dict[str, int]]  # the responder, and its UDP and TCP ports


@pytest.fixture
async def serving() -> AsyncIterator[Serving]:
    responder = Responder()
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(responder), local_addr=("127.0.0.1", 0))
    tcp = await loop.create_server(lambda: _Tcp(responder), "127.0.0.1", 0)
    try:
        ports = {"udp": udp.get_extra_info("sockname")[1], "tcp": tcp.sockets[0].getsockname()[1]}
        yield responder, ports
    finally:
        udp.close()
        tcp.close()
        await tcp.wait_closed()


@pytest.fixture(scope="module")
def binary() -> Path:
    return build()  # once, before any timed run


@pytest.fixture(scope="module")
def handles_file(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("native") / "handles.txt"
    path.write_text("\n".join(HANDLES) + "\n")
    return path


async def _load(serving: Serving, handles: Path, mode: Literal["udp", "tcp"], seconds: float) -> NativeResult:
    load = NativeLoad(mode, connections=4, depth=8, seconds=seconds, threads=2)
    return await asyncio.to_thread(load.run, "127.0.0.1", serving[1][mode], handles)


@pytest.mark.parametrize("mode", ["udp", "tcp"])
async def test_answers_are_counted_by_code(
    serving: Serving, handles_file: Path, mode: Literal["udp", "tcp"]
) -> None:
    responder, _ = serving
    result = await _load(serving, handles_file, mode, 1.0)
    assert responder.problems == []
    assert (result.mode, result.errors, result.lost, result.late, result.reconnects) == (mode, 0, 0, 0, 0)
    assert result.ok > 200
    assert result.codes == {"1": result.ok, "100": result.not_found}
    assert result.answers == result.ok + result.not_found
    # Round robin: 2 of the 6 handles are missing; only the requests in flight at the end are unanswered.
    assert abs(result.not_found / result.answers - 2 / 6) < 0.02
    assert 0 <= result.sent - result.answers <= 4 * 8
    assert set(responder.asked) == set(HANDLES)
    # Over UDP the BIG- answer comes in 3 datagrams: 2 parts beyond the first for every sixth answer.
    expected_parts = 2 * result.answers / 6 if mode == "udp" else 0
    assert abs(result.parts - expected_parts) <= 2 * 4 * 8
    assert result.rps == pytest.approx(result.ok / result.seconds, rel=0.01)
    assert 0 < result.p50_ms <= result.p99_ms


@pytest.mark.parametrize("mode", ["udp", "tcp"])
async def test_a_message_over_the_limit_is_an_error(
    serving: Serving, handles_file: Path, mode: Literal["udp", "tcp"]
) -> None:
    responder, _ = serving
    responder.oversize = True
    result = await _load(serving, handles_file, mode, 0.3)
    assert result.answers == 0
    assert result.errors > 0
    if mode == "tcp":  # the connection cannot be framed past it: closed and opened again
        assert result.reconnects > 0


def test_no_server_is_exit_status_2(handles_file: Path) -> None:
    load = NativeLoad("tcp", connections=1, depth=1, seconds=1)
    command = load.command("127.0.0.1", free_port(), handles_file)  # nothing listens there
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert "connect" in done.stderr


def test_usage_errors_are_exit_status_2(binary: Path) -> None:
    done = subprocess.run([str(binary), "--udp"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "usage" in done.stderr
