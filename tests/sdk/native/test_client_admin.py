"""The native client's administration against a real node: each request challenged (402) and the challenge
answered with ACME's secret key or one of its private keys, the result read back natively and over HTTP —
which sees each change at once. Wrong proofs and another enterprise's administrator write nothing; a
challenge over a digest that is not the request's is not answered. A relay between client and node (TCP on
a port of its own) notes the opcodes the client sends and alters the node's answers where a test needs it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import struct
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from registry import HandleValue as RegistryValue
from registry import Principal, RecordInput, Services, pubkeys, register_many
from registry.store.engine import Store
from resolver.frontends.native.admin import LIST_PAGE
from sdk import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    HandleValue,
    NodeClient,
    NotFoundError,
    Record,
    RequestError,
    ValidationError,
)
from sdk.native.auth import KeyAnswer
from sdk.native.client import AsyncNativeClient, NativeClient, PrivateKey, ProtocolError, SecretKey
from sdk.native.codes import ENVELOPE_SIZE, HEADER_SIZE, OpCode, OpFlag, ResponseCode
from sdk.native.keys import Credential, jwk_bytes
from sdk.native.values import Value
from tests.conftest import ACME, ACME_SECRET, ADMIN_SECRET, OTHER, OTHER_SECRET
from tests.keys import KINDS, private_key, public_pem
from tests.resolver.conftest import ADMIN_USER, set_up_node
from tests.support import NodeProcess

ACME_ADMIN = f"300:0.NA/{ACME}"
KEY_INDEXES = {"RSA": 301, "Ed25519": 302}  # ACME's administrators by key
VALUES = [HandleValue(1, "URL", "https://mes.example.com/parts/1"), HandleValue(2000, "serialNo", "SN-1")]


@dataclass
class Node:
    url: str
    port: int  # the native protocol's
    database: str

    def http(self) -> NodeClient:
        return NodeClient(self.url)  # no cache of its own: what it reads is what the node answers now


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    folder = tmp_path_factory.mktemp("native-admin")
    # The wrong proofs these tests make are few, but never to be throttled into slowing the rest.
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{folder}/idnode.db", "IDNODE_AUTH_FAILURES": "100"}
    set_up_node(env)  # the enterprises' secrets written now: sealed, so the native protocol can check them
    process = NodeProcess(env).start(folder)
    try:
        with httpx.Client(base_url=process.url, timeout=30) as http:
            for kind, index in KEY_INDEXES.items():
                body = {"publicKey": public_pem(private_key(kind)).decode(), "index": index}
                put = http.put(
                    f"/api/admin/enterprises/{ACME}/key", json=body, auth=(ADMIN_USER, ADMIN_SECRET)
                )
                assert put.status_code == 200, put.text
        yield Node(process.url, process.native_port, env["IDNODE_DATABASE_URL"])
    finally:
        process.stop()


def credential(kind: str) -> Credential:
    if kind == "secret":
        return SecretKey(ACME_ADMIN, ACME_SECRET)
    return PrivateKey(f"{KEY_INDEXES[kind]}:0.NA/{ACME}", private_key(kind))


def http_record(node: Node, handle: str) -> Record | None:
    with node.http() as http:
        return http.resolve(handle)


# -- the relay ------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Relay:
    """TCP on a port of its own, passed on to the node's, a framed message at a time: `alter` may change
    each message the node sends (envelope and message); `opcodes` are those of the client's messages."""

    target: int
    alter: Callable[[bytes], bytes] = lambda framed: framed
    opcodes: list[int] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> Relay:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _pipe(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        node_in, node_out = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers += [client_out, node_out]

        def sent(framed: bytes) -> bytes:
            self.opcodes.append(struct.unpack_from(">I", framed, ENVELOPE_SIZE)[0])
            return framed

        await asyncio.gather(_pump(client_in, node_out, sent), _pump(node_in, client_out, self.alter))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _pump(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, alter: Callable[[bytes], bytes]
) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while True:
            envelope = await source.readexactly(ENVELOPE_SIZE)
            message = await source.readexactly(struct.unpack_from(">I", envelope, 16)[0])
            sink.write(alter(envelope + message))
            await sink.drain()
    sink.close()


@pytest.fixture
async def relay(node: Node) -> AsyncIterator[Relay]:
    started = await Relay(node.port).start()
    yield started
    await started.stop()


# -- administration -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["secret", *KEY_INDEXES])
async def test_a_handle_is_created_changed_listed_and_deleted(node: Node, kind: str) -> None:
    handle = f"{ACME}/NATIVE-ADMIN-{kind}"
    assert http_record(node, handle) is None  # the node's caches now know it as missing
    async with AsyncNativeClient("127.0.0.1", node.port, auth=credential(kind)) as client:
        await client.create(handle, VALUES)
        created, over_http = await client.resolve(handle), http_record(node, handle)
        with pytest.raises(ConflictError) as exists:
            await client.create(handle, VALUES)

        await client.add_values(handle, [HandleValue(2001, "batchNo", "B7")])
        added = http_record(node, handle)
        with pytest.raises(ConflictError) as taken:
            await client.add_values(handle, [HandleValue(2001, "batchNo", "B8")])
        await client.modify_values(handle, [HandleValue(2000, "serialNo", "SN-2")])
        modified = http_record(node, handle)
        await client.remove_values(handle, [2001])
        removed = await client.resolve(handle)
        with pytest.raises(RequestError) as no_values:
            await client.remove_values(handle, [2001])
        listed = await client.list_handles(ACME)

        await client.delete(handle)
        with pytest.raises(NotFoundError) as gone:
            await client.resolve(handle)
        with pytest.raises(NotFoundError):
            await client.delete(handle)

    assert over_http is not None
    assert created == over_http
    assert created.as_dict() == {"URL": "https://mes.example.com/parts/1", "serialNo": "SN-1"}
    assert exists.value.code == ResponseCode.HANDLE_ALREADY_EXISTS
    assert added is not None
    assert added.get("batchNo") == "B7"
    assert taken.value.code == ResponseCode.VALUE_ALREADY_EXISTS
    assert modified is not None
    assert modified.get("serialNo") == "SN-2"
    assert removed.get("batchNo") is None
    assert removed.get("serialNo") == "SN-2"
    assert no_values.value.code == ResponseCode.VALUES_NOT_FOUND
    assert handle in listed
    assert gone.value.code == ResponseCode.HANDLE_NOT_FOUND
    assert http_record(node, handle) is None


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["secret", "RSA"])
async def test_in_a_session_the_client_is_challenged_once_for_many_writes(
    node: Node, relay: Relay, kind: str
) -> None:
    handles = [f"{ACME}/NATIVE-SESSION-{kind}-{n}" for n in range(3)]
    client = AsyncNativeClient("127.0.0.1", relay.port, transport="tcp", auth=credential(kind), session=True)
    async with client:
        for handle in handles:
            await client.create(handle, VALUES)
        await client.delete(handles[0])
    setup, create, challenge_answer = OpCode.SESSION_SETUP, OpCode.CREATE_HANDLE, OpCode.CHALLENGE_RESPONSE
    site = OpCode.GET_SITE_INFO  # first: the key the session setup's answer is checked with
    assert relay.opcodes == [site, setup, create, challenge_answer, create, create, OpCode.DELETE_HANDLE]
    assert http_record(node, handles[0]) is None
    assert all(http_record(node, handle) is not None for handle in handles[1:])


@pytest.mark.slow
async def test_a_session_setup_answer_changed_on_the_way_is_refused(node: Node) -> None:
    def swap_server_value(framed: bytes) -> bytes:
        opcode = struct.unpack_from(">I", framed, ENVELOPE_SIZE)[0]
        if opcode != OpCode.SESSION_SETUP:
            return framed
        # envelope, header, digest, mode, data length, algorithm, "DH_PUB_KEY", flags, y's length: then y
        at = ENVELOPE_SIZE + HEADER_SIZE + 33 + 2 + 4 + 4 + 14 + 2 + 4 + 10
        return framed[:at] + bytes([framed[at] ^ 1]) + framed[at + 1 :]

    relay = await Relay(node.port, alter=swap_server_value).start()
    try:
        client = AsyncNativeClient(
            "127.0.0.1", relay.port, transport="tcp", auth=credential("secret"), session=True
        )
        async with client:
            with pytest.raises(ProtocolError, match="not signed with the key"):
                await client.create(f"{ACME}/NATIVE-SESSION-MITM", VALUES)
    finally:
        await relay.stop()
    assert http_record(node, f"{ACME}/NATIVE-SESSION-MITM") is None


@pytest.mark.slow
async def test_a_list_longer_than_one_message_comes_in_continued_messages(node: Node) -> None:
    names = [f"{ACME}/LISTED-{n:05d}" for n in range(LIST_PAGE + 50)]
    store = Store.open(node.database)
    try:
        services = await Services.open(store)
        items = [
            RecordInput(name, [RegistryValue.text(1, "URL", "https://mes.example.com/l")]) for name in names
        ]
        for start in range(0, len(items), 5_000):  # in batches the registry takes
            await register_many(services.records, Principal.parse(ACME_ADMIN), items[start : start + 5_000])
    finally:
        await store.close()
    answers: list[bool] = []  # for each of the node's LIST_HANDLES messages: whether more follow (CN)

    def count(framed: bytes) -> bytes:
        opcode, _, flags = struct.unpack_from(">III", framed, ENVELOPE_SIZE)
        if opcode == OpCode.LIST_HANDLES:
            answers.append(bool(flags & OpFlag.CN))
        return framed

    relay = await Relay(node.port, alter=count).start()
    try:
        async with AsyncNativeClient("127.0.0.1", relay.port, auth=credential("secret")) as client:
            listed = await client.list_handles(ACME)
    finally:
        await relay.stop()
    assert set(names) <= set(listed)
    assert len(listed) == len(set(listed))
    # The challenge, then the list: one message of LIST_PAGE names flagged "more follow", then the rest.
    assert answers == [False, True, False]


@pytest.mark.slow
async def test_create_with_overwrite_replaces_the_values(node: Node) -> None:
    handle = f"{ACME}/NATIVE-OVERWRITE"
    async with AsyncNativeClient("127.0.0.1", node.port, auth=credential("secret")) as client:
        await client.create(handle, VALUES)
        await client.create(handle, {"URL": "https://mes.example.com/parts/2"}, overwrite=True)
        record = await client.resolve(handle)
        await client.add_values(
            handle, [HandleValue(1, "URL", "https://mes.example.com/parts/3")], overwrite=True
        )
        again = await client.resolve(handle)
        await client.delete(handle)

    assert record.as_dict() == {"URL": "https://mes.example.com/parts/2"}
    assert again.as_dict() == {"URL": "https://mes.example.com/parts/3"}


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["MINTED-", ""])
async def test_a_minted_handle_is_the_servers_choice_under_the_prefix(node: Node, stem: str) -> None:
    async with AsyncNativeClient(
        "127.0.0.1", node.port, transport="tcp", auth=credential("Ed25519")
    ) as client:
        handle = await client.mint(ACME, VALUES, stem=stem)
        record = await client.resolve(handle)
        await client.delete(handle)

    assert handle.upper().startswith(f"{ACME}/{stem}")
    assert len(handle) > len(f"{ACME}/{stem}")
    assert record.get("serialNo") == "SN-1"


@pytest.mark.slow
async def test_a_public_key_given_as_a_jwk_is_written_in_the_handle_systems_form(node: Node) -> None:
    handle = f"{ACME}/NATIVE-KEYED"
    jwk = pubkeys.from_crypto(private_key("Ed25519", 7).public_key()).to_jwk()
    async with AsyncNativeClient("127.0.0.1", node.port, auth=credential("secret")) as client:
        await client.create(handle, [*VALUES, HandleValue(300, "HS_PUBKEY", jwk, format="key")])
        native = await client.resolve(handle, types=["HS_PUBKEY"])
        over_http = http_record(node, handle)
        await client.delete(handle)

    assert over_http is not None
    assert [(v.format, v.value) for v in over_http if v.type == "HS_PUBKEY"] == [("key", jwk)]
    raw = native.values[0]
    assert raw.format == "base64"  # the native answer carries the key's bytes
    assert pubkeys.from_bytes(base64.b64decode(raw.value)).to_jwk() == jwk


@pytest.mark.slow
def test_the_blocking_client_administers_the_same(node: Node) -> None:
    handle = f"{ACME}/NATIVE-BLOCKING"
    with NativeClient("127.0.0.1", node.port, auth=credential("RSA")) as client:
        client.create(handle, VALUES)
        client.add_values(handle, [HandleValue(2001, "batchNo", "B7")])
        client.modify_values(handle, [HandleValue(2001, "batchNo", "B8")])
        client.remove_values(handle, [2000])
        record = client.resolve(handle)
        listed = client.list_handles(f"0.NA/{ACME}")
        minted = client.mint(ACME, VALUES, stem="BLOCKING-")
        client.delete(minted)
        client.delete(handle)

    assert record.as_dict() == {"URL": "https://mes.example.com/parts/1", "batchNo": "B8"}
    assert handle in listed
    assert http_record(node, handle) is None
    assert http_record(node, minted) is None


# -- refusals -------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "wrong",
    [
        SecretKey(ACME_ADMIN, "not-acme-secret"),
        PrivateKey(f"{KEY_INDEXES['RSA']}:0.NA/{ACME}", private_key("RSA", 9)),  # a key not ACME's
        PrivateKey(f"{KEY_INDEXES['Ed25519']}:0.NA/{ACME}", private_key("RSA")),  # the key of another index
    ],
    ids=["secret", "key", "index"],
)
async def test_a_wrong_proof_is_refused_and_writes_nothing(node: Node, wrong: Credential) -> None:
    handle = f"{ACME}/NATIVE-WRONG"
    async with AsyncNativeClient("127.0.0.1", node.port, auth=wrong) as client:
        with pytest.raises(AuthenticationError) as refused:
            await client.create(handle, VALUES)

    assert refused.value.code == ResponseCode.AUTHENTICATION_FAILED
    assert http_record(node, handle) is None


@pytest.mark.slow
async def test_another_enterprise_cannot_write_under_acmes_prefix(node: Node) -> None:
    handle, mine = f"{ACME}/NATIVE-NOT-OTHERS", f"{ACME}/NATIVE-ACMES"
    other = SecretKey(f"300:0.NA/{OTHER}", OTHER_SECRET)
    async with (
        AsyncNativeClient("127.0.0.1", node.port, auth=credential("secret")) as acme,
        AsyncNativeClient("127.0.0.1", node.port, auth=other) as intruder,
    ):
        await acme.create(mine, VALUES)
        refusals = []
        for attempt in (
            intruder.create(handle, VALUES),
            intruder.delete(mine),
            intruder.add_values(mine, [HandleValue(2001, "batchNo", "X")]),
            intruder.modify_values(mine, [HandleValue(2000, "serialNo", "X")]),
            intruder.remove_values(mine, [2000]),
            intruder.list_handles(ACME),
        ):
            with pytest.raises(ForbiddenError) as refused:
                await attempt
            refusals.append(refused.value.code)
        after = await acme.resolve(mine)
        await acme.delete(mine)

    assert set(refusals) <= {ResponseCode.INVALID_ADMIN, ResponseCode.INSUFFICIENT_PERMISSIONS}
    assert http_record(node, handle) is None
    assert after.as_dict() == {"URL": "https://mes.example.com/parts/1", "serialNo": "SN-1"}


@pytest.mark.slow
async def test_a_challenge_over_another_digest_is_not_answered(node: Node, relay: Relay) -> None:
    at = ENVELOPE_SIZE + HEADER_SIZE + 5  # inside the digest, after its type byte

    def tamper(framed: bytes) -> bytes:
        if struct.unpack_from(">I", framed, ENVELOPE_SIZE + 4)[0] != ResponseCode.AUTHENTICATION_NEEDED:
            return framed
        return framed[:at] + bytes([framed[at] ^ 0xFF]) + framed[at + 1 :]

    relay.alter = tamper
    handle = f"{ACME}/NATIVE-TAMPERED"
    async with AsyncNativeClient("127.0.0.1", relay.port, auth=credential("secret")) as client:
        with pytest.raises(ProtocolError, match="digest"):
            await client.create(handle, VALUES)

    assert relay.opcodes == [OpCode.CREATE_HANDLE]  # no CHALLENGE_RESPONSE went out
    assert http_record(node, handle) is None


@pytest.mark.slow
async def test_through_a_relay_the_challenge_is_answered_on_the_same_connection(
    node: Node, relay: Relay
) -> None:
    handle = f"{ACME}/NATIVE-RELAYED"
    async with AsyncNativeClient("127.0.0.1", relay.port, auth=credential("secret")) as client:
        await client.create(handle, VALUES)
        await client.delete(handle)

    expected = [
        OpCode.CREATE_HANDLE,
        OpCode.CHALLENGE_RESPONSE,
        OpCode.DELETE_HANDLE,
        OpCode.CHALLENGE_RESPONSE,
    ]
    assert relay.opcodes == expected


async def test_administration_without_credentials_is_refused_before_anything_is_sent() -> None:
    async with AsyncNativeClient("127.0.0.1", 9, transport="tcp", timeout=0.3) as client:
        with pytest.raises(AuthenticationError, match="auth="):
            await client.delete(f"{ACME}/ANY")


def test_values_without_a_binary_form_are_refused() -> None:
    with (
        NativeClient("127.0.0.1", 9, auth=SecretKey(ACME_ADMIN, ACME_SECRET)) as client,
        pytest.raises(ValidationError, match="value 5"),
    ):
        client.create(f"{ACME}/ANY", [HandleValue(5, "X", "AA", format="no-such-format")])


# -- keys -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_jwk_becomes_the_key_bytes_the_node_reads(kind: str) -> None:
    key = pubkeys.from_crypto(private_key(kind).public_key())

    assert jwk_bytes(key.to_jwk()) == key.to_bytes()


def test_a_private_key_may_be_given_as_pem() -> None:
    private = private_key("Ed25519")
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase"),
    )
    loaded = PrivateKey("0.NA/88.999.1", pem, password="pass phrase")
    answer = loaded.answer(b"n" * 16, b"d" * 32, (2, 11))

    assert (answer.kind, answer.handle, answer.index) == ("HS_PUBKEY", "0.NA/88.999.1", 300)
    private.public_key().verify(_signature(answer.response), b"n" * 16 + b"d" * 32)


def _signature(response: bytes) -> bytes:
    found = KeyAnswer.decode(response)
    assert found.hash_alg == "SHA-256"
    return found.signature


@pytest.mark.slow
async def test_an_administrator_resolves_what_it_may_read_and_anyone_else_the_public_values(
    node: Node,
) -> None:
    handle = f"{ACME}/NATIVE-PRIVATE"
    private = [
        Value(1, "URL", b"https://mes.example.com/parts/1"),
        Value(2000, "serialNo", b"SN-1"),
        Value(3, "EMAIL", b"qa@example.com", permissions=0b1100),  # administrators read and write it
    ]
    async with AsyncNativeClient("127.0.0.1", node.port, auth=credential("secret")) as admin:
        await admin.create(handle, private)
        as_admin = await admin.resolve(handle)
        public_only = await admin.resolve(handle, public_only=True)
    async with AsyncNativeClient("127.0.0.1", node.port) as anyone:
        anonymous = await anyone.resolve(handle)
    assert as_admin.get("EMAIL") == "qa@example.com"
    assert public_only.get("EMAIL") is None
    assert anonymous.get("EMAIL") is None
    assert anonymous.get("serialNo") == "SN-1"
