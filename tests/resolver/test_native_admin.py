"""Administration over the native protocol of a running node (two worker processes), spoken as the CNRI
library speaks it: the request, its 402 challenge, and the answer to it on a new TCP connection — which may
reach the other worker. Proofs are computed here by hand from the protocol's definitions (PBKDF2-HMAC-SHA1
for 2.7 and later, SHA-1 of secret‖data‖secret before; RSA signatures), not by the SDK."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sdk.native import bodies, values
from sdk.native.codes import EnvelopeFlag, OpCode, OpFlag, ResponseCode
from sdk.native.credential import Signature
from sdk.native.message import Envelope, Message
from tests.conftest import ACME, ACME_SECRET, ADMIN_SECRET, OTHER, OTHER_SECRET
from tests.keys import private_key, public_pem, sign
from tests.resolver.conftest import ADMIN_USER, RunningNode, set_up_node
from tests.resolver.native_session_wire import HandSession, dh_key, setup_body
from tests.resolver.native_wire import (
    envelope,
    request,
    resolution,
    tcp_answer,
    tcp_ask,
    tcp_connect,
    tcp_send,
    udp_ask,
)  # fmt: skip
from tests.resolver.test_handle_rest import expect
from tests.resolver.test_native import handle_rsa_key
from tests.support import NodeProcess

ACME_ADMIN = f"0.NA/{ACME}"
KEY_INDEX = 301


@pytest.fixture(scope="module")
def node(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    workdir = tmp_path_factory.mktemp("node")
    env = {"IDNODE_DATABASE_URL": database}
    set_up_node(env)
    process = NodeProcess(env, workers=2).start(workdir)
    try:
        yield RunningNode(process.url, env, process, workdir)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def rsa_key(node: RunningNode) -> Any:
    """An RSA key of ACME's, published as its HS_PUBKEY value at index 301."""
    private = private_key("RSA", 7)
    body = {"publicKey": public_pem(private).decode(), "index": KEY_INDEX}
    admin = (ADMIN_USER, ADMIN_SECRET)
    with httpx.Client(base_url=node.url, timeout=30) as http:
        response = http.put(f"/api/admin/enterprises/{ACME}/key", json=body, auth=admin)
    assert response.status_code == 200, response.text
    return private


@pytest.fixture
def port(node: RunningNode) -> int:
    return node.process.native_port


def text(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">I", len(raw)) + raw


def text_bytes(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def pbkdf2_proof(secret: str, data: bytes) -> bytes:
    """PBKDF2-HMAC-SHA1 (type 0x22): salt, iterations, key length, the HMAC-SHA1 under the derived key."""
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha1", secret.encode(), salt, 10_000, 20)
    mac = hmac.new(key, data, "sha1").digest()
    return (
        b"\x22" + struct.pack(">I", 16) + salt + struct.pack(">ii", 10_000, 160) + struct.pack(">I", 20) + mac
    )


def sha1_proof(secret: str, data: bytes) -> bytes:
    return b"\x02" + hashlib.sha1(secret.encode() + data + secret.encode()).digest()


def rsa_proof(private: Any, data: bytes) -> bytes:
    return text("SHA-256") + struct.pack(">I", 256) + sign(private, data)


class Challenged:
    """A request sent, its challenge read: the session id, the nonce and the digest it carries."""

    def __init__(self, port: int, sent: Message, version: tuple[int, int]) -> None:
        self.version = version
        challenge_envelope, answer = tcp_ask(port, sent, envelope(11, version))
        assert answer.response_code == ResponseCode.AUTHENTICATION_NEEDED, bodies.read_error(answer)
        assert answer.has(OpFlag.RD)
        kind = answer.body[0]
        size = 32 if kind == 3 else 20
        self.digest = answer.body[1 : 1 + size]
        algorithm = hashlib.sha256 if kind == 3 else hashlib.sha1
        assert self.digest == algorithm(sent.signed_part()).digest(), "the digest of another request"
        nonce_length = struct.unpack_from(">I", answer.body, 1 + size)[0]
        self.nonce = answer.body[5 + size : 5 + size + nonce_length]
        self.session = challenge_envelope.session_id
        assert self.session != 0

    def answer(self, port: int, kind: str, who: tuple[str, int], proof: bytes) -> tuple[Envelope, Message]:
        """The answer to the challenge, on a new connection (the CNRI library's way), and what it gets."""
        body = text(kind) + text(who[0]) + struct.pack(">i", who[1]) + struct.pack(">I", len(proof)) + proof
        major, minor = self.version
        env = Envelope(major, minor, suggested_major=major, suggested_minor=minor, session_id=self.session)
        env = replace(env, request_id=12)
        return tcp_ask(port, request(OpCode.CHALLENGE_RESPONSE, body), env)

    @property
    def signed(self) -> bytes:
        return self.nonce + self.digest


def as_acme(
    port: int, sent: Message, version: tuple[int, int] = (2, 11), secret: str = ACME_SECRET
) -> Message:
    challenged = Challenged(port, sent, version)
    proof = (pbkdf2_proof if version >= (2, 7) else sha1_proof)(secret, challenged.signed)
    answer_envelope, answer = challenged.answer(port, "HS_SECKEY", (ACME_ADMIN, 300), proof)
    assert answer_envelope.request_id == 12
    assert answer.opcode == sent.opcode
    return answer


def values_body(handle: str, items: list[dict[str, Any]]) -> bytes:
    return bodies.ValuesRequest(handle, tuple(values.from_json(v) for v in items)).encode()


PART = [
    {"index": 1, "type": "URL", "data": "https://mes.example.com/p/9"},
    {"index": 2000, "type": "partNo", "data": "DF-9"},
]


def test_a_handle_created_with_the_secret_key_is_served_by_every_dialect_at_once(
    http: httpx.Client, port: int
) -> None:
    handle = f"{ACME}/native-created"
    assert http.get(f"/api/handles/{handle}").status_code == 404  # "not found", cached now
    done = as_acme(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART)))
    assert done.response_code == ResponseCode.SUCCESS, bodies.read_error(done)
    rest = expect(http.get(f"/api/handles/{handle}"), 200, 1)["values"]
    assert [(v["index"], v["data"]["value"]) for v in rest] == [
        (1, "https://mes.example.com/p/9"),
        (2000, "DF-9"),
    ]
    _, native = udp_ask(port, resolution(handle))
    assert native.response_code == ResponseCode.SUCCESS


def test_protocol_2_5_clients_prove_their_secret_with_sha1(http: httpx.Client, port: int) -> None:
    handle = f"{ACME}/native-old-client"
    done = as_acme(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART)), version=(2, 5))
    assert done.response_code == ResponseCode.SUCCESS, bodies.read_error(done)
    expect(http.get(f"/api/handles/{handle}"), 200, 1)


def test_values_are_added_modified_removed_and_the_handle_deleted(http: httpx.Client, port: int) -> None:
    handle = f"{ACME}/native-changed"
    assert as_acme(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART))).response_code == 1
    more = [{"index": 2001, "type": "batch", "data": "B-1"}]
    assert as_acme(port, request(OpCode.ADD_VALUE, values_body(handle, more))).response_code == 1
    again = as_acme(port, request(OpCode.ADD_VALUE, values_body(handle, more)))
    assert again.response_code == ResponseCode.VALUE_ALREADY_EXISTS
    changed = [{"index": 2001, "type": "batch", "data": "B-2"}]
    assert as_acme(port, request(OpCode.MODIFY_VALUE, values_body(handle, changed))).response_code == 1
    absent = [{"index": 2999, "type": "batch", "data": "B-3"}]
    missing = as_acme(port, request(OpCode.MODIFY_VALUE, values_body(handle, absent)))
    assert missing.response_code == ResponseCode.VALUES_NOT_FOUND
    by_index = {
        v["index"]: v["data"]["value"] for v in expect(http.get(f"/api/handles/{handle}"), 200, 1)["values"]
    }
    assert by_index == {1: "https://mes.example.com/p/9", 2000: "DF-9", 2001: "B-2"}
    removal = bodies.IndexesRequest(handle, (1,)).encode()
    assert as_acme(port, request(OpCode.REMOVE_VALUE, removal)).response_code == 1
    assert [v["index"] for v in expect(http.get(f"/api/handles/{handle}"), 200, 1)["values"]] == [2000, 2001]
    listed = as_acme(port, request(OpCode.LIST_HANDLES, bodies.HandleRequest(ACME_ADMIN).encode()))
    assert handle in bodies.read_handles(listed)
    deleting = request(OpCode.DELETE_HANDLE, bodies.HandleRequest(handle).encode())
    assert as_acme(port, deleting).response_code == 1
    assert http.get(f"/api/handles/{handle}").status_code == 404


def test_a_wrong_secret_is_refused_and_writes_nothing(http: httpx.Client, port: int) -> None:
    handle = f"{ACME}/native-wrong-secret"
    refused = as_acme(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART)), secret="not-it")
    assert refused.response_code == ResponseCode.AUTHENTICATION_FAILED
    assert http.get(f"/api/handles/{handle}").status_code == 404


def test_another_enterprise_cannot_write_under_acme(http: httpx.Client, port: int) -> None:
    handle = f"{ACME}/native-not-yours"
    challenged = Challenged(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART)), (2, 11))
    proof = pbkdf2_proof(OTHER_SECRET, challenged.signed)
    _, refused = challenged.answer(port, "HS_SECKEY", (f"0.NA/{OTHER}", 300), proof)
    assert refused.response_code in (ResponseCode.INVALID_ADMIN, ResponseCode.INSUFFICIENT_PERMISSIONS)
    assert http.get(f"/api/handles/{handle}").status_code == 404


def test_an_rsa_key_proves_who_writes(http: httpx.Client, port: int, rsa_key: Any) -> None:
    handle = f"{ACME}/native-by-key"
    challenged = Challenged(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART)), (2, 10))
    _, done = challenged.answer(
        port, "HS_PUBKEY", (ACME_ADMIN, KEY_INDEX), rsa_proof(rsa_key, challenged.signed)
    )
    assert done.response_code == ResponseCode.SUCCESS, bodies.read_error(done)
    expect(http.get(f"/api/handles/{handle}"), 200, 1)


def test_a_key_that_signed_something_else_is_refused(http: httpx.Client, port: int, rsa_key: Any) -> None:
    handle = f"{ACME}/native-bad-signature"
    challenged = Challenged(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART)), (2, 10))
    proof = rsa_proof(rsa_key, challenged.nonce + bytes(32))
    _, refused = challenged.answer(port, "HS_PUBKEY", (ACME_ADMIN, KEY_INDEX), proof)
    assert refused.response_code == ResponseCode.AUTHENTICATION_FAILED
    assert http.get(f"/api/handles/{handle}").status_code == 404


def test_a_challenge_is_answered_once(port: int) -> None:
    handle = f"{ACME}/native-replayed"
    challenged = Challenged(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART)), (2, 11))
    proof = pbkdf2_proof(ACME_SECRET, challenged.signed)
    _, first = challenged.answer(port, "HS_SECKEY", (ACME_ADMIN, 300), proof)
    assert first.response_code == ResponseCode.SUCCESS
    _, replay = challenged.answer(port, "HS_SECKEY", (ACME_ADMIN, 300), proof)
    assert replay.response_code == ResponseCode.AUTHEN_TIMEOUT


def test_answers_land_on_either_worker_and_all_succeed(port: int) -> None:
    for n in range(8):  # each answer on a new connection: the kernel spreads them over both workers
        handle = f"{ACME}/native-spread-{n}"
        assert as_acme(port, request(OpCode.CREATE_HANDLE, values_body(handle, PART))).response_code == 1


def test_a_malformed_admin_request_is_a_protocol_error_without_a_challenge(port: int) -> None:
    _, answer = tcp_ask(port, request(OpCode.ADD_VALUE, text(f"{ACME}/x") + b"\x00\x00\x00\x05"))
    assert answer.response_code == ResponseCode.PROTOCOL_ERROR


@pytest.fixture
def http(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30) as client:
        yield client


# -- sessions (opcodes 400–402), as the CNRI library's default resolver uses them ---------------------------


def test_a_session_is_set_up_certified_challenged_once_then_trusted_by_its_mac(
    http: httpx.Client, port: int
) -> None:
    _, site_message = udp_ask(port, request(OpCode.GET_SITE_INFO))
    node_key = handle_rsa_key(bodies.read_site(site_message).servers[0].public_key)
    session, setup_envelope, setup = HandSession.open(port, (ACME_ADMIN, 300))
    assert session.id != 0
    assert setup_envelope.session_id == session.id
    # The library checks the setup's signature with the site's key: over the new session's id.
    signature = Signature.decode(setup.credential)
    head = bytes([2, 11, setup_envelope.suggested_major, setup_envelope.suggested_minor])
    head += struct.pack(">III", session.id, 5, 0)
    node_key.verify(signature.signature, head + setup.signed_part(), padding.PKCS1v15(), hashes.SHA256())

    first = f"{ACME}/in-session-1"
    sent, env = session.sealed(request(OpCode.CREATE_HANDLE, values_body(first, PART)), 31)
    challenge_envelope, challenge = tcp_ask(port, sent, env)
    assert challenge.response_code == ResponseCode.AUTHENTICATION_NEEDED
    assert challenge_envelope.session_id == session.id  # challenged in the session, not in one of its own
    nonce_length = struct.unpack_from(">I", challenge.body, 33)[0]
    nonce = challenge.body[37 : 37 + nonce_length]
    proof = pbkdf2_proof(ACME_SECRET, nonce + challenge.body[1:33])
    answer_body = text("HS_SECKEY") + text(ACME_ADMIN) + struct.pack(">i", 300) + text_bytes(proof)
    _, done = session.ask(request(OpCode.CHALLENGE_RESPONSE, answer_body), 32)
    assert done.response_code == ResponseCode.SUCCESS, bodies.read_error(done)
    expect(http.get(f"/api/handles/{first}"), 200, 1)

    # Proved: the session's next request is done at once, on a new connection (maybe the other worker).
    second = f"{ACME}/in-session-2"
    trusted, trusted_env = session.sealed(request(OpCode.CREATE_HANDLE, values_body(second, PART)), 33)
    _, done = tcp_ask(port, trusted, trusted_env)
    assert done.response_code == ResponseCode.SUCCESS, bodies.read_error(done)
    expect(http.get(f"/api/handles/{second}"), 200, 1)

    # The same message again is a replay; a MAC by another key, or none, is no member of the session.
    assert tcp_ask(port, trusted, trusted_env)[1].response_code == ResponseCode.SESSION_MESSAGE_REJECTED
    third = request(OpCode.CREATE_HANDLE, values_body(f"{ACME}/in-session-3", PART))
    forged = HandSession(port, session.id, bytes(32), counter=50).sealed(third, 34)
    assert tcp_ask(port, *forged)[1].response_code == ResponseCode.INVALID_SESSION_KEY
    bare = tcp_ask(port, third, replace(envelope(35, (2, 11)), session_id=session.id))[1]
    assert bare.response_code == ResponseCode.INVALID_CREDENTIAL
    assert http.get(f"/api/handles/{ACME}/in-session-3").status_code == 404

    # Terminated, the session is gone: a MACed request in it is told so (and the library sets up another).
    assert session.ask(request(OpCode.SESSION_TERMINATE), 36)[1].response_code == ResponseCode.SUCCESS
    assert session.ask(third, 37)[1].response_code == ResponseCode.SESSION_TIMEOUT
    assert http.get(f"/api/handles/{ACME}/in-session-3").status_code == 404


def proved(port: int) -> HandSession:
    """A session of ACME's administrator, its challenge answered (with a first write)."""
    session, _, _ = HandSession.open(port, (ACME_ADMIN, 300))
    first = request(OpCode.CREATE_HANDLE, values_body(f"{ACME}/proving-{session.id}", PART))
    _, challenge = session.ask(first, 81)
    nonce = challenge.body[37 : 37 + struct.unpack_from(">I", challenge.body, 33)[0]]
    proof = pbkdf2_proof(ACME_SECRET, nonce + challenge.body[1:33])
    body = text("HS_SECKEY") + text(ACME_ADMIN) + struct.pack(">i", 300) + text_bytes(proof)
    assert session.ask(request(OpCode.CHALLENGE_RESPONSE, body), 82)[1].response_code == ResponseCode.SUCCESS
    return session


def test_encrypted_requests_of_a_session_are_read_and_answered_encrypted_when_asked(
    http: httpx.Client, port: int
) -> None:
    session = proved(port)
    # What the CNRI library encrypts by itself: a value the public may not read.
    private = [{"index": 2, "type": "EMAIL", "data": "qa@example.com", "permissions": "1100"}]
    handle = f"{ACME}/encrypted-{session.id}"
    answer_envelope, raw = session.ask_encrypted(
        request(OpCode.CREATE_HANDLE, values_body(handle, private)), 83
    )
    assert (
        not answer_envelope.flags & EnvelopeFlag.EC
    )  # the request did not ask (ENC) for an encrypted answer
    assert Message.decode(raw).response_code == ResponseCode.SUCCESS, bodies.read_error(Message.decode(raw))
    assert http.get(f"/api/handles/{handle}").status_code == 200

    asking = request(OpCode.DELETE_HANDLE, bodies.HandleRequest(handle).encode(), OpFlag.ENC)
    answer_envelope, raw = session.ask_encrypted(asking, 84)
    assert answer_envelope.flags & EnvelopeFlag.EC
    assert session.decrypted(raw).response_code == ResponseCode.SUCCESS
    assert http.get(f"/api/handles/{handle}").status_code == 404

    other = request(OpCode.DELETE_HANDLE, bodies.HandleRequest(f"{ACME}/in-session-1").encode())
    _, raw = session.ask_encrypted(other, 85, key=bytes(32))
    assert Message.decode(raw).response_code == ResponseCode.SESSION_FAILED


def test_a_session_of_another_enterprise_cannot_write_under_acme(http: httpx.Client, port: int) -> None:
    session, _, _ = HandSession.open(port, (f"0.NA/{OTHER}", 300))
    handle = f"{ACME}/other-session"
    _, challenge = session.ask(request(OpCode.CREATE_HANDLE, values_body(handle, PART)), 41)
    assert challenge.response_code == ResponseCode.AUTHENTICATION_NEEDED
    nonce = challenge.body[37 : 37 + struct.unpack_from(">I", challenge.body, 33)[0]]
    proof = pbkdf2_proof(OTHER_SECRET, nonce + challenge.body[1:33])
    body = text("HS_SECKEY") + text(f"0.NA/{OTHER}") + struct.pack(">i", 300) + text_bytes(proof)
    _, refused = session.ask(request(OpCode.CHALLENGE_RESPONSE, body), 42)
    assert refused.response_code in (ResponseCode.INVALID_ADMIN, ResponseCode.INSUFFICIENT_PERMISSIONS)
    assert http.get(f"/api/handles/{handle}").status_code == 404


@pytest.mark.parametrize(
    ("body", "version", "code"),
    [
        (setup_body((ACME_ADMIN, 300), dh_key(2), mode=1), (2, 11), ResponseCode.SESSION_FAILED),
        (setup_body((ACME_ADMIN, 300), dh_key(1)), (2, 11), ResponseCode.SESSION_FAILED),  # a trivial value
        (setup_body((ACME_ADMIN, 300), dh_key(5, p=2**127 - 1)), (2, 11), ResponseCode.SESSION_FAILED),
        (setup_body((ACME_ADMIN, 300), dh_key(2)), (2, 5), ResponseCode.SESSION_FAILED),
        (setup_body((ACME_ADMIN, 300), dh_key(2))[:-12], (2, 11), ResponseCode.PROTOCOL_ERROR),
        (setup_body((ACME_ADMIN, 300), b"not a key"), (2, 11), ResponseCode.SESSION_FAILED),
    ],
    ids=["cipher-mode", "trivial-value", "small-prime", "old-protocol", "truncated", "not-a-key"],
)
def test_a_session_setup_that_cannot_be_made_is_answered_in_the_protocols_terms(
    port: int, body: bytes, version: tuple[int, int], code: int
) -> None:
    _, answer = tcp_ask(port, request(OpCode.SESSION_SETUP, body, OpFlag.RD), envelope(51, version))
    assert answer.response_code == code, bodies.read_error(answer)


def test_an_unknown_session_id_without_a_mac_is_a_clients_own_numbering_and_challenged(port: int) -> None:
    sent = request(OpCode.CREATE_HANDLE, values_body(f"{ACME}/numbered", PART))
    answer_envelope, answer = tcp_ask(port, sent, replace(envelope(61, (2, 10)), session_id=10001))
    assert answer.response_code == ResponseCode.AUTHENTICATION_NEEDED
    assert answer_envelope.session_id != 0


# -- the CAICT variant's logins (opcodes 2000 and 2001), as its SDKs send them on one TCP connection ---------

CAICT_ENVELOPE = Envelope(2, 3, suggested_major=2, suggested_minor=10)  # the CAICT ID-SDK's versions


def test_a_caict_key_login_makes_the_connection_the_administrators(
    http: httpx.Client, port: int, rsa_key: Any
) -> None:
    login = request(OpCode.CAICT_LOGIN_PUBKEY, text(ACME_ADMIN) + struct.pack(">i", KEY_INDEX), OpFlag.RD)
    with tcp_connect(port) as sock:
        # As the idpointer SDK sends it: the message ends after the body, no credential length.
        tcp_send(sock, login.encode()[:-4], replace(CAICT_ENVELOPE, request_id=71))
        challenge_envelope, challenge = tcp_answer(sock)
        assert challenge.opcode == OpCode.CAICT_LOGIN_PUBKEY
        assert challenge.response_code == ResponseCode.AUTHENTICATION_NEEDED
        assert challenge.body[1:33] == hashlib.sha256(login.signed_part()).digest()
        nonce = challenge.body[37 : 37 + struct.unpack_from(">I", challenge.body, 33)[0]]
        proof = rsa_proof(rsa_key, nonce + challenge.body[1:33])
        body = text("HS_PUBKEY") + text(ACME_ADMIN) + struct.pack(">i", KEY_INDEX) + text_bytes(proof)
        answer_env = replace(CAICT_ENVELOPE, session_id=challenge_envelope.session_id, request_id=72)
        tcp_send(sock, request(OpCode.CHALLENGE_RESPONSE, body, OpFlag.RD | OpFlag.REC), answer_env)
        _, logged_in = tcp_answer(sock)
        assert logged_in.opcode == OpCode.CAICT_LOGIN_PUBKEY  # not 200: both SDKs refuse that
        assert logged_in.response_code == ResponseCode.SUCCESS, bodies.read_error(logged_in)

        # Later requests on the connection: no credential, session 0, done as the administrator at once.
        handle = f"{ACME}/caict-key-login"
        tcp_send(
            sock,
            request(OpCode.CREATE_HANDLE, values_body(handle, PART)),
            replace(CAICT_ENVELOPE, request_id=73),
        )
        _, created = tcp_answer(sock)
        assert created.response_code == ResponseCode.SUCCESS, bodies.read_error(created)
    expect(http.get(f"/api/handles/{handle}"), 200, 1)
    # Another connection is nobody's.
    elsewhere = request(OpCode.DELETE_HANDLE, bodies.HandleRequest(handle).encode())
    assert tcp_ask(port, elsewhere, CAICT_ENVELOPE)[1].response_code == ResponseCode.AUTHENTICATION_NEEDED


def test_a_caict_password_login_checks_the_secret_and_is_for_tcp_only(http: httpx.Client, port: int) -> None:
    def password_login(secret: str) -> Message:
        body = text(f"300:{ACME_ADMIN}") + struct.pack(">i", 0) + struct.pack(">i", 1) + text(secret)
        return request(OpCode.CAICT_LOGIN_PASSWORD, body)

    with tcp_connect(port) as sock:
        tcp_send(sock, password_login("not-the-secret"), CAICT_ENVELOPE)
        assert tcp_answer(sock)[1].response_code == ResponseCode.AUTHENTICATION_FAILED
        tcp_send(sock, password_login(ACME_SECRET), CAICT_ENVELOPE)
        _, logged_in = tcp_answer(sock)
        assert logged_in.opcode == OpCode.CAICT_LOGIN_PASSWORD
        assert logged_in.response_code == ResponseCode.SUCCESS, bodies.read_error(logged_in)
        assert logged_in.body == text(f"300:{ACME_ADMIN}") + bytes(4)  # the user name, no values
        handle = f"{ACME}/caict-password-login"
        tcp_send(sock, request(OpCode.CREATE_HANDLE, values_body(handle, PART)), CAICT_ENVELOPE)
        assert tcp_answer(sock)[1].response_code == ResponseCode.SUCCESS
    expect(http.get(f"/api/handles/{handle}"), 200, 1)
    _, over_udp = udp_ask(port, password_login(ACME_SECRET))
    assert over_udp.response_code == ResponseCode.OPERATION_NOT_SUPPORTED


# -- resolutions of values the public may not read ----------------------------------------------------------

PRIVATE = [*PART, {"index": 3, "type": "EMAIL", "data": "qa@example.com", "permissions": "1100"}]


def shown(answer: Message) -> list[int]:
    assert answer.response_code == ResponseCode.SUCCESS, bodies.read_error(answer)
    return sorted(v.index for v in bodies.read_resolution(answer).values)


def test_a_resolution_of_restricted_values_is_challenged_and_shows_the_administrator_what_it_may_read(
    port: int,
) -> None:
    handle = f"{ACME}/native-private"
    assert as_acme(port, request(OpCode.CREATE_HANDLE, values_body(handle, PRIVATE))).response_code == 1
    # Public-only (what anonymous Handle clients ask): the public values at once, over UDP too.
    assert shown(udp_ask(port, resolution(handle, flags=OpFlag.PO))[1]) == [1, 2000]
    # Without PO: who asks decides what it sees, so it is asked (the reference server's way).
    assert udp_ask(port, resolution(handle))[1].response_code == ResponseCode.AUTHENTICATION_NEEDED
    assert shown(as_acme(port, resolution(handle))) == [1, 3, 2000]
    assert shown(as_acme(port, resolution(handle, types=("EMAIL",)))) == [3]
    # Another enterprise proves who it is and is shown the public values only.
    challenged = Challenged(port, resolution(handle), (2, 11))
    proof = pbkdf2_proof(OTHER_SECRET, challenged.signed)
    assert shown(challenged.answer(port, "HS_SECKEY", (f"0.NA/{OTHER}", 300), proof)[1]) == [1, 2000]
    # In a proved session: shown at once, no challenge — and encrypted with the session key, as the values
    # are not for everyone's eyes (the reference server's rule).
    session = proved(port)
    answer_envelope, raw = session.ask_raw(resolution(handle), 91)
    assert answer_envelope.flags & EnvelopeFlag.EC
    assert shown(session.decrypted(raw)) == [1, 3, 2000]
    public = session.ask(resolution(handle, flags=OpFlag.PO), 92)[1]
    assert shown(public) == [1, 2000]  # public values only: nothing to hide, sent as they are
