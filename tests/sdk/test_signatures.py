"""The SDK's checks of what the node signs and of record value signatures, against a running node; and that
they fail closed: a missing, forged or stale signature raises `SignatureError`, never returns a record."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from registry.trust import value_bytes as node_value_bytes
from sdk import NodeClient, SignatureError, SigningKey, sign_record
from sdk._trust import value_bytes as sdk_value_bytes
from sdk.testing import FakeNode
from tests.conftest import ACME, ACME_SECRET, NODE_PREFIX
from tests.resolver.conftest import set_up_node
from tests.support import NodeProcess, cli

USER = f"300:0.NA/{ACME}"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, dict[str, str], Path]]:
    folder = tmp_path_factory.mktemp("signed")
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{folder}/idnode.db"}
    set_up_node(env)
    node = NodeProcess(env).start(folder)
    try:
        yield node, env, folder
    finally:
        node.stop()


@pytest.fixture
def client(running: tuple[NodeProcess, dict[str, str], Path]) -> Iterator[NodeClient]:
    with NodeClient(running[0].url, username=USER, secret=ACME_SECRET, node_prefix=NODE_PREFIX) as made:
        yield made


@pytest.fixture(scope="module")
def acme_key(running: tuple[NodeProcess, dict[str, str], Path]) -> SigningKey:
    """The enterprise's RSA key in a PEM file, certified by the node as 301:0.NA/88.999.1."""
    _, env, folder = running
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = folder / "acme.pem"
    pem.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = folder / "acme.pub.pem"
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    done = cli(["enterprise", "certify-key", "--prefix", ACME, "--key", str(public)], env)
    assert f"as 301:0.NA/{ACME}" in done.stdout
    return SigningKey.from_pem(str(pem), issuer=f"301:0.NA/{ACME}")


def test_a_signed_resolution_is_checked_and_returned(client: NodeClient) -> None:
    client.register(f"{ACME}/PART-S1", {"URL": "https://mes.example.com/s1", "batch": "B1"})

    record = client.resolve(f"{ACME}/PART-S1", signed=True)

    assert record is not None
    assert record.get("batch") == "B1"
    assert client.resolve(f"{ACME}/NO-SUCH", signed=True) is None  # "not found" is signed too


def test_a_signature_by_a_key_the_client_does_not_trust_fails_closed(
    running: tuple[NodeProcess, dict[str, str], Path], client: NodeClient
) -> None:
    client.register(f"{ACME}/PART-S2", {"URL": "https://mes.example.com/s2"})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
    modulus = base64.urlsafe_b64encode(stranger.n.to_bytes(256, "big")).decode()
    pinned = {"kty": "RSA", "e": "AQAB", "n": modulus}

    with (
        NodeClient(running[0].url, node_keys=[pinned]) as pinned_client,
        pytest.raises(SignatureError, match="not one of the node keys"),
    ):
        pinned_client.resolve(f"{ACME}/PART-S2", signed=True)
    with NodeClient(running[0].url) as untrusting, pytest.raises(SignatureError, match="node_prefix"):
        untrusting.resolve(f"{ACME}/PART-S2", signed=True)


def test_an_answer_without_a_signature_fails_closed() -> None:
    fake = FakeNode(users={ACME: ACME_SECRET})  # a node (or a man in the middle) that does not sign
    options: dict[str, Any] = {"username": USER, "secret": ACME_SECRET, "transport": fake}
    with NodeClient("http://fake", node_prefix=NODE_PREFIX, **options) as c:
        c.register(f"{ACME}/PART-F", {"URL": "https://x"})
        assert c.resolve(f"{ACME}/PART-F") is not None

        with pytest.raises(SignatureError, match="not signed"):
            c.resolve(f"{ACME}/PART-F", signed=True)


def test_a_record_signed_with_the_certified_enterprise_key_verifies(
    client: NodeClient, acme_key: SigningKey
) -> None:
    client.register(f"{ACME}/COIL-V1", {"heatNo": "H26001", "grade": "Q355B"})
    client.sign(f"{ACME}/COIL-V1", acme_key)

    verified = client.verify_record(f"{ACME}/COIL-V1")

    assert verified.record.get("grade") == "Q355B"
    assert set(verified.signed.values()) == {f"301:0.NA/{ACME}"}
    assert sorted(verified.signed) == [1, 2]


def test_a_record_changed_after_signing_or_never_signed_fails_closed(
    client: NodeClient, acme_key: SigningKey
) -> None:
    client.register(f"{ACME}/COIL-V2", {"heatNo": "H26002", "grade": "Q355B"})
    client.sign(f"{ACME}/COIL-V2", acme_key)
    client.update(f"{ACME}/COIL-V2", {"heatNo": "H26002", "grade": "Q235B"})  # SNMS keeps the old signature
    client.register(f"{ACME}/COIL-V3", {"heatNo": "H26003"})

    with pytest.raises(SignatureError, match="not signed"):
        client.verify_record(f"{ACME}/COIL-V2")
    with pytest.raises(SignatureError, match="no HS_SIGNATURE"):
        client.verify_record(f"{ACME}/COIL-V3")
    client.sign(f"{ACME}/COIL-V2", acme_key)  # signed again after the change: good again
    assert client.verify_record(f"{ACME}/COIL-V2").signed


def test_a_key_the_node_did_not_certify_does_not_verify(client: NodeClient) -> None:
    rogue = SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), f"301:0.NA/{ACME}")
    client.register(f"{ACME}/COIL-V4", {"heatNo": "H26004"})
    client.sign(f"{ACME}/COIL-V4", rogue)

    with pytest.raises(SignatureError, match="does not verify"):
        client.verify_record(f"{ACME}/COIL-V4")


ADMIN = {"handle": "0.NA/88.999.1", "index": 200, "permissions": "011111110011"}
VALUES: list[dict[str, Any]] = [
    {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://例え.jp/p"}, "ttl": 86400},
    {"index": 2, "type": "X", "data": "bare", "ttl": "2027-01-01T00:00:00Z", "permissions": "1110"},
    {"index": 3, "type": "B", "data": {"format": "base64", "value": "AAEC"}, "ttl": 0, "permissions": "1100"},
    {"index": 4, "type": "H", "data": {"format": "hex", "value": "00ff"},
     "references": [{"handle": "88.1/a", "index": 7}]},
    {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": ADMIN}},
    {"index": 200, "type": "HS_VLIST",
     "data": {"format": "vlist", "value": [{"handle": "0.NA/88.999.1", "index": 300}]}},
    {"index": 310, "type": "HS_PUBKEY",
     "data": {"format": "key", "value": {"kty": "RSA", "e": "AQAB", "n": "x" * 342}}},
    {"index": 311, "type": "HS_PUBKEY",
     "data": {"format": "key", "value": {"kty": "EC", "crv": "SM2", "x": "a", "y": "b"}}},
    {"index": 5, "type": "HS_SITE", "data": {"format": "site", "value": {"version": 1, "servers": []}}},
]  # fmt: skip


@pytest.mark.parametrize("value", VALUES, ids=[str(v["index"]) for v in VALUES])
def test_the_sdk_and_the_node_digest_every_kind_of_value_alike(value: dict[str, Any]) -> None:
    assert sdk_value_bytes(value) == node_value_bytes(value)


def test_the_sdk_and_the_node_digest_a_ttl_past_2038_alike() -> None:
    """No 4-byte TTL holds it: both take 8 bytes."""
    value = {"index": 6, "type": "X", "data": "beyond 2038", "ttl": "2100-01-01T00:00:00Z"}

    assert sdk_value_bytes(value) == node_value_bytes(value)


def test_sign_record_makes_an_hs_signature_value_over_the_public_values() -> None:
    key = SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), f"301:0.NA/{ACME}")

    value = sign_record(f"{ACME}/X", VALUES[:3], private_key=key)
    claims = orjson.loads(base64.urlsafe_b64decode(value["data"]["value"].split(".")[1] + "=="))

    assert (value["index"], value["type"]) == (400, "HS_SIGNATURE")
    assert [d["index"] for d in claims["digests"]["digests"]] == [1, 2]  # index 3 is not publicly readable
    assert claims["iss"] == f"301:0.NA/{ACME}"
