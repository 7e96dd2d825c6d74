"""Envelopes, messages, request digests and version negotiation against byte vectors written out from
RFC 3652's layouts field by field (never produced by the code under test), and the framing's properties:
what is written reads back, and a cut or padded message fails with `WireError` alone."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.native.bodies import (
    ResolutionRequest,
    error_body,
    read_error,
    read_resolution,
    resolution_body,
)
from sdk.native.codes import MAX_MESSAGE, EnvelopeFlag, OpCode, OpFlag
from sdk.native.message import Envelope, Message, digest, frame, negotiated, skip_digest, unframe
from sdk.native.values import Value, encode_values
from sdk.native.wire import Reader, WireError

U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)

HANDLE = "88.118.8/PART-0001"


def be32(n: int) -> bytes:
    return struct.pack(">I", n)


def string(text: str) -> bytes:
    raw = text.encode()
    return be32(len(raw)) + raw


# --- the envelope -------------------------------------------------------------------------------------------

# major 2, minor 10; TC (0x20) with suggested major 2 in the low two bits of byte 2; suggested minor 11 in
# byte 3; session 0x01020304, request 0x0A0B0C0D, sequence 3, length 1234.
ENVELOPE = bytes([2, 10, 0x20 | 0x02, 11]) + be32(0x01020304) + be32(0x0A0B0C0D) + be32(3) + be32(1234)


def test_an_envelope_is_twenty_bytes_in_rfc_order() -> None:
    envelope = Envelope(
        major=2, minor=10, flags=EnvelopeFlag.TC, suggested_major=2, suggested_minor=11,
        session_id=0x01020304, request_id=0x0A0B0C0D, sequence=3, length=1234,
    )  # fmt: skip

    assert envelope.encode() == ENVELOPE
    assert Envelope.decode(ENVELOPE) == envelope
    assert Envelope.decode(memoryview(ENVELOPE)) == envelope


def test_the_suggested_version_shares_byte_two_with_the_flags() -> None:
    # Bits 0x1C of byte 2 mean nothing: neither a flag nor the suggestion.
    raw = bytes([2, 5, 0xFF, 7]) + bytes(16)
    envelope = Envelope.decode(raw)

    assert envelope.flags == EnvelopeFlag.CP | EnvelopeFlag.EC | EnvelopeFlag.TC
    assert Envelope.decode(bytes([2, 5, 0x1C | 0x01, 7]) + bytes(16)).flags == EnvelopeFlag.NONE
    assert (envelope.suggested_major, envelope.suggested_minor) == (3, 7)
    assert Envelope(2, 5, EnvelopeFlag.NONE, 1, 0).encode()[2:4] == b"\x01\x00"


def test_no_suggested_major_means_the_envelopes_own_version() -> None:
    # An older sender leaves the low bits zero; whatever byte 3 holds, it wants its own version.
    envelope = Envelope.decode(bytes([2, 5, 0x80, 9]) + bytes(16))

    assert envelope.flags == EnvelopeFlag.CP
    assert (envelope.suggested_major, envelope.suggested_minor) == (2, 5)
    assert envelope.wanted == (2, 5)


def test_the_suggestion_is_what_is_negotiated() -> None:
    assert Envelope.decode(bytes([2, 11, 0x02, 3]) + bytes(16)).wanted == (2, 3)
    assert Envelope.decode(bytes([2, 3, 0x02, 11]) + bytes(16)).wanted == (2, 11)
    assert Envelope.decode(bytes([2, 11, 0x03, 0]) + bytes(16)).wanted == (2, 11)


@pytest.mark.parametrize("length", [0, 1, MAX_MESSAGE])
def test_lengths_up_to_the_limit_are_taken(length: int) -> None:
    assert Envelope.decode(bytes([2, 11, 2, 11]) + bytes(12) + be32(length)).length == length


@pytest.mark.parametrize("length", [MAX_MESSAGE + 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])
def test_a_length_over_the_limit_is_refused(length: int) -> None:
    with pytest.raises(WireError, match="longer than"):
        Envelope.decode(bytes([2, 11, 2, 11]) + bytes(12) + be32(length))


@pytest.mark.parametrize("size", [0, 1, 19])
def test_a_short_envelope_is_refused(size: int) -> None:
    with pytest.raises(WireError, match="20 bytes"):
        Envelope.decode(ENVELOPE[:size])


def test_frame_sets_the_length_and_unframe_checks_it() -> None:
    message = b"m" * 37
    framed = frame(Envelope(request_id=9, length=5), message)

    assert framed[16:20] == be32(37)
    assert framed[8:12] == be32(9)
    assert unframe(framed) == (Envelope(request_id=9, length=37), message)
    for wrong in (framed[:-1], framed + b"\0", framed[:20]):
        with pytest.raises(WireError, match="envelope says"):
            unframe(wrong)


def test_an_answer_envelope_echoes_the_request_and_suggests_ours() -> None:
    request = Envelope.decode(bytes([2, 10, 0x20 | 2, 10]) + be32(4) + be32(77) + be32(2) + be32(10))
    answer = request.answer(length=99, version=(2, 10))

    assert answer.encode() == bytes([2, 10, 0x02, 11]) + be32(4) + be32(77) + be32(0) + be32(99)


ENVELOPE_FLAGS = st.integers(0, 7).map(lambda bits: EnvelopeFlag(bits << 5))


@given(U8, U8, ENVELOPE_FLAGS, st.integers(1, 3), U8, U32, U32, U32, st.integers(0, MAX_MESSAGE))
def test_an_envelope_reads_back(
    major: int, minor: int, flags: EnvelopeFlag, s_major: int, s_minor: int, session: int, request: int,
    sequence: int, length: int,
) -> None:  # fmt: skip
    envelope = Envelope(major, minor, flags, s_major, s_minor, session, request, sequence, length)
    raw = envelope.encode()

    assert len(raw) == 20
    assert Envelope.decode(raw) == envelope
    assert Envelope.decode(raw + b"message follows") == envelope


@given(st.binary(min_size=20, max_size=40))
def test_any_twenty_bytes_are_an_envelope_or_too_long(raw: bytes) -> None:
    try:
        envelope = Envelope.decode(raw)
    except WireError:
        assert struct.unpack_from(">I", raw, 16)[0] > MAX_MESSAGE
    else:
        assert envelope.length <= MAX_MESSAGE
        assert envelope.encode()[:2] == raw[:2]
        assert envelope.encode()[4:] == raw[4:20]


# --- a resolution request -----------------------------------------------------------------------------------

REQUEST_BODY = (
    string(HANDLE)  # handle
    + be32(2) + struct.pack(">i", 100) + struct.pack(">i", -1)  # index list
    + be32(2) + string("URL") + string("HS_ADMIN")  # type list
)  # fmt: skip
REQUEST = (
    be32(1)  # 0: opcode RESOLUTION
    + be32(0)  # 4: response code, 0 in a request
    + be32(0x80000000 | 0x00800000 | 0x00000002)  # 8: AT | RD | CAICT trusted query
    + struct.pack(">H", 0x1234)  # 12: site-info serial
    + bytes([3])  # 14: recursion count
    + bytes([0])  # 15: reserved
    + be32(1_700_000_000)  # 16: expiration
    + be32(len(REQUEST_BODY))  # 20: body length
    + REQUEST_BODY
    + be32(0)  # credential length: unsigned
)  # fmt: skip
REQUEST_MESSAGE = Message(
    opcode=OpCode.RESOLUTION, response_code=0, flags=OpFlag.AT | OpFlag.RD | OpFlag.TRUSTED_QUERY,
    body=REQUEST_BODY, site_serial=0x1234, recursion=3, expiration=1_700_000_000,
)  # fmt: skip


def test_a_resolution_request_is_laid_out_as_the_rfc_says() -> None:
    assert REQUEST_MESSAGE.encode() == REQUEST
    assert REQUEST_MESSAGE.header() == REQUEST[:24]
    assert REQUEST_MESSAGE.signed_part() == REQUEST[: 24 + len(REQUEST_BODY)]
    assert ResolutionRequest(HANDLE, (100, -1), ("URL", "HS_ADMIN")).encode() == REQUEST_BODY


def test_a_resolution_request_reads_back_from_its_bytes() -> None:
    message = Message.decode(REQUEST)

    assert message == REQUEST_MESSAGE
    assert message.has(OpFlag.RD)
    assert not message.has(OpFlag.CT)
    assert message.credential == b""
    assert ResolutionRequest.decode(message.body) == ResolutionRequest(HANDLE, (100, -1), ("URL", "HS_ADMIN"))


def test_an_empty_resolution_request_means_every_value() -> None:
    body = string(HANDLE) + be32(0) + be32(0)

    assert ResolutionRequest.decode(body) == ResolutionRequest(HANDLE)
    assert ResolutionRequest(HANDLE).encode() == body


def test_a_resolution_request_refuses_long_or_non_utf8_handles_and_trailing_bytes() -> None:
    with pytest.raises(WireError) as too_long:
        ResolutionRequest.decode(string("x" * 2049) + be32(0) + be32(0))
    assert too_long.value.code == 102
    assert ResolutionRequest.decode(string("x" * 2048) + be32(0) + be32(0)).handle == "x" * 2048
    with pytest.raises(WireError) as not_utf8:
        ResolutionRequest.decode(be32(2) + b"\xff\xfe" + be32(0) + be32(0))
    assert not_utf8.value.code == 102
    with pytest.raises(WireError, match="unexpected"):
        ResolutionRequest.decode(REQUEST_BODY + b"\0")


def test_a_credential_follows_the_body() -> None:
    raw = REQUEST[:-4] + be32(5) + b"CREDS"

    assert Message.decode(raw).credential == b"CREDS"
    assert Message.decode(raw).body == REQUEST_BODY


def test_the_reserved_header_byte_is_ignored_and_written_as_zero() -> None:
    raw = REQUEST[:15] + b"\xff" + REQUEST[16:]

    assert Message.decode(raw) == REQUEST_MESSAGE
    assert Message.decode(raw).encode() == REQUEST


def test_a_body_length_past_the_end_or_short_of_it_is_refused() -> None:
    with pytest.raises(WireError, match="message body"):
        Message.decode(REQUEST[:20] + be32(0xFFFFFFFF) + REQUEST[24:])
    # A body length one short leaves the credential length misread: still refused.
    with pytest.raises(WireError):
        Message.decode(REQUEST[:20] + be32(len(REQUEST_BODY) - 1) + REQUEST[24:])


# --- answers, with and without the request's digest ---------------------------------------------------------

# One value: index 1, timestamp, TTL type 0, TTL 86400, permissions 1110, type, data, no references.
VALUE = (
    struct.pack(">i", 1) + be32(1_600_000_000) + bytes([0]) + be32(86_400) + bytes([0b1110])
    + string("URL") + string("https://example.com/p/1") + be32(0)
)  # fmt: skip
VALUES = be32(1) + VALUE
THE_VALUE = Value(1, "URL", b"https://example.com/p/1", timestamp=1_600_000_000)


def answer(flags: int, body: bytes, code: int = 1) -> bytes:
    return (
        be32(1) + be32(code) + be32(flags) + bytes(4) + be32(1_700_043_200) + be32(len(body)) + body + be32(0)
    )


@pytest.mark.parametrize(
    ("version", "hash_type", "hash_name"),
    [((2, 11), 3, "sha256"), ((2, 7), 3, "sha256"), ((2, 6), 2, "sha1"), ((2, 1), 2, "sha1")],
)
def test_the_request_digest_is_of_header_and_body(
    version: tuple[int, int], hash_type: int, hash_name: str
) -> None:
    header_and_body = REQUEST[: 24 + len(REQUEST_BODY)]
    expected = bytes([hash_type]) + hashlib.new(hash_name, header_and_body).digest()

    assert digest(REQUEST_MESSAGE.signed_part(), version) == expected
    # The credential is not part of it.
    signed = Message.decode(REQUEST[:-4] + be32(3) + b"sig")
    assert digest(signed.signed_part(), version) == expected


def test_an_answer_with_a_digest_starts_with_it() -> None:
    rd = bytes([3]) + hashlib.sha256(REQUEST[: 24 + len(REQUEST_BODY)]).digest()
    raw = answer(0x00800000, rd + string(HANDLE) + VALUES)

    assert resolution_body(HANDLE.encode(), encode_values([THE_VALUE]), rd) == rd + string(HANDLE) + VALUES
    response = read_resolution(Message.decode(raw))
    assert (response.handle, response.values, response.digest) == (HANDLE, (THE_VALUE,), rd)


def test_an_answer_without_rd_has_no_digest() -> None:
    raw = answer(0, string(HANDLE) + VALUES)

    response = read_resolution(Message.decode(raw))
    assert (response.handle, response.values, response.digest) == (HANDLE, (THE_VALUE,), b"")
    # The same body read as if it had a digest: its first byte (0) names no hash.
    with pytest.raises(WireError, match="digest type"):
        read_resolution(Message(1, 1, OpFlag.RD, string(HANDLE) + VALUES))


def test_a_sha1_and_an_md5_digest_are_taken_by_their_sizes() -> None:
    sha1 = bytes([2]) + hashlib.sha1(b"x").digest()
    md5 = bytes([1]) + hashlib.md5(b"x").digest()

    for rd in (sha1, md5):
        response = read_resolution(Message(1, 1, OpFlag.RD, rd + string(HANDLE) + be32(0)))
        assert (response.digest, response.handle, response.values) == (rd, HANDLE, ())
    assert skip_digest(Reader(sha1 + b"rest")) == sha1
    with pytest.raises(WireError, match="request digest"):
        skip_digest(Reader(sha1[:-1]))
    with pytest.raises(WireError, match="unknown"):
        skip_digest(Reader(bytes([4]) + bytes(32)))


def test_an_error_answer_is_its_message_after_any_digest() -> None:
    rd = bytes([2]) + hashlib.sha1(b"request").digest()

    assert error_body("no such handle", rd) == rd + string("no such handle")
    assert (
        read_error(Message.decode(answer(0x00800000, rd + string("no such handle"), 100))) == "no such handle"
    )
    assert read_error(Message.decode(answer(0, string("busy"), 3))) == "busy"
    assert read_error(Message.decode(answer(0, b"", 2))) == ""
    assert read_error(Message(1, 2, OpFlag.NONE, be32(2) + b"\xff!")) == "\ufffd!"


# --- version negotiation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("minor", range(1, 12))
def test_a_2x_peer_from_2_1_on_is_answered_in_its_own_version(minor: int) -> None:
    assert negotiated(2, minor) == (2, minor)


@pytest.mark.parametrize(
    ("peer", "answered"),
    [((2, 0), (2, 1)), ((1, 0), (2, 1)), ((1, 255), (2, 1)), ((0, 0), (2, 1)), ((2, 12), (2, 11)),
     ((3, 0), (2, 11)), ((255, 255), (2, 11))],
)  # fmt: skip
def test_older_peers_get_2_1_and_newer_ones_ours(peer: tuple[int, int], answered: tuple[int, int]) -> None:
    assert negotiated(*peer) == answered


# --- messages of any fields ---------------------------------------------------------------------------------

MESSAGES = st.builds(
    Message,
    opcode=U32,
    response_code=U32,
    flags=U32.map(OpFlag),
    body=st.binary(max_size=300),
    credential=st.binary(max_size=100),
    site_serial=U16,
    recursion=U8,
    expiration=U32,
)


@given(MESSAGES)
def test_a_message_reads_back(message: Message) -> None:
    raw = message.encode()

    assert len(raw) == 24 + len(message.body) + 4 + len(message.credential)
    assert raw[20:24] == be32(len(message.body))
    assert raw[24 + len(message.body) : 28 + len(message.body)] == be32(len(message.credential))
    assert Message.decode(raw) == message


@given(MESSAGES, st.data())
def test_a_cut_message_is_refused_with_wire_error(message: Message, data: st.DataObject) -> None:
    raw = message.encode()
    end_of_body = 24 + len(message.body)
    cut = data.draw(st.integers(0, len(raw) - 1).filter(lambda n: n != end_of_body), label="cut")

    with pytest.raises(WireError):
        Message.decode(raw[:cut])


@given(MESSAGES)
def test_a_message_that_ends_after_its_body_has_no_credential(message: Message) -> None:
    """How the idpointer SDK sends its logins: no credential length at all."""
    cut = message.encode()[: 24 + len(message.body)]
    assert Message.decode(cut) == replace(message, credential=b"")


@given(MESSAGES, st.binary(min_size=1, max_size=8))
def test_a_message_with_bytes_after_it_is_refused(message: Message, extra: bytes) -> None:
    with pytest.raises(WireError):
        Message.decode(message.encode() + extra)


@given(MESSAGES, st.data())
def test_a_framed_message_cut_or_padded_is_refused(message: Message, data: st.DataObject) -> None:
    framed = frame(Envelope(request_id=1), message.encode())
    cut = data.draw(st.integers(0, len(framed) - 1), label="cut")

    assert unframe(framed)[1] == message.encode()
    with pytest.raises(WireError):
        unframe(framed[:cut])
    with pytest.raises(WireError):
        unframe(framed + b"\0")
