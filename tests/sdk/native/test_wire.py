"""The protocol's primitives: what is written reads back, byte layouts as RFC 3651 gives them, and any bytes
either decode or fail with `WireError` — never by taking more than is there."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.native import wire
from sdk.native.wire import Reader, WireError

INT32 = st.integers(-(2**31), 2**31 - 1)


@given(st.text(), st.lists(INT32), st.lists(st.text()), st.binary())
def test_what_is_written_reads_back(text: str, numbers: list[int], texts: list[str], raw: bytes) -> None:
    data = wire.text(text) + wire.ints(numbers) + wire.texts(texts) + wire.bytes_(raw)
    reader = Reader(data)

    assert (reader.text(), reader.ints(), reader.texts(), reader.bytes_()) == (text, numbers, texts, raw)
    reader.done()


def test_a_string_is_a_four_byte_length_then_utf8() -> None:
    assert wire.text("88.118.8/零件") == b"\x00\x00\x00\x0f" + "88.118.8/零件".encode()
    assert wire.ints([1, -1]) == b"\x00\x00\x00\x02\x00\x00\x00\x01\xff\xff\xff\xff"


def test_a_length_claiming_more_than_is_there_takes_nothing() -> None:
    reader = Reader(b"\xff\xff\xff\xffabc")

    with pytest.raises(WireError, match="wanted"):
        reader.bytes_("handle")
    assert Reader(b"\x7f\xff\xff\xff").remaining == 4


def test_a_count_that_cannot_fit_is_refused_before_any_item_is_read() -> None:
    with pytest.raises(WireError, match="cannot fit"):
        Reader(b"\x40\x00\x00\x00" + b"\x00" * 8).ints("index list")


def test_text_must_be_utf8() -> None:
    with pytest.raises(WireError, match="not UTF-8"):
        Reader(wire.bytes_(b"\xff\xfe")).text("handle")


def test_trailing_bytes_are_an_error_where_nothing_may_follow() -> None:
    reader = Reader(wire.u32(7) + b"x")
    reader.u32()

    with pytest.raises(WireError, match="unexpected"):
        reader.done()


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_fail_cleanly(data: bytes) -> None:
    # Any other exception (struct.error, IndexError, MemoryError) fails the test.
    reader = Reader(data)
    with contextlib.suppress(WireError):
        reader.text()
        reader.ints()
        reader.texts()
