"""The node's signing keys and value signatures, on SQLite and PostgreSQL: made at set-up, published,
rotated with a grace period; HS_SIGNATURE values made with an enterprise's key that the node certified."""

from __future__ import annotations

import base64
import hashlib

import gmssl_pyx
import orjson
import pytest

from registry import Handle, HandleValue, Principal, Services, SignatureInvalid
from registry.node_signing import KEY_INDEXES
from registry.signing import SM2, KeyPair, public_key_from_jwk
from registry.trust import CERT_INDEX, HS_CERT, value_bytes
from registry.value_signatures import sign_values
from tests.conftest import ACME

PART = Handle.parse(f"{ACME}/PART-0001")
# GB/T 32918.5 (GM/T 0003.5): signature of "message digest" with ID 1234567812345678 on the SM2 curve.
SM2_PUBLIC = bytes.fromhex(
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
SM2_SIGNATURE = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _prefix_values(services: Services, prefix: str = "88.999") -> list[dict[str, object]]:
    stored = await services.store.points.one(f"0.NA/{prefix}")
    assert stored is not None
    return list(orjson.loads(stored))


def test_the_sm2_key_checks_the_standard_test_vector_and_refuses_a_changed_message() -> None:
    key = public_key_from_jwk(
        {"kty": "EC", "crv": "SM2", "x": _b64url(SM2_PUBLIC[:32]), "y": _b64url(SM2_PUBLIC[32:])}
    )

    assert key.verifies(b"message digest", SM2_SIGNATURE)
    assert not key.verifies(b"message digesT", SM2_SIGNATURE)


def test_an_sm2_key_pair_signs_what_gmssl_verifies_with_sm3_and_the_default_id() -> None:
    pair = KeyPair.generate(SM2)
    point = base64.urlsafe_b64decode(pair.public.members["x"] + "=") + base64.urlsafe_b64decode(
        pair.public.members["y"] + "="
    )
    raw = pair.sign(b"coil C0001")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")

    def der(n: int) -> bytes:
        body = n.to_bytes(n.bit_length() // 8 + 1, "big")
        return b"\x02" + bytes([len(body)]) + body

    signature = b"\x30" + bytes([len(der(r) + der(s))]) + der(r) + der(s)
    assert gmssl_pyx.sm2_verify(point, b"coil C0001", signature, signer_id=b"1234567812345678")
    assert KeyPair.from_private_bytes(SM2, pair.private_bytes()).public == pair.public


async def test_the_node_publishes_its_signing_key_in_its_prefix_handle(services: Services) -> None:
    ring = await services.signing.ring()
    values = await _prefix_values(services)

    assert ring is not None
    assert ring.active.index == KEY_INDEXES[0]
    published = [v for v in values if v["type"] == "HS_PUBKEY"]
    assert [v["index"] for v in published] == [KEY_INDEXES[0]]
    assert published[0]["data"]["format"] == "key"  # type: ignore[index]
    assert public_key_from_jwk(published[0]["data"]["value"]) == ring.active.public  # type: ignore[index]
    assert "permissions" not in published[0]  # publicly readable
    assert "private" not in orjson.dumps(values).decode()


async def test_rotation_publishes_both_keys_for_the_grace_period_and_signs_with_the_new(
    services: Services,
) -> None:
    old, new = await services.signing.rotate(grace=3600)
    ring = await services.signing.ring()
    signer = await services.signing.signer()
    values = await _prefix_values(services)

    assert old.kid != new.kid
    assert signer.kid == new.kid
    assert signer.issuer == f"{new.index}:0.NA/88.999"
    assert sorted(v["index"] for v in values if v["type"] == "HS_PUBKEY") == [old.index, new.index]
    assert ring is not None
    assert [k.retired is not None for k in ring.keys] == [True, False]

    await services.signing.rotate(grace=0)  # a key retired without grace (compromised) is unpublished at once
    values = await _prefix_values(services)

    published = [v["index"] for v in values if v["type"] == "HS_PUBKEY"]
    assert old.index in published
    assert new.index not in published
    assert len(published) == 2


async def test_a_node_started_without_a_key_makes_one(services: Services) -> None:
    async with services.store.writer.begin() as conn:
        from sqlalchemy import delete

        from registry.store.schema import node

        await conn.execute(delete(node).where(node.c.key == "signing_keys"))

    ring = await services.signing.ensure(SM2)

    assert ring.active.public.alg == SM2
    assert (await services.signing.signer()).key.alg == SM2


async def _certified_acme(services: Services) -> KeyPair:
    acme_key = KeyPair.generate()
    await services.signing.certify(ACME, acme_key.public)
    return acme_key


async def _signed_part(services: Services, acme: Principal, acme_key: KeyPair) -> list[HandleValue]:
    values = [
        HandleValue.text(1, "URL", "https://mes.example.com/p/1"),
        HandleValue.text(2000, "batch", "B7"),
    ]
    await services.records.put_record(acme, PART, values)
    signature = sign_values(str(PART), values, acme_key, f"301:0.NA/{ACME}", now=int(services.writer.clock()))
    await services.records.put_values(acme, PART, [signature])
    return values


async def test_value_signatures_by_a_certified_enterprise_key_verify(
    services: Services, acme: Principal
) -> None:
    await _signed_part(services, acme, await _certified_acme(services))

    report = await services.signing.verify(PART)

    assert report.signed == {1: f"301:0.NA/{ACME}", 2000: f"301:0.NA/{ACME}"}


async def test_a_changed_value_or_an_uncertified_key_fails_verification(
    services: Services, acme: Principal
) -> None:
    await _signed_part(services, acme, await _certified_acme(services))
    await services.records.put_values(acme, PART, [HandleValue.text(2000, "batch", "B8")])

    with pytest.raises(SignatureInvalid, match=r"index \[2000\]"):
        await services.signing.verify(PART)

    stranger = KeyPair.generate()  # signs as 301:0.NA/88.999.1, but the certificate names another key
    values = await _signed_part(services, acme, await _certified_acme(services))
    forged = sign_values(str(PART), values, stranger, f"301:0.NA/{ACME}", now=int(services.writer.clock()))
    await services.records.put_values(acme, PART, [forged])
    with pytest.raises(SignatureInvalid, match="does not verify"):
        await services.signing.verify(PART)


async def test_a_record_without_signatures_fails_closed(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, PART, [HandleValue.text(1, "URL", "https://x")])

    with pytest.raises(SignatureInvalid, match="no HS_SIGNATURE"):
        await services.signing.verify(PART)


async def test_rotation_issues_the_enterprise_certificates_again(services: Services, acme: Principal) -> None:
    await _signed_part(services, acme, await _certified_acme(services))

    _, new = await services.signing.rotate(grace=0)
    certs = [v for v in await _prefix_values(services, ACME) if v["type"] == HS_CERT]

    assert [v["index"] for v in certs] == [CERT_INDEX]
    claims = orjson.loads(base64.urlsafe_b64decode(certs[0]["data"]["value"].split(".")[1] + "=="))  # type: ignore[index]
    assert claims["iss"] == f"{new.index}:0.NA/88.999"
    assert (await services.signing.verify(PART)).signed  # the old key is gone; the chain holds


def test_a_value_digest_covers_what_the_handle_system_digests() -> None:
    """The binary form from the TTL type on: ttl type, ttl, permissions, type, data, references."""
    value = {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://x"}, "ttl": 3600}

    expected = (
        b"\x00" + (3600).to_bytes(4, "big") + b"\x0e" + b"\0\0\0\x03URL" + b"\0\0\0\x09https://x" + b"\0" * 4
    )
    assert value_bytes(value) == expected
    assert hashlib.sha256(expected).digest()
