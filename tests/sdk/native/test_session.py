"""The session codec against byte layouts written out by hand from the Handle.Net library's encoder, and
round trips of every field (hypothesis)."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.native.credential import HS_MAC, Signature
from sdk.native.message import Envelope, Message
from sdk.native.session import (
    MODP_2048,
    ClientSession,
    DhPrivate,
    DhPublic,
    KeyExchange,
    SessionSetup,
    SessionSetupAnswer,
    mac,
    mac_verifies,
    session_key,
)
from sdk.native.wire import Reader, WireError


def text(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def test_a_setup_body_is_laid_out_as_the_library_writes_it() -> None:
    body = SessionSetup(KeyExchange.DH, 86400, "0.NA/88.118.8", 300, b"KEY").encode()
    assert (
        body
        == (
            b"\x00\x04"
            + struct.pack(">i", 86400)
            + text(b"0.NA/88.118.8")
            + struct.pack(">i", 300)
            + text(b"KEY")
        )
        + b"\x00\x00"
    )  # the 2 bytes the library counts for its 2-byte mode


def test_a_setup_body_without_the_trailing_zeros_is_read_too_and_other_trailing_bytes_are_not() -> None:
    body = SessionSetup(KeyExchange.DH, 60, "h", 1, b"K").encode()
    assert SessionSetup.decode(body[:-2]) == SessionSetup.decode(body)
    with pytest.raises(WireError):
        SessionSetup.decode(body[:-2] + b"\x00\x01")
    with pytest.raises(WireError):
        SessionSetup.decode(body + b"\x00")


def test_a_dh_key_is_the_handle_systems_dh_pub_key() -> None:
    key = DhPublic(0x80, 0xFF, 2).encode()
    # y, p and g as Java's BigInteger.toByteArray: a leading zero byte where the high bit is set
    assert key == text(b"DH_PUB_KEY") + b"\x00\x00" + text(b"\x00\x80") + text(b"\x00\xff") + text(b"\x02")
    assert DhPublic.decode(key) == DhPublic(0x80, 0xFF, 2)


def test_group_14_is_a_prime_of_2048_bits() -> None:
    assert MODP_2048.bit_length() == 2048
    assert pow(3, MODP_2048 - 1, MODP_2048) == 1  # Fermat: what a wrong digit breaks


def test_both_ends_agree_on_one_key_and_trivial_values_are_refused() -> None:
    client, server = DhPrivate.generate(MODP_2048, 2), DhPrivate.generate(MODP_2048, 2)
    assert client.shared_key(server.public) == server.shared_key(client.public)
    assert len(client.shared_key(server.public)) == 32
    for y in (0, 1, MODP_2048 - 1, MODP_2048):
        with pytest.raises(WireError):
            server.shared_key(DhPublic(y, MODP_2048, 2))
    with pytest.raises(WireError):
        DhPublic(5, 2**521 - 1, 2).check()  # a prime too small to keep a key


def test_the_session_key_skips_leading_zeros_while_32_bytes_remain() -> None:
    assert session_key(b"\x00\x00" + bytes(range(1, 40))) == bytes(range(1, 33))
    assert session_key(bytes(32)) == bytes(32)


def test_the_answer_carries_the_algorithm_and_the_servers_value() -> None:
    public = DhPublic(7, MODP_2048, 2)
    encoded = SessionSetupAnswer.dh(public).encode()
    assert encoded[:2] == b"\x00\x04"
    assert encoded[6:10] == b"\x00\x00\x00\x03"  # AES
    assert encoded[-2:] == b"\x00\x00"
    assert SessionSetupAnswer.decode(Reader(encoded)).dh_public() == public


def test_a_mac_is_hmac_sha256_over_versions_ids_counter_header_and_body() -> None:
    key = b"k" * 32
    message = Message(100, 0, body=b"body", expiration=1_700_000_000)
    envelope = Envelope(2, 11, suggested_major=2, suggested_minor=11, session_id=9, request_id=4)
    expected = hmac.digest(
        key, b"\x02\x0b\x02\x0b" + struct.pack(">III", 9, 4, 3) + message.signed_part(), hashlib.sha256
    )
    credential = mac(key, envelope, message.signed_part(), 3)
    assert credential.signature == expected
    decoded = Signature.decode(credential.encode())
    assert decoded.kind == HS_MAC
    assert decoded.counter == 3
    assert mac_verifies(key, envelope, message.signed_part(), decoded)
    assert not mac_verifies(b"x" * 32, envelope, message.signed_part(), decoded)
    other_request = Envelope(2, 11, suggested_major=2, suggested_minor=11, session_id=9, request_id=5)
    assert not mac_verifies(key, other_request, message.signed_part(), decoded)


def test_a_client_session_counts_its_messages_from_one() -> None:
    session = ClientSession(9, b"k" * 32)
    envelope = Envelope(session_id=9, request_id=1)
    first, second = (Message.decode(session.sealed(Message(100))(envelope)) for _ in range(2))
    assert [Signature.decode(m.credential).counter for m in (first, second)] == [1, 2]


identities = st.text(max_size=40)
ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)


@given(st.sampled_from(list(KeyExchange)), ints, identities, ints, st.binary(max_size=300), identities, ints)
def test_setup_bodies_round_trip(
    mode: int, timeout: int, identity: str, index: int, key: bytes, key_handle: str, key_index: int
) -> None:
    setup = SessionSetup(mode, timeout, identity, index)
    if mode in (KeyExchange.CIPHER_CLIENT, KeyExchange.DH):
        setup = SessionSetup(mode, timeout, identity, index, public_key=key)
    elif mode == KeyExchange.CIPHER_HDL:
        setup = SessionSetup(mode, timeout, identity, index, key_handle=key_handle, key_index=key_index)
    assert SessionSetup.decode(setup.encode()) == setup


@given(st.integers(min_value=1, max_value=2**4096), st.integers(min_value=1, max_value=2**4096))
def test_dh_keys_round_trip(y: int, p: int) -> None:
    assert DhPublic.decode(DhPublic(y, p, 2).encode()) == DhPublic(y, p, 2)
