"""Signed answers (`cert=true`) of a running node, checked by an implementation of our own here — the JWS
taken apart by hand, RS256 checked with `cryptography`'s RSA key made from the HS_PUBKEY published at
0.NA/<node prefix>, SM2 with GmSSL's primitive, the value digests computed from the Handle System's binary
form — and not by the SDK or the node's code. Tampered answers do not verify; a key rotation while a client
resolves never makes an answer fail."""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gmssl_pyx
import httpx
import orjson
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.conftest import NODE_PREFIX
from tests.resolver.conftest import RunningNode, set_up_node
from tests.resolver.test_handle_rest import PART_VALUES, expect, put
from tests.support import NodeProcess, cli

PREFIX_HANDLE = f"0.NA/{NODE_PREFIX}"


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def published_keys(http: httpx.Client) -> dict[int, dict[str, Any]]:
    """The node's HS_PUBKEY values (JWKs) by index, as any Handle REST client reads them."""
    body = expect(http.get(f"/api/handles/{PREFIX_HANDLE}"), 200, 1)
    return {v["index"]: v["data"]["value"] for v in body["values"] if v["type"] == "HS_PUBKEY"}


def rsa_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    n, e = (int.from_bytes(unb64(jwk[name]), "big") for name in ("n", "e"))
    return rsa.RSAPublicNumbers(e, n).public_key()


def rs256_claims(token: str, key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The claims of a compact JWS, once its RS256 signature checks out (else InvalidSignature)."""
    head, payload, signature = token.split(".")
    assert orjson.loads(unb64(head))["alg"] == "RS256"
    key.verify(unb64(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    claims: dict[str, Any] = orjson.loads(unb64(payload))
    return claims


def value_digest(value: dict[str, Any], hash_of: Callable[[bytes], bytes]) -> str:
    """A string value's digest as the Handle System makes it: its binary form without index and timestamp."""
    assert value["data"]["format"] == "string"
    assert "permissions" not in value
    assert "references" not in value

    def field(raw: bytes) -> bytes:
        return struct.pack(">I", len(raw)) + raw

    binary = (
        struct.pack(">BiB", 0, value["ttl"], 0b1110)
        + field(value["type"].encode())
        + field(value["data"]["value"].encode())
        + struct.pack(">I", 0)
    )
    return base64.b64encode(hash_of(binary)).decode()


def issuer_index(token: str) -> int:
    """The index of the HS_PUBKEY that the (unchecked) claims name as the signer's key."""
    return int(orjson.loads(unb64(token.split(".")[1]))["iss"].partition(":")[0])


def sha256(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def check_digests(
    claims: dict[str, Any], values: list[dict[str, Any]], hash_of: Callable[[bytes], bytes]
) -> None:
    wanted = {d["index"]: d["digest"] for d in claims["digests"]["digests"]}
    assert wanted == {v["index"]: value_digest(v, hash_of) for v in values}


@pytest.fixture
def part(http: httpx.Client, request: pytest.FixtureRequest) -> str:
    handle = f"88.999.1/{request.node.name.replace('[', '-').rstrip(']')}"
    assert put(http, handle, PART_VALUES).status_code == 201
    return handle


def signed(http: httpx.Client, handle: str, **params: Any) -> dict[str, Any]:
    return expect(http.get(f"/api/handles/{handle}", params={"cert": "true", **params}), 200, 1)


# -- RS256 ---------------------------------------------------------------------------------------------------


def test_a_signed_answer_verifies_with_the_key_published_in_the_prefix_handle(
    http: httpx.Client, part: str
) -> None:
    plain = expect(http.get(f"/api/handles/{part}"), 200, 1)
    body = signed(http, part)
    index = issuer_index(body["signature"])

    claims = rs256_claims(body["signature"], rsa_key(published_keys(http)[index]))

    assert list(body) == ["responseCode", "handle", "values", "signature"]
    assert body["values"] == plain["values"]
    assert claims["iss"] == f"{index}:{PREFIX_HANDLE}"
    assert claims["sub"] == part
    assert claims["responseCode"] == 1
    assert claims["digests"]["alg"] == "SHA-256"
    check_digests(claims, body["values"], sha256)
    assert claims["nbf"] <= time.time() < claims["exp"]


def test_an_answer_without_cert_is_not_signed_and_unchanged(http: httpx.Client, part: str) -> None:
    body = expect(http.get(f"/api/handles/{part}", params={"cert": "false"}), 200, 1)

    assert list(body) == ["responseCode", "handle", "values"]


def test_a_tampered_signed_answer_does_not_verify(http: httpx.Client, part: str) -> None:
    body = signed(http, part)
    head, payload, signature = body["signature"].split(".")
    key = rsa_key(published_keys(http)[issuer_index(body["signature"])])

    changed = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]  # one byte of the payload
    with pytest.raises(InvalidSignature):
        rs256_claims(f"{head}.{changed}.{signature}", key)

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # a signature by another key
    forged = other.sign(f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        rs256_claims(f"{head}.{payload}.{base64.urlsafe_b64encode(forged).rstrip(b'=').decode()}", key)

    body["values"][0]["data"]["value"] = "https://evil.example.com/"  # a value changed in the answer
    with pytest.raises(AssertionError):
        check_digests(rs256_claims(body["signature"], key), body["values"], sha256)


def test_repeated_signed_answers_are_kept_not_signed_again(http: httpx.Client, part: str) -> None:
    while True:  # a kept signature is renewed at the turn of the hour: both requests within one hour
        hour = int(time.time()) // 3600
        first = http.get(f"/api/handles/{part}", params={"cert": ""}).content
        time.sleep(1.1)  # a new signature would carry another iat
        again = http.get(f"/api/handles/{part}", params={"cert": "yes"}).content
        if int(time.time()) // 3600 == hour:
            break

    assert again == first


def test_filtered_answers_and_not_found_are_signed_too(http: httpx.Client, part: str) -> None:
    keys = published_keys(http)
    only = signed(http, part, type="batch")
    missing = expect(http.get("/api/handles/88.999.1/NO-SUCH", params={"cert": "true"}), 404, 100)

    claims = rs256_claims(only["signature"], rsa_key(keys[issuer_index(only["signature"])]))
    check_digests(claims, only["values"], sha256)
    assert [v["type"] for v in only["values"]] == ["batch"]
    gone = rs256_claims(missing["signature"], rsa_key(keys[issuer_index(missing["signature"])]))
    assert (gone["sub"], gone["responseCode"], gone["digests"]["digests"]) == ("88.999.1/NO-SUCH", 100, [])


def test_the_prefix_handle_publishes_the_node_key_for_anyone(http: httpx.Client) -> None:
    keys = published_keys(http)

    assert keys
    assert all(jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and "d" not in jwk for jwk in keys.values())
    assert rsa_key(keys[min(keys)]).key_size == 2048


# -- rotation while a client resolves (last: it changes the node key) -------------------------------------


class Resolver(threading.Thread):
    """A client resolving signed answers in a loop, verifying each with the keys it holds and fetching the
    published keys again only when an answer names a key it does not hold."""

    def __init__(self, url: str, handle: str) -> None:
        super().__init__(daemon=True)
        self.url, self.handle = url, handle
        self.kids: list[str] = []
        self.failures: list[str] = []
        self.answers = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            keys = published_keys(http)
            while not self.stop.is_set():
                response = http.get(f"/api/handles/{self.handle}", params={"cert": "true"})
                try:
                    body = expect(response, 200, 1)
                    index = issuer_index(body["signature"])
                    if index not in keys:
                        keys = published_keys(http)
                    claims = rs256_claims(body["signature"], rsa_key(keys[index]))
                    check_digests(claims, body["values"], sha256)
                    self.kids.append(orjson.loads(unb64(body["signature"].split(".")[0]))["kid"])
                    self.answers += 1
                except (AssertionError, InvalidSignature, KeyError) as exc:
                    self.failures.append(f"{response.status_code} {exc!r}")
                time.sleep(0.02)


def test_a_key_rotation_while_a_client_resolves_never_fails_an_answer(
    node: RunningNode, http: httpx.Client, part: str
) -> None:
    before = cli(["node", "keys"], node.env).stdout.split()
    client = Resolver(node.url, part)
    client.start()
    try:
        time.sleep(0.5)
        rotated = cli(["node", "rotate-key", "--grace-hours", "1"], node.env)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(set(client.kids)) < 2:
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        client.stop.set()
        client.join(timeout=30)

    assert before[:2] == ["310", "RS256"]
    assert before[-1] == "active"
    assert "signing with RS256 key" in rotated.stdout
    assert client.failures == []
    assert client.answers > 10
    assert len(set(client.kids)) == 2
    assert client.kids[-1] != client.kids[0]
    assert sorted(published_keys(http)) == [310, 311]  # the old key is still published, for the grace period


# -- SM2 -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sm2_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    workdir = tmp_path_factory.mktemp("sm2")
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{workdir}/idnode.db", "IDNODE_SIGNING_ALG": "SM2"}
    set_up_node(env)
    process = NodeProcess(env).start(workdir)
    try:
        yield RunningNode(process.url, env, process, workdir)
    finally:
        process.stop()


def sm2_verifies(token: str, jwk: dict[str, Any]) -> bool:
    head, payload, signature = token.split(".")
    raw = unb64(signature)

    def der(part: bytes) -> bytes:
        number = int.from_bytes(part, "big")
        body = number.to_bytes(number.bit_length() // 8 + 1, "big")
        return b"\x02" + bytes([len(body)]) + body

    sequence = der(raw[:32]) + der(raw[32:])
    point = unb64(jwk["x"]) + unb64(jwk["y"])
    message = f"{head}.{payload}".encode()
    return bool(gmssl_pyx.sm2_verify(point, message, b"\x30" + bytes([len(sequence)]) + sequence))


def test_an_sm2_node_signs_with_sm2_and_sm3_and_a_tampered_answer_fails(sm2_node: RunningNode) -> None:
    with httpx.Client(base_url=sm2_node.url, timeout=30) as http:
        assert put(http, "88.999.1/COIL-1", PART_VALUES).status_code == 201
        body = signed(http, "88.999.1/COIL-1")
        jwk = published_keys(http)[310]
    head, payload, signature = body["signature"].split(".")
    claims = orjson.loads(unb64(payload))

    assert (jwk["kty"], jwk["crv"], orjson.loads(unb64(head))["alg"]) == ("EC", "SM2", "SM2")
    assert sm2_verifies(body["signature"], jwk)  # GmSSL's default signer ID, 1234567812345678
    assert claims["digests"]["alg"] == "SM3"
    check_digests(claims, body["values"], lambda raw: bytes(gmssl_pyx.sm3_hash(raw)))
    changed = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    assert not sm2_verifies(f"{head}.{changed}.{signature}", jwk)


def test_a_value_living_past_2038_is_signed_too(http: httpx.Client) -> None:
    """An absolute TTL past 2038 fits no 4-byte TTL (found by the long schemathesis run: it was a 500)."""
    handle = "88.999.1/PAST-2038"
    value = {"index": 2000, "type": "partNo", "data": "DF-1", "ttl": "2100-01-01T00:00:00Z"}
    assert put(http, handle, [value]).status_code == 201

    body = signed(http, handle, pretty="")

    assert body["values"][0]["ttl"] == "2100-01-01T00:00:00Z"
    index = issuer_index(body["signature"])
    claims = rs256_claims(body["signature"], rsa_key(published_keys(http)[index]))
    assert [d["index"] for d in claims["digests"]["digests"]] == [2000]
