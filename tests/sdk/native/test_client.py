"""The native client against a real node (`idnode serve` with its native listeners): the records it reads
equal the HTTP client's, over UDP and TCP; errors by response code; long answers from several datagrams, or
over TCP when one is lost; many requests on one TCP connection. A relay between the two (UDP and TCP on a port
of its own) counts what passes, and drops or alters the node's datagrams where a test needs it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sdk import (
    HandleValue,
    InvalidHandleError,
    NodeClient,
    NotFoundError,
    Record,
    RequestError,
    TransportError,
)
from sdk.native.client import UDP_MAX_ANSWER, AsyncNativeClient, NativeClient, ProtocolError, Transport
from sdk.native.codes import ENVELOPE_SIZE, HEADER_SIZE, UDP_PAYLOAD, EnvelopeFlag
from tests.conftest import ACME_SECRET
from tests.resolver.conftest import set_up_node
from tests.support import NodeProcess

pytestmark = pytest.mark.slow

PREFIX = "88.999.1"
PART = f"{PREFIX}/NATIVE-PART-1"
LARGE = f"{PREFIX}/NATIVE-LARGE-1"  # 40 values of 200 bytes: some 20 datagrams
HUGE = f"{PREFIX}/NATIVE-HUGE-1"  # 300 values of 250 bytes: longer than the client takes over UDP
PART_VALUES = [
    HandleValue(1, "URL", "https://mes.example.com/parts/1"),
    HandleValue(2000, "serialNo", "SN-0001"),
    HandleValue(2001, "批次", "B7-甲"),
]
IDLE_TIMEOUT = 2  # seconds the node keeps a silent TCP connection


@dataclass
class Node:
    port: int  # the native protocol's, UDP and TCP
    http: dict[str, Record]  # what the HTTP client reads of each handle


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    folder = tmp_path_factory.mktemp("native")
    env = {
        "IDNODE_DATABASE_URL": f"sqlite:///{folder}/idnode.db",
        "IDNODE_NATIVE_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
    }
    set_up_node(env)
    process = NodeProcess(env).start(folder)
    try:
        with NodeClient(process.url, username=f"300:0.NA/{PREFIX}", secret=ACME_SECRET) as http:
            large = [HandleValue(2000 + n, f"field{n}", f"{n:03d}" + "x" * 197) for n in range(40)]
            assert http.register(PART, PART_VALUES).ok
            huge = [HandleValue(2000 + n, f"field{n}", f"{n:03d}" + "y" * 247) for n in range(300)]
            assert http.register(LARGE, large).ok
            assert http.register(HUGE, huge).ok
            read = {handle: http.resolve(handle) for handle in (PART, LARGE, HUGE)}
        yield Node(process.native_port, {h: r for h, r in read.items() if r is not None})
    finally:
        process.stop()


# -- the relay ------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Relay:
    """UDP and TCP on one port of its own, passed on to the node's. `alter` may change or drop (None) each
    datagram the node sends; `close_first` closes the first TCP connection once the client has written."""

    target: int
    alter: Callable[[bytes], bytes | None] = lambda datagram: datagram
    close_first: bool = False
    requests: list[bytes] = field(default_factory=list)  # datagrams from the client
    answers: list[bytes] = field(default_factory=list)  # datagrams from the node
    connections: int = 0
    port: int = 0
    _client: Any = None
    _front: asyncio.DatagramTransport | None = None
    _back: asyncio.DatagramTransport | None = None
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> Relay:
        loop = asyncio.get_running_loop()
        relay = self

        class Front(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                relay._client = addr
                relay.requests.append(data)
                assert relay._back is not None
                relay._back.sendto(data)

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                relay.answers.append(data)
                out = relay.alter(data)
                if out is not None and relay._front is not None:
                    relay._front.sendto(out, relay._client)

        # One port number for both: TCP first (port 0), then UDP on its number, which another socket may
        # hold; then again with another port, so that no socket is left open by a failed try.
        for _ in range(50):
            server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            try:
                front, _ = await loop.create_datagram_endpoint(Front, local_addr=("127.0.0.1", port))
            except OSError:
                server.close()
                await server.wait_closed()
                continue
            break
        else:
            raise RuntimeError("no port free for both UDP and TCP")
        back, _ = await loop.create_datagram_endpoint(Back, remote_addr=("127.0.0.1", self.target))
        self._server, self._front, self._back, self.port = server, front, back, port
        return self

    async def _pipe(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(client_out)
        if self.close_first and self.connections == 1:
            await client_in.read(1)
        else:
            node_in, node_out = await asyncio.open_connection("127.0.0.1", self.target)
            self._writers.append(node_out)
            await asyncio.gather(_pump(client_in, node_out), _pump(node_in, client_out))
        client_out.close()

    async def stop(self) -> None:
        for transport in (self._front, self._back):
            if transport is not None:
                transport.close()
        if self._server is not None:
            self._server.close()
        for writer in self._writers:  # the pipes see the end of their streams and finish
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await asyncio.sleep(0)  # the datagram transports close their sockets in a callback


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.close()


@pytest.fixture
async def relay(node: Node) -> AsyncIterator[Relay]:
    started = await Relay(node.port).start()
    yield started
    await started.stop()


def _sequence(datagram: bytes) -> int:
    return int(struct.unpack_from(">I", datagram, 12)[0])


# -- resolution -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_record_reads_the_same_natively_as_over_http(node: Node, transport: Transport) -> None:
    async with AsyncNativeClient("127.0.0.1", node.port, transport=transport) as client:
        record = await client.resolve(PART)
        flagged = await client.resolve(PART, public_only=True, authoritative=True)
        urls = await client.resolve(PART, types=["URL"])
        indexed = await client.resolve(PART, indexes=[2000, 2001])

    assert record == node.http[PART]
    assert record.get("批次") == "B7-甲"
    assert flagged == record
    assert [v.type for v in urls] == ["URL"]
    assert [v.index for v in indexed] == [2000, 2001]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_errors_carry_the_response_code_and_the_servers_message(
    node: Node, transport: Transport
) -> None:
    async with AsyncNativeClient("127.0.0.1", node.port, transport=transport) as client:
        with pytest.raises(NotFoundError) as missing:
            await client.resolve(f"{PREFIX}/NATIVE-NOT-THERE")
        with pytest.raises(RequestError) as elsewhere:
            await client.resolve("88.777.1/NOT-HOMED-HERE")
        with pytest.raises(InvalidHandleError) as invalid:
            await client.resolve("no slash at all")
        with pytest.raises(RequestError) as no_values:
            await client.resolve(PART, types=["NO-SUCH-TYPE"])

    assert (missing.value.code, missing.value.handle) == (100, f"{PREFIX}/NATIVE-NOT-THERE")
    assert elsewhere.value.code == 301
    assert "not responsible" in elsewhere.value.message
    assert invalid.value.code == 102
    assert no_values.value.code == 200


async def test_a_long_answer_is_put_together_from_several_datagrams(node: Node, relay: Relay) -> None:
    async with AsyncNativeClient("127.0.0.1", relay.port) as client:
        record = await client.resolve(LARGE)

    assert record == node.http[LARGE]
    assert len(record.values) == 40
    assert len(relay.answers) > 10
    assert all(struct.unpack_from(">I", d, 16)[0] > UDP_PAYLOAD for d in relay.answers)  # the whole length
    assert relay.connections == 0  # no TCP needed


async def test_a_long_answer_missing_a_datagram_is_asked_for_again_over_tcp(node: Node, relay: Relay) -> None:
    relay.alter = lambda datagram: None if _sequence(datagram) == 1 else datagram
    async with AsyncNativeClient("127.0.0.1", relay.port, timeout=0.5) as client:
        record = await client.resolve(LARGE)

    assert record == node.http[LARGE]
    assert relay.answers[0][2] & EnvelopeFlag.TC
    assert relay.connections == 1
    assert len(relay.requests) == 1  # not sent again over UDP


async def test_an_answer_too_long_for_datagrams_is_asked_for_over_tcp(node: Node, relay: Relay) -> None:
    async with AsyncNativeClient("127.0.0.1", relay.port) as client:
        record = await client.resolve(HUGE)

    assert record == node.http[HUGE]
    assert struct.unpack_from(">I", relay.answers[0], 16)[0] > UDP_MAX_ANSWER
    assert relay.connections == 1
    assert len(relay.requests) == 1


async def test_a_long_request_is_split_over_datagrams(node: Node, relay: Relay) -> None:
    types = [f"TYPE-{n:04d}" for n in range(60)] + ["URL"]  # some 700 bytes of request
    async with AsyncNativeClient("127.0.0.1", relay.port) as client:
        record = await client.resolve(PART, types=types)

    assert [v.type for v in record] == ["URL"]
    assert len(relay.requests) == 2


async def test_many_concurrent_resolutions_share_one_tcp_connection(node: Node, relay: Relay) -> None:
    handles = [PART, LARGE, f"{PREFIX}/NATIVE-NOT-THERE"] * 100
    async with AsyncNativeClient("127.0.0.1", relay.port, transport="tcp") as client:
        results = await asyncio.gather(*(client.resolve(h) for h in handles), return_exceptions=True)

    for handle, result in zip(handles, results, strict=True):
        if handle in node.http:
            assert result == node.http[handle]
        else:
            assert isinstance(result, NotFoundError)
    assert relay.connections == 1


async def test_a_connection_the_node_closed_is_opened_again(node: Node, relay: Relay) -> None:
    async with AsyncNativeClient("127.0.0.1", relay.port, transport="tcp") as client:
        first = await client.resolve(PART)
        await asyncio.sleep(IDLE_TIMEOUT + 0.5)  # the node closes the silent connection
        second = await client.resolve(PART)

    assert first == second == node.http[PART]
    assert relay.connections == 2


async def test_a_connection_closed_before_the_answer_is_tried_once_more(node: Node, relay: Relay) -> None:
    relay.close_first = True
    async with AsyncNativeClient("127.0.0.1", relay.port, transport="tcp") as client:
        record = await client.resolve(PART)

    assert record == node.http[PART]
    assert relay.connections == 2


# -- answers that do not count --------------------------------------------------------------------------


async def test_an_answer_with_a_wrong_digest_is_refused(node: Node, relay: Relay) -> None:
    at = ENVELOPE_SIZE + HEADER_SIZE + 5  # inside the digest, after its type byte

    def tamper(datagram: bytes) -> bytes:
        return datagram[:at] + bytes([datagram[at] ^ 0xFF]) + datagram[at + 1 :]

    relay.alter = tamper
    async with AsyncNativeClient("127.0.0.1", relay.port) as client:
        with pytest.raises(ProtocolError, match="digest"):
            await client.resolve(PART)


async def test_answers_of_other_request_ids_are_ignored_and_the_request_sent_again(
    node: Node, relay: Relay
) -> None:
    relay.alter = lambda datagram: datagram[:8] + bytes(a ^ 1 for a in datagram[8:12]) + datagram[12:]
    async with AsyncNativeClient("127.0.0.1", relay.port, timeout=0.3, retries=2) as client:
        with pytest.raises(TransportError, match="no answer"):
            await client.resolve(PART)

    assert len(relay.requests) == 3
    assert len(relay.answers) == 3


async def test_no_server_listening_is_a_transport_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # a port no one answers on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AsyncNativeClient("127.0.0.1", port, timeout=0.3, retries=1) as udp:
        with pytest.raises(TransportError):
            await udp.resolve(PART)
    async with AsyncNativeClient("127.0.0.1", port, transport="tcp", timeout=0.3) as tcp:
        with pytest.raises(TransportError, match="cannot reach"):
            await tcp.resolve(PART)


# -- site information and the blocking client ------------------------------------------------------------


async def test_the_site_names_the_native_port_for_udp_and_tcp(node: Node) -> None:
    async with AsyncNativeClient("127.0.0.1", node.port) as client:
        site = await client.site_info()

    interfaces = {(i.protocol, i.port) for server in site.servers for i in server.interfaces}
    assert {(0, node.port), (1, node.port)} <= interfaces
    assert site.protocol == (2, 11)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_the_blocking_client_reads_the_same(node: Node, transport: Transport) -> None:
    with NativeClient("127.0.0.1", node.port, transport=transport) as client:
        records = [client.resolve(PART), client.resolve(LARGE)]
        site = client.site_info()
        with pytest.raises(NotFoundError):
            client.resolve(f"{PREFIX}/NATIVE-NOT-THERE")

    assert records == [node.http[PART], node.http[LARGE]]
    assert site.servers


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="udp or tcp"):
        AsyncNativeClient("127.0.0.1", 2641, transport="http")  # type: ignore[arg-type]
