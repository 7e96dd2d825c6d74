"""The edge's gzip memo: a hot answer is compressed once, the memo stays within its bounds."""

from __future__ import annotations

import gzip

from hypothesis import given
from hypothesis import strategies as st

from resolver.frontends.edge import Compressed


@given(st.binary(max_size=4096))
def test_what_comes_out_decompresses_to_what_went_in(body: bytes) -> None:
    assert gzip.decompress(Compressed()(body)) == body


def test_a_hot_answer_is_compressed_once() -> None:
    compressed = Compressed()
    body = b'{"responseCode":1,"handle":"88.999.1/HOT"}' * 20

    first = compressed(body)

    assert compressed(body) is first
    assert compressed(bytes(bytearray(body))) is first  # equal bytes, another object: the same entry


def test_the_oldest_answer_leaves_a_full_memo_and_large_ones_are_not_kept() -> None:
    compressed = Compressed(entries=2, max_body=1000)
    one, two, three = (bytes([n]) * 100 for n in (1, 2, 3))
    kept_one, kept_two = compressed(one), compressed(two)

    compressed(three)
    large = b"x" * 1001

    assert compressed(two) is kept_two
    assert compressed(one) is not kept_one  # compressed again
    assert compressed(large) is not compressed(large)
