"""Messages over UDP: split into datagrams of at most 512 bytes (each envelope read here field by field, not
by the code under test), and put together again whatever order, repetition or interleaving the parts arrive
in, within the bounds on what is held and for how long."""

from __future__ import annotations

import random
import struct
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.native.codes import EnvelopeFlag
from sdk.native.message import Envelope
from sdk.native.udp import Reassembly, datagrams, split_datagram
from sdk.native.wire import WireError

TC = 0x20
REQUEST = Envelope(major=2, minor=10, suggested_major=2, suggested_minor=10, session_id=7, request_id=4242)


def message_of(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def fields(datagram: bytes) -> dict[str, int]:
    major, minor, flag, s_minor, session, request, sequence, length = struct.unpack_from(
        ">BBBBIIII", datagram
    )
    return {
        "major": major, "minor": minor, "flag": flag, "suggested_minor": s_minor, "session": session,
        "request": request, "sequence": sequence, "length": length,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("size", "count"), [(0, 1), (1, 1), (491, 1), (492, 1), (493, 2), (984, 2), (985, 3), (10_000, 21)]
)
def test_a_message_is_split_into_datagrams_of_at_most_512_bytes(size: int, count: int) -> None:
    message = message_of(size)
    parts = datagrams(REQUEST, message)

    assert len(parts) == count
    assert all(len(part) <= 512 for part in parts)
    assert all(len(part) == 512 for part in parts[:-1])
    assert b"".join(part[20:] for part in parts) == message
    for n, part in enumerate(parts):
        head = fields(part)
        assert head["sequence"] == n
        assert head["length"] == size  # the whole message's, in every part
        assert (head["session"], head["request"], head["major"], head["minor"]) == (7, 4242, 2, 10)
        assert bool(head["flag"] & TC) == (count > 1)  # TC only on split messages
        assert head["flag"] & 0x03 == 2  # the suggested major survives
        assert head["suggested_minor"] == 10


def test_a_split_message_keeps_the_other_envelope_flags() -> None:
    parts = datagrams(Envelope(flags=EnvelopeFlag.EC), message_of(600))

    assert [fields(part)["flag"] & 0xE0 for part in parts] == [0x40 | TC, 0x40 | TC]
    assert fields(datagrams(Envelope(flags=EnvelopeFlag.EC), b"x")[0])["flag"] & 0xE0 == 0x40


def test_the_envelope_given_does_not_decide_the_sequence_or_length() -> None:
    (only,) = datagrams(Envelope(sequence=9, length=12345), b"abc")

    assert (fields(only)["sequence"], fields(only)["length"]) == (0, 3)


def feed(reassembly: Reassembly, parts: list[bytes], sender: object = "peer") -> list[bytes]:
    """Every whole message the parts complete, in the order completed."""
    done = []
    for part in parts:
        envelope, payload = split_datagram(part)
        message = reassembly.add(sender, envelope, payload)
        if message is not None:
            done.append(message)
    return done


@pytest.mark.parametrize("size", [0, 1, 492, 493, 10_000])
def test_parts_in_order_make_the_message_with_the_last(size: int) -> None:
    message = message_of(size)
    parts = datagrams(REQUEST, message)
    reassembly = Reassembly()

    results = [reassembly.add("peer", *split_datagram(part)) for part in parts]
    assert results[:-1] == [None] * (len(parts) - 1)
    assert results[-1] == message


@given(st.binary(max_size=3000), st.randoms(use_true_random=False))
def test_parts_in_any_order_with_repeats_make_the_message_once(message: bytes, rng: random.Random) -> None:
    parts = datagrams(REQUEST, message)
    shuffled = parts + rng.choices(parts, k=rng.randrange(3))
    rng.shuffle(shuffled)
    # A repeat of a part that arrives after the message was completed starts over: keep repeats before.
    last_new = max(shuffled.index(part) for part in parts)
    arrivals = shuffled[: last_new + 1]

    assert feed(Reassembly(), arrivals) == [message]


def test_a_repeated_part_counts_once() -> None:
    parts = datagrams(REQUEST, message_of(1500))
    reassembly = Reassembly()

    assert feed(reassembly, [parts[0], parts[0], parts[1], parts[1], parts[2]]) == []
    assert feed(reassembly, [parts[3]]) == [message_of(1500)]


def test_parts_of_requests_interleaved_come_apart() -> None:
    first, second = message_of(1200, 1), message_of(2000, 2)
    a = datagrams(Envelope(request_id=1), first)
    b = datagrams(Envelope(request_id=2), second)
    # The same request id from another sender is another message.
    c = datagrams(Envelope(request_id=1), message_of(700, 3))
    reassembly = Reassembly()
    arrivals: list[tuple[object, bytes]] = [
        ("p", b[3]), ("p", a[0]), ("q", c[1]), ("p", b[0]), ("p", a[2]), ("p", b[1]), ("q", c[0]),
        ("p", a[1]), ("p", b[2]), ("p", b[4]),
    ]  # fmt: skip

    done = [reassembly.add(sender, *split_datagram(part)) for sender, part in arrivals]
    assert [d for d in done if d is not None] == [message_of(700, 3), first, second]
    assert done.index(first) == 7


def test_a_single_datagram_must_hold_what_its_envelope_says() -> None:
    with pytest.raises(WireError, match="envelope says"):
        Reassembly().add("peer", Envelope(length=10), b"short")
    with pytest.raises(WireError, match="envelope says"):
        Reassembly().add("peer", Envelope(length=0), b"x")


def test_a_part_of_another_length_than_its_message_is_refused() -> None:
    parts = datagrams(REQUEST, message_of(1000))
    reassembly = Reassembly()
    reassembly.add("peer", *split_datagram(parts[0]))
    wrong = Envelope.decode(parts[1])

    with pytest.raises(WireError, match="does not belong"):
        reassembly.add("peer", Envelope(request_id=wrong.request_id, sequence=1, length=1001), parts[1][20:])
    # The message is still there to be completed.
    assert reassembly.add("peer", *split_datagram(parts[1])) is None
    assert reassembly.add("peer", *split_datagram(parts[2])) == message_of(1000)


@pytest.mark.parametrize("sequence", [3, 4, 0xFFFFFFFF])
def test_a_part_beyond_the_end_of_its_message_is_refused(sequence: int) -> None:
    # 1000 bytes are 3 parts: 0, 1 and 2.
    with pytest.raises(WireError, match="does not belong"):
        Reassembly().add("peer", Envelope(sequence=sequence, length=1000), b"x" * 16)


@pytest.mark.parametrize("sequence", [1, 2, 0xFFFFFFFF])
def test_a_later_part_of_a_one_datagram_message_is_refused(sequence: int) -> None:
    with pytest.raises(WireError, match="does not belong"):
        Reassembly().add("peer", Envelope(sequence=sequence, length=100), b"x" * 100)
    with pytest.raises(WireError, match="does not belong"):
        Reassembly().add("peer", Envelope(sequence=sequence, length=0), b"")


@pytest.mark.parametrize(
    ("sequence", "size"), [(0, 491), (0, 493), (1, 0), (1, 491), (2, 15), (2, 17), (2, 492)]
)
def test_a_part_of_the_wrong_size_is_refused(sequence: int, size: int) -> None:
    # 1000 bytes: 492, 492, 16.
    with pytest.raises(WireError, match="holds"):
        Reassembly().add("peer", Envelope(sequence=sequence, length=1000), b"x" * size)


def test_the_oldest_message_is_dropped_past_max_pending() -> None:
    reassembly = Reassembly(max_pending=3)
    oldest = datagrams(Envelope(request_id=100), message_of(600))
    reassembly.add("peer", *split_datagram(oldest[0]))
    others = [datagrams(Envelope(request_id=n), message_of(600, n)) for n in range(3)]
    for parts in others:
        assert reassembly.add("peer", *split_datagram(parts[0])) is None

    # The oldest was dropped when the third other one arrived; the others are all there.
    done = [reassembly.add("peer", *split_datagram(parts[1])) for parts in others]
    assert done == [message_of(600, n) for n in range(3)]
    assert reassembly.add("peer", *split_datagram(oldest[1])) is None  # its first part is gone
    assert reassembly.add("peer", *split_datagram(oldest[0])) == message_of(600)


def test_many_unfinished_messages_stay_within_max_pending() -> None:
    reassembly = Reassembly(max_pending=4)
    for n in range(1000):
        reassembly.add(("host", n), *split_datagram(datagrams(Envelope(request_id=n), message_of(500))[0]))
    # The last four are held and complete; nothing older is.
    tail = {n: datagrams(Envelope(request_id=n), message_of(500))[1] for n in range(995, 1000)}
    for n in range(996, 1000):
        assert reassembly.add(("host", n), *split_datagram(tail[n])) == message_of(500)
    assert reassembly.add(("host", 995), *split_datagram(tail[995])) is None


def test_a_message_not_completed_in_time_is_forgotten() -> None:
    parts = datagrams(REQUEST, message_of(600))
    reassembly = Reassembly(timeout=0.005)

    assert reassembly.add("peer", *split_datagram(parts[0])) is None
    time.sleep(0.02)
    assert reassembly.add("peer", *split_datagram(parts[1])) is None  # the first part is gone
    assert reassembly.add("peer", *split_datagram(parts[0])) == message_of(600)


def test_with_no_time_to_wait_no_split_message_completes() -> None:
    parts = datagrams(REQUEST, message_of(1500))
    reassembly = Reassembly(timeout=0)

    assert feed(reassembly, parts + parts) == []
    # A message of one datagram needs no waiting.
    assert feed(reassembly, datagrams(REQUEST, b"small")) == [b"small"]


def test_in_time_a_split_message_completes() -> None:
    parts = datagrams(REQUEST, message_of(1500))

    assert feed(Reassembly(timeout=60), parts[::-1]) == [message_of(1500)]
