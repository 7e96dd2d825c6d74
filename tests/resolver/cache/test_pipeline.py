"""The pipeline's rule of what the node answers for: a missing handle is "not found" when its prefix is
homed here (its prefix handle `0.NA/<prefix>` exists), and `NotHomed` otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import Handle, NotResponsible
from resolver.answer import Answer
from resolver.cache.coherence import LocalCoherence
from resolver.cache.l1 import L1Cache
from resolver.cache.stages import Freshness, L1Stage
from resolver.metrics import Metrics
from resolver.pipeline import NotHomed, Pipeline, home_of
from tests.resolver.cache.fakes import NAMING, Clock, FakeStore, answer, query

PART = "88.999.1/PART-1"
HOMED = {
    "0.NA/88.999": answer("the node's prefix handle"),
    "0.NA/88.999.1": answer("an enterprise's prefix handle"),
    PART: answer("v1"),
}


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(dict(HOMED))


@pytest.fixture
def pipeline(store: FakeStore) -> Pipeline:
    return Pipeline(store, NAMING)


async def test_a_found_handle_is_answered_without_asking_about_its_prefix(
    pipeline: Pipeline, store: FakeStore
) -> None:
    found = await pipeline.resolve(query(PART))

    assert found is not None
    assert b"v1" in found.record
    assert store.calls == [PART]


async def test_a_missing_handle_of_a_homed_prefix_is_not_found(pipeline: Pipeline, store: FakeStore) -> None:
    assert await pipeline.resolve(query("88.999.1/NOPE")) is None
    assert store.calls == ["88.999.1/NOPE", "0.NA/88.999.1"]


async def test_a_missing_handle_of_a_prefix_not_homed_here_raises_not_homed(pipeline: Pipeline) -> None:
    with pytest.raises(NotHomed) as raised:
        await pipeline.resolve(query("86.100.7/part-1"))

    # A registry error like any other, for front ends to translate (upstream will ask the prefix's node).
    assert isinstance(raised.value, NotResponsible)
    assert raised.value.handle == "86.100.7/part-1"  # the handle as asked for


async def test_a_prefix_handle_is_homed_when_its_parents_prefix_handle_exists(pipeline: Pipeline) -> None:
    # 88.999.3 is not set up (yet): 0.NA/88.999.3 is not found, but it is the node's to answer.
    assert await pipeline.resolve(query("0.NA/88.999.3")) is None
    with pytest.raises(NotHomed):
        await pipeline.resolve(query("0.NA/86.100.7"))


async def test_a_top_level_prefix_handle_is_never_homed_here(pipeline: Pipeline, store: FakeStore) -> None:
    # 0.NA/88 would be homed by the root's prefix handle: the global registry's, never this node's.
    with pytest.raises(NotHomed):
        await pipeline.resolve(query("0.NA/88"))
    assert store.calls == ["0.NA/88"]


async def test_the_home_is_looked_up_by_its_key(pipeline: Pipeline) -> None:
    # Handles differing in ASCII case are one handle here: a prefix written in lower case is homed too.
    assert await pipeline.resolve(query("88.999.1/nope")) is None
    assert await pipeline.resolve(query("0.na/88.999.3")) is None


def test_the_home_of_a_handle_is_its_prefix_handle_and_of_a_prefix_handle_its_parents() -> None:
    assert home_of(Handle.parse(PART)) == Handle.parse("0.NA/88.999.1")
    assert home_of(Handle.parse("0.NA/88.999.3")) == Handle.parse("0.NA/88.999")
    assert home_of(Handle.parse("0.NA/88.999.3.7")) == Handle.parse("0.NA/88.999.3")
    assert home_of(Handle.parse("0.NA/88")) is None


async def test_resolve_many_puts_not_homed_in_the_place_of_those_whose_prefix_is_not_here(
    pipeline: Pipeline, store: FakeStore
) -> None:
    names = [PART, "86.100.7/A", "88.999.1/NOPE", "0.NA/88.999.3", "0.NA/88", "86.100.7/B"]

    found = await pipeline.resolve_many([query(name) for name in names])

    assert isinstance(found[0], Answer)
    assert b"v1" in found[0].record
    assert isinstance(found[1], NotHomed)
    assert found[1].handle == "86.100.7/A"
    assert found[2] is None
    assert found[3] is None
    assert isinstance(found[4], NotHomed)
    assert isinstance(found[5], NotHomed)
    assert found[5].handle == "86.100.7/B"
    # One batch for the queries, one for the distinct homes of the missing ones (0.NA/88 has none to ask).
    assert store.calls[: len(names)] == names
    assert sorted(store.calls[len(names) :]) == ["0.NA/86.100.7", "0.NA/88.999", "0.NA/88.999.1"]


async def test_resolve_many_asks_nothing_more_when_everything_is_found(
    pipeline: Pipeline, store: FakeStore
) -> None:
    found = await pipeline.resolve_many([query(PART), query("0.NA/88.999.1")])

    assert all(isinstance(answer, Answer) for answer in found)
    assert store.calls == [PART, "0.NA/88.999.1"]


async def test_whether_a_prefix_is_homed_is_cached_like_any_answer(store: FakeStore, tmp_path: Path) -> None:
    cache = L1Cache(max_entries=100, max_bytes=1_000_000)
    freshness = Freshness(max_ttl=600, negative_ttl=5, stale_seconds=3600)
    l1 = L1Stage(store, cache, LocalCoherence(tmp_path / "c"), freshness, Metrics(), Clock())
    pipeline = Pipeline(l1, NAMING)

    assert await pipeline.resolve(query("88.999.1/NOPE-1")) is None
    assert await pipeline.resolve(query("88.999.1/NOPE-2")) is None
    with pytest.raises(NotHomed):
        await pipeline.resolve(query("86.100.7/A"))
    found = await pipeline.resolve_many([query("86.100.7/B"), query("88.999.1/NOPE-3")])

    assert isinstance(found[0], NotHomed)
    assert found[1] is None
    # Each prefix handle reached the store once; later questions about it were L1 hits.
    assert store.calls == [
        "88.999.1/NOPE-1", "0.NA/88.999.1", "88.999.1/NOPE-2",
        "86.100.7/A", "0.NA/86.100.7",
        "86.100.7/B", "88.999.1/NOPE-3",
    ]  # fmt: skip
