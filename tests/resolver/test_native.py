"""The native Handle protocol of a running node, spoken over raw UDP and TCP sockets and the HTTP tunnel as
Handle clients speak it: resolutions that carry the same values as the REST answer, the site record, every
error in the protocol's own codes, split UDP answers, keep-alive and pipelined TCP, and bad bytes that
never cost other clients their answers."""

from __future__ import annotations

import hashlib
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sdk.native import bodies, values
from sdk.native.codes import ENVELOPE_SIZE, EnvelopeFlag, OpCode, OpFlag, ResponseCode
from sdk.native.message import Envelope, Message, frame, unframe
from sdk.native.udp import Reassembly
from tests.conftest import ACME, NODE_PREFIX
from tests.resolver.conftest import RunningNode, set_up_node
from tests.resolver.native_wire import (
    envelope,
    read_exactly,
    request,
    resolution,
    tcp_answer,
    tcp_ask,
    tcp_connect,
    tcp_send,
    udp_ask,
)
from tests.resolver.test_handle_rest import PART_VALUES, expect, put
from tests.support import NodeProcess

IDLE_TIMEOUT = 2


@pytest.fixture(scope="module")
def node(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    workdir = tmp_path_factory.mktemp("node")
    env = {"IDNODE_DATABASE_URL": database, "IDNODE_NATIVE_IDLE_TIMEOUT": str(IDLE_TIMEOUT)}
    set_up_node(env)
    process = NodeProcess(env).start(workdir)
    try:
        yield RunningNode(process.url, env, process, workdir)
    finally:
        process.stop()


@pytest.fixture
def port(node: RunningNode) -> int:
    return node.process.native_port


@pytest.fixture
def part(http: httpx.Client, request: pytest.FixtureRequest) -> str:
    handle = f"{ACME}/native-{request.node.name}"
    assert put(http, handle, PART_VALUES).status_code == 201
    return handle


def ok(answer: tuple[Envelope, Message]) -> bodies.ResolutionResponse:
    _, message = answer
    assert message.response_code == ResponseCode.SUCCESS, bodies.read_error(message)
    return bodies.read_resolution(message)


def failed(answer: tuple[Envelope, Message], code: int) -> str:
    _, message = answer
    assert message.response_code == code, (message.response_code, bodies.read_error(message))
    return bodies.read_error(message)


def as_json(response: bodies.ResolutionResponse) -> list[dict[str, Any]]:
    return [values.to_json(v) for v in response.values]


# -- resolution --------------------------------------------------------------------------------------------


def test_udp_and_tcp_answers_carry_the_values_the_rest_answer_does(
    http: httpx.Client, port: int, part: str
) -> None:
    rest = expect(http.get(f"/api/handles/{part}"), 200, 1)["values"]
    for ask in (udp_ask, tcp_ask):
        answer = ok(ask(port, resolution(part)))
        assert answer.handle == part
        assert as_json(answer) == rest  # index, type, data, TTL, timestamp, permissions, references


def test_a_prefix_handle_carries_its_admin_values_in_binary_form(http: httpx.Client, port: int) -> None:
    handle = f"0.NA/{ACME}"
    rest = expect(http.get(f"/api/handles/{handle}"), 200, 1)["values"]
    answer = ok(udp_ask(port, resolution(handle)))
    admin = next(v for v in answer.values if v.type == "HS_ADMIN")
    assert values.Admin.decode(admin.data).handle == handle
    assert [v["type"] for v in rest] == [v.type for v in answer.values]
    assert "HS_SECKEY" not in {v.type for v in answer.values}


def test_the_node_key_is_published_in_the_handle_systems_key_encoding(port: int) -> None:
    answer = ok(udp_ask(port, resolution(f"0.NA/{NODE_PREFIX}", types=("HS_PUBKEY",))))
    assert answer.values
    for key in answer.values:
        assert key.data.startswith(b"\x00\x00\x00\x0bRSA_PUB_KEY")


def test_filters_by_index_and_type_keep_the_values_matching_any(port: int, part: str) -> None:
    answer = ok(udp_ask(port, resolution(part, indexes=(2000,), types=("URL.",))))
    assert sorted(v.index for v in answer.values) == [1, 2, 2000]  # "URL." matches URL.mobile too
    failed(udp_ask(port, resolution(part, types=("NOPE",))), ResponseCode.VALUES_NOT_FOUND)


def test_not_found_here_and_not_responsible_for_others(port: int) -> None:
    assert failed(udp_ask(port, resolution(f"{ACME}/no-such-part")), ResponseCode.HANDLE_NOT_FOUND)
    failed(tcp_ask(port, resolution("86.5000.1/elsewhere")), ResponseCode.SERVER_NOT_RESP)
    failed(udp_ask(port, resolution("no-slash")), ResponseCode.INVALID_HANDLE)


def test_a_write_over_rest_is_seen_natively_at_once(http: httpx.Client, port: int, part: str) -> None:
    ok(udp_ask(port, resolution(part)))  # cached now
    changed = [{"index": 2000, "type": "customerPartNo", "data": "DF-CHANGED"}]
    assert put(http, part, changed, overwrite="true").status_code in (200, 201)
    assert as_json(ok(udp_ask(port, resolution(part))))[0]["data"] == {
        "format": "string",
        "value": "DF-CHANGED",
    }


@pytest.mark.parametrize(("version", "kind"), [((2, 10), 3), ((2, 11), 3), ((2, 5), 2), ((2, 1), 2)])
def test_the_request_digest_is_of_what_was_sent_in_the_versions_algorithm(
    port: int, part: str, version: tuple[int, int], kind: int
) -> None:
    sent = resolution(part, flags=OpFlag.RD)
    answer_envelope, message = udp_ask(port, sent, envelope(version=version))
    assert (answer_envelope.major, answer_envelope.minor) == version
    assert message.has(OpFlag.RD)
    digest = bodies.read_resolution(message).digest
    algorithm = hashlib.sha256 if kind == 3 else hashlib.sha1
    assert digest == bytes([kind]) + algorithm(sent.signed_part()).digest()


def test_versions_are_negotiated_down_to_what_the_client_speaks(port: int, part: str) -> None:
    for asked, answered in [((2, 11), (2, 11)), ((2, 10), (2, 10)), ((2, 99), (2, 11)), ((3, 0), (2, 11))]:
        answer_envelope, message = udp_ask(port, resolution(part), envelope(version=asked))
        assert (answer_envelope.major, answer_envelope.minor) == answered
        assert message.response_code == ResponseCode.SUCCESS


def test_answers_echo_the_request_and_expire_in_the_future(port: int, part: str) -> None:
    env = Envelope(2, 10, suggested_major=2, suggested_minor=10, session_id=99, request_id=0xDEADBEEF)
    answer_envelope, message = tcp_ask(port, resolution(part, flags=OpFlag.KA), env)
    assert (answer_envelope.request_id, answer_envelope.session_id) == (0xDEADBEEF, 99)
    assert message.opcode == OpCode.RESOLUTION
    assert message.has(OpFlag.AT)
    assert message.has(OpFlag.KA)
    assert message.expiration > time.time() + 3600


# -- the site ----------------------------------------------------------------------------------------------


def test_get_site_info_names_the_nodes_interfaces_and_key(node: RunningNode, port: int) -> None:
    _, message = tcp_ask(port, request(OpCode.GET_SITE_INFO))
    assert message.response_code == ResponseCode.SUCCESS
    site = bodies.read_site(message)
    (server,) = site.servers
    assert server.address == "127.0.0.1"
    ports = {(i.protocol, i.port) for i in server.interfaces}
    assert ports == {(0, port), (1, port), (2, node.process.port)}
    assert server.interfaces[0].protocol == 1  # TCP: the one interface the CAICT ID-SDK uses is the first
    assert server.public_key.startswith(b"\x00\x00\x00\x0bRSA_PUB_KEY")
    assert ("desc", f"idnode {NODE_PREFIX}") in site.attributes


# -- UDP ---------------------------------------------------------------------------------------------------


def test_a_large_answer_comes_in_several_datagrams_that_reassemble_to_the_tcp_answer(
    http: httpx.Client, port: int
) -> None:
    handle = f"{ACME}/native-large"
    many = [{"index": 3000 + n, "type": f"doc{n}", "data": "x" * 200} for n in range(40)]
    assert put(http, handle, many).status_code == 201
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(10)
        sock.sendto(frame(envelope(), resolution(handle).encode()), ("127.0.0.1", port))
        first = sock.recv(1024)
        assert Envelope.decode(first).flags & EnvelopeFlag.TC  # a client that cannot reassemble: use TCP
        assert Envelope.decode(first).length > 8000
        parts = Reassembly()
        parts.add("node", Envelope.decode(first), first[ENVELOPE_SIZE:])
        whole = None
        while whole is None:
            datagram = sock.recv(1024)
            whole = parts.add("node", Envelope.decode(datagram), datagram[ENVELOPE_SIZE:])
    by_udp = bodies.read_resolution(Message.decode(whole))
    assert by_udp.values == ok(tcp_ask(port, resolution(handle))).values
    assert len(by_udp.values) == 40


# -- TCP ---------------------------------------------------------------------------------------------------


def test_a_tcp_connection_serves_many_pipelined_requests_in_order(port: int, part: str) -> None:
    with tcp_connect(port) as sock:
        for n in range(1, 51):  # all sent before any answer is read
            handle = part if n % 5 else f"{ACME}/no-such-{n}"
            tcp_send(sock, resolution(handle), envelope(request_id=n))
        for n in range(1, 51):
            answer_envelope, message = tcp_answer(sock)
            assert answer_envelope.request_id == n
            expected = ResponseCode.SUCCESS if n % 5 else ResponseCode.HANDLE_NOT_FOUND
            assert message.response_code == expected


def test_a_connection_without_keep_alive_stays_open_until_idle(port: int, part: str) -> None:
    with tcp_connect(port) as sock:  # the CAICT ID-SDK's way: no KA flag, one connection for everything
        tcp_send(sock, request(OpCode.GET_SITE_INFO))
        assert tcp_answer(sock)[1].response_code == ResponseCode.SUCCESS
        time.sleep(0.5)
        tcp_send(sock, resolution(part))
        assert tcp_answer(sock)[1].response_code == ResponseCode.SUCCESS
        sock.settimeout(IDLE_TIMEOUT + 8)
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the node once idle
        assert time.monotonic() - started < IDLE_TIMEOUT + 5


# -- the HTTP tunnel ---------------------------------------------------------------------------------------


def test_the_http_tunnel_answers_a_framed_message(http: httpx.Client, part: str) -> None:
    sent = frame(envelope(request_id=5), resolution(part).encode())
    for path in ("/", f"/{part}"):
        response = http.post(path, content=sent, headers={"Content-Type": "application/x-hdl-message"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-hdl-message"
        answer_envelope, raw = unframe(response.content)
        assert answer_envelope.request_id == 5
        assert len(bodies.read_resolution(Message.decode(raw)).values) == len(PART_VALUES)


def test_the_tunnel_answers_garbage_with_a_protocol_error(http: httpx.Client) -> None:
    garbage = b"\x02\x0a" + b"\xff" * 30
    response = http.post("/", content=garbage, headers={"Content-Type": "application/x-hdl-message"})
    assert response.status_code == 200
    _, raw = unframe(response.content)
    assert Message.decode(raw).response_code == ResponseCode.PROTOCOL_ERROR


# -- bad input ---------------------------------------------------------------------------------------------


def test_operations_not_served_are_answered_not_dropped(port: int) -> None:
    for opcode in (OpCode.LIST_NAS, OpCode.HOME_NA, 9999):
        failed(udp_ask(port, request(opcode)), ResponseCode.OPERATION_NOT_SUPPORTED)


def test_malformed_messages_get_protocol_errors(port: int) -> None:
    body = bodies.ResolutionRequest("x/y").encode()
    truncated = request(body=body).encode()[:-6]
    claims_too_much = request(body=b"\x00\x00\xff\xff" + body[4:]).encode()
    bad_utf8 = request(body=b"\x00\x00\x00\x03\xff\xfe\xfd" + body[-8:]).encode()
    assert failed(udp_ask(port, truncated), ResponseCode.PROTOCOL_ERROR)
    failed(udp_ask(port, claims_too_much), ResponseCode.PROTOCOL_ERROR)
    failed(tcp_ask(port, bad_utf8), ResponseCode.INVALID_HANDLE)


def test_a_length_past_the_limit_is_answered_then_the_connection_closed(port: int, part: str) -> None:
    with tcp_connect(port) as sock:
        tcp_send(sock, resolution(part), envelope(request_id=1))
        sock.sendall(Envelope(request_id=2, length=10**9).encode())  # would be a gigabyte
        first, second = tcp_answer(sock), tcp_answer(sock)
        assert (first[0].request_id, first[1].response_code) == (1, ResponseCode.SUCCESS)
        assert (second[0].request_id, second[1].response_code) == (2, ResponseCode.PROTOCOL_ERROR)
        sock.settimeout(5)
        assert sock.recv(1) == b""


def test_garbage_never_costs_other_clients_their_answers(port: int, part: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as noise, tcp_connect(port) as half:
        for size in (0, 1, 19, 20, 43, 44, 300, 511):
            noise.sendto(bytes(range(256))[:size], ("127.0.0.1", port))
        half.sendall(envelope().encode()[:12])  # a client that stops half way through an envelope
        for ask in (udp_ask, tcp_ask):
            assert ok(ask(port, resolution(part))).handle == part
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:  # one whose envelope is all there
        client.sendto(Envelope(length=10**9, request_id=3).encode(), ("127.0.0.1", port))
        client.settimeout(10)
        refused = client.recv(1024)
        assert Envelope.decode(refused).request_id == 3
        assert Message.decode(refused[ENVELOPE_SIZE:]).response_code == ResponseCode.PROTOCOL_ERROR


def test_a_tcp_client_that_sends_half_a_message_does_not_block_the_next(port: int, part: str) -> None:
    with tcp_connect(port) as stuck:
        whole = frame(envelope(), resolution(part).encode())
        stuck.sendall(whole[: len(whole) // 2])
        assert ok(tcp_ask(port, resolution(part))).handle == part
        stuck.sendall(whole[len(whole) // 2 :])
        assert Envelope.decode(read_exactly(stuck, ENVELOPE_SIZE)).request_id == 7


def test_the_prefix_handle_holds_the_site_record_in_every_dialect(http: httpx.Client, port: int) -> None:
    _, message = udp_ask(port, request(OpCode.GET_SITE_INFO))
    site = bodies.read_site(message)
    handle = f"0.NA/{NODE_PREFIX}"
    native_site = next(v for v in ok(udp_ask(port, resolution(handle))).values if v.type == "HS_SITE")
    assert native_site.index == 1
    assert values.Site.decode(native_site.data) == site
    rest = expect(http.get(f"/api/handles/{handle}", params={"type": "HS_SITE"}), 200, 1)["values"]
    assert rest[0]["data"]["format"] == "site"
    assert values.Site.from_json(rest[0]["data"]["value"]) == site


def handle_rsa_key(data: bytes) -> rsa.RSAPublicKey:
    """An RSA key in the Handle System's encoding, read by hand: type, 2 flag bytes, exponent, modulus."""
    at = 4 + struct.unpack_from(">I", data)[0]
    assert data[4:at] == b"RSA_PUB_KEY"
    at += 2
    numbers = []
    for _ in range(2):
        size = struct.unpack_from(">I", data, at)[0]
        numbers.append(int.from_bytes(data[at + 4 : at + 4 + size], "big"))
        at += 4 + size
    e, n = numbers
    return rsa.RSAPublicNumbers(e, n).public_key()


@pytest.mark.parametrize("version", [(2, 11), (2, 7)])
def test_a_certified_answer_is_signed_with_the_key_the_site_names(
    port: int, part: str, version: tuple[int, int]
) -> None:
    _, site_message = udp_ask(port, request(OpCode.GET_SITE_INFO))
    key = handle_rsa_key(bodies.read_site(site_message).servers[0].public_key)
    env = Envelope(
        *version, suggested_major=version[0], suggested_minor=version[1], session_id=0, request_id=77
    )
    ok(udp_ask(port, resolution(part)))  # cached now: a certified request of it still gets a signed answer
    answer_envelope, message = tcp_ask(port, resolution(part, flags=OpFlag.CT), env)
    assert message.has(OpFlag.CT)
    credential = message.credential
    # version, reserved, flags, an empty string, the session counter, "HS_SIGNED", the section
    assert credential[:8] == bytes(8)
    assert credential[12:25] == b"\x00\x00\x00\x09HS_SIGNED"
    section = credential[29:]
    assert section[:11] == b"\x00\x00\x00\x07SHA-256"
    signature = section[15:]
    assert struct.unpack_from(">I", section, 11)[0] == len(signature)
    signed = message.signed_part()
    head = bytes([answer_envelope.major, answer_envelope.minor])
    if version >= (2, 8):
        head += bytes([answer_envelope.suggested_major, answer_envelope.suggested_minor])
    head += struct.pack(">III", 0, 77, 0)
    key.verify(signature, head + signed, padding.PKCS1v15(), hashes.SHA256())
    tampered = signed[:-1] + bytes([signed[-1] ^ 1])
    with pytest.raises(InvalidSignature):
        key.verify(signature, head + tampered, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
def test_a_node_will_not_share_a_native_port_another_process_holds(
    tmp_path_factory: pytest.TempPathFactory, kind: socket.SocketKind
) -> None:
    folder = tmp_path_factory.mktemp("taken")
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{folder}/idnode.db"}
    set_up_node(env)
    with socket.socket(socket.AF_INET, kind) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as another node's worker holds it
        holder.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            holder.listen()
        taken = holder.getsockname()[1]
        node = NodeProcess(env, native_port=taken)
        with pytest.raises(RuntimeError, match="did not become ready"):
            node.start(folder)
        assert node.log is not None
        assert f"the native Handle port 127.0.0.1:{taken} is taken" in node.log.read_text()
