"""L1 and its coherence tokens, with a fake store and clock: freshness, bounds, invalidation, staleness."""

from __future__ import annotations

import gc
import multiprocessing
from pathlib import Path

import pytest

from resolver.answer import Answer
from resolver.cache.coherence import LocalCoherence
from resolver.cache.l1 import Entry, L1Cache
from resolver.cache.slots import SharedSlots, Slots, slot_of
from resolver.cache.stages import Freshness, L1Stage
from resolver.metrics import Metrics
from resolver.pipeline import StoreUnavailable
from tests.resolver.cache.fakes import Clock, FakeStore, answer

PART = "88.999.1/PART-1"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore({PART: answer("v1", ttl=60)})


@pytest.fixture
def coherence(tmp_path: Path) -> LocalCoherence:
    return LocalCoherence(tmp_path / "idnode.coherence")


@pytest.fixture
def l1(store: FakeStore, coherence: LocalCoherence, clock: Clock) -> L1Stage:
    cache = L1Cache(max_entries=100, max_bytes=1_000_000)
    freshness = Freshness(max_ttl=600, negative_ttl=5, stale_seconds=3600)
    return L1Stage(store, cache, coherence, freshness, Metrics(), clock)


async def test_a_second_resolution_is_a_hit(l1: L1Stage, store: FakeStore) -> None:
    first = await l1.resolve(PART)
    second = await l1.resolve(PART)

    assert first is not None
    assert second is not None
    assert first.encoded == second.encoded
    assert store.calls == [PART]


async def test_an_answer_is_fresh_for_its_record_ttl(l1: L1Stage, store: FakeStore, clock: Clock) -> None:
    await l1.resolve(PART)
    clock.advance(59)
    await l1.resolve(PART)
    clock.advance(2)
    await l1.resolve(PART)

    assert store.calls == [PART, PART]


async def test_not_found_is_cached_for_the_shorter_negative_ttl(
    l1: L1Stage, store: FakeStore, clock: Clock
) -> None:
    assert await l1.resolve("88.999.1/NOPE") is None
    clock.advance(4)
    assert await l1.resolve("88.999.1/NOPE") is None
    clock.advance(2)
    store.answers["88.999.1/NOPE"] = answer("now it exists")
    found = await l1.resolve("88.999.1/NOPE")

    assert found is not None
    assert b"now it exists" in found.encoded
    assert store.calls == ["88.999.1/NOPE", "88.999.1/NOPE"]


async def test_a_change_of_the_handle_makes_the_next_resolution_read_again(
    l1: L1Stage, store: FakeStore, coherence: LocalCoherence
) -> None:
    await l1.resolve(PART)
    store.answers[PART] = answer("v2")

    coherence.changed_here([PART])
    again = await l1.resolve(PART)

    assert again is not None
    assert b"v2" in again.encoded


async def test_a_change_during_a_read_keeps_that_read_out_of_the_cache(
    store: FakeStore, coherence: LocalCoherence, clock: Clock
) -> None:
    class ChangingStore(FakeStore):
        async def resolve(self, name: str) -> Answer | None:
            got = await super().resolve(name)
            coherence.changed_here([name])  # a write commits while the old record is on its way
            return got

    changing = ChangingStore({PART: answer("old")})
    cache = L1Cache(max_entries=10, max_bytes=100_000)
    stage = L1Stage(
        changing, cache, coherence, Freshness(max_ttl=60, negative_ttl=5, stale_seconds=60), Metrics(), clock
    )

    await stage.resolve(PART)
    await stage.resolve(PART)

    assert changing.calls == [PART, PART]


async def test_stale_answers_stand_in_while_the_store_is_down(
    l1: L1Stage, store: FakeStore, clock: Clock
) -> None:
    await l1.resolve(PART)
    clock.advance(120)  # past its TTL
    store.down = True

    stale = await l1.resolve(PART)

    assert stale is not None
    assert stale.stale
    assert b"v1" in stale.encoded
    with pytest.raises(StoreUnavailable):
        await l1.resolve("88.999.1/NEVER-SEEN")


async def test_an_invalidated_answer_is_never_served_stale(
    l1: L1Stage, store: FakeStore, coherence: LocalCoherence
) -> None:
    await l1.resolve(PART)
    coherence.changed_here([PART])
    store.down = True

    with pytest.raises(StoreUnavailable):
        await l1.resolve(PART)


async def test_stale_answers_end_with_the_stale_window(l1: L1Stage, store: FakeStore, clock: Clock) -> None:
    await l1.resolve(PART)
    clock.advance(60 + 3601)
    store.down = True

    with pytest.raises(StoreUnavailable):
        await l1.resolve(PART)


async def test_resolve_many_reads_only_the_misses(l1: L1Stage, store: FakeStore) -> None:
    store.answers["88.999.1/B"] = answer("b")
    await l1.resolve(PART)

    found = await l1.resolve_many([PART, "88.999.1/B", "88.999.1/NONE"])

    assert [a is not None for a in found] == [True, True, False]
    assert store.calls == [PART, "88.999.1/B", "88.999.1/NONE"]


def test_the_cache_evicts_the_least_recently_used_beyond_its_entry_bound() -> None:
    cache = L1Cache(max_entries=2, max_bytes=10_000_000)
    for name in ("a", "b"):
        cache.put(name, Entry.of(answer(name), 0, 0, 0))
    cache.get("a")
    cache.put("c", Entry.of(answer("c"), 0, 0, 0))

    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert len(cache) == 2


def test_the_cache_stays_within_its_byte_bound() -> None:
    big = answer("x" * 5_000)
    cache = L1Cache(max_entries=1_000, max_bytes=20_000)
    for n in range(10):
        cache.put(str(n), Entry.of(big, 0, 0, 0))

    assert cache.bytes <= 20_000
    assert len(cache) == 20_000 // Entry.of(big, 0, 0, 0).size


def test_tokens_change_only_for_the_changed_slots() -> None:
    slots = Slots()
    assert slot_of("88.999.1/A") != slot_of("88.999.1/B")
    before = {name: slots.token(name) for name in ("88.999.1/A", "88.999.1/B")}

    slots.bump(["88.999.1/A"])

    assert slots.token("88.999.1/A") != before["88.999.1/A"]
    assert slots.token("88.999.1/B") == before["88.999.1/B"]


def test_an_mes_batch_of_new_coils_leaves_the_hot_answers_valid() -> None:
    # Creates bump slots (a cached "not found" must end); the hot set's answers share slots with them.
    slots = Slots()
    hot = [f"88.999.1/PART-{n:08d}" for n in range(10_000)]
    before = {name: slots.token(name) for name in hot}

    slots.bump([f"88.999.1/COIL-{n:09d}" for n in range(5_000)])  # a few minutes of an MES line

    lost = sum(slots.token(name) != token for name, token in before.items())
    assert lost <= len(hot) // 100


def _bump_in_another_process(path: str) -> None:
    SharedSlots(Path(path)).bump([PART])


def test_shared_tokens_change_for_every_process_on_the_host(tmp_path: Path) -> None:
    mine = SharedSlots(tmp_path / "shared.coherence")
    before = mine.token(PART)

    worker = multiprocessing.get_context("spawn").Process(
        target=_bump_in_another_process, args=(str(tmp_path / "shared.coherence"),)
    )
    worker.start()
    worker.join(30)

    assert worker.exitcode == 0
    assert mine.token(PART) != before
    mine.close()


def test_cached_entries_hold_nothing_the_garbage_collector_must_scan() -> None:
    cache = L1Cache(max_entries=10, max_bytes=100_000)
    cache.put(PART, Entry.of(answer("v1"), 1.0, 2.0, 3))

    entry = cache.peek(PART)

    assert entry is not None
    assert not any(gc.is_tracked(field) for field in entry)  # bytes and numbers, no parsed values
