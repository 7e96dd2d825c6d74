"""L1 and its coherence tokens, with a fake store and clock: freshness, bounds, invalidation, staleness."""

from __future__ import annotations

import gc
import multiprocessing
from pathlib import Path

import pytest

from resolver.answer import Answer
from resolver.cache.coherence import LocalCoherence
from resolver.cache.l1 import ENTRY_OVERHEAD, Entry, L1Cache
from resolver.cache.slots import SharedSlots, Slots, slot_of
from resolver.cache.stages import Freshness, L1Stage
from resolver.metrics import Metrics
from resolver.pipeline import StoreUnavailable
from resolver.query import Query
from tests.resolver.cache.fakes import Clock, CountingView, FakeStore, answer, query

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
def cache() -> L1Cache:
    return L1Cache(max_entries=100, max_bytes=1_000_000)


@pytest.fixture
def l1(store: FakeStore, cache: L1Cache, coherence: LocalCoherence, clock: Clock) -> L1Stage:
    freshness = Freshness(max_ttl=600, negative_ttl=5, stale_seconds=3600)
    return L1Stage(store, cache, coherence, freshness, Metrics(), clock)


async def test_a_second_resolution_is_a_hit(l1: L1Stage, store: FakeStore) -> None:
    first = await l1.resolve(query(PART))
    second = await l1.resolve(query(PART))

    assert first is not None
    assert second is not None
    assert first.record == second.record
    assert store.calls == [PART]


async def test_an_answer_is_fresh_for_its_record_ttl(l1: L1Stage, store: FakeStore, clock: Clock) -> None:
    await l1.resolve(query(PART))
    clock.advance(59)
    await l1.resolve(query(PART))
    clock.advance(2)
    await l1.resolve(query(PART))

    assert store.calls == [PART, PART]


async def test_not_found_is_cached_for_the_shorter_negative_ttl(
    l1: L1Stage, store: FakeStore, clock: Clock
) -> None:
    assert await l1.resolve(query("88.999.1/NOPE")) is None
    clock.advance(4)
    assert await l1.resolve(query("88.999.1/NOPE")) is None
    clock.advance(2)
    store.answers["88.999.1/NOPE"] = answer("now it exists")
    found = await l1.resolve(query("88.999.1/NOPE"))

    assert found is not None
    assert b"now it exists" in found.record
    assert store.calls == ["88.999.1/NOPE", "88.999.1/NOPE"]


async def test_a_change_of_the_handle_makes_the_next_resolution_read_again(
    l1: L1Stage, store: FakeStore, coherence: LocalCoherence
) -> None:
    await l1.resolve(query(PART))
    store.answers[PART] = answer("v2")

    coherence.changed_here([PART])
    again = await l1.resolve(query(PART))

    assert again is not None
    assert b"v2" in again.record


async def test_a_change_during_a_read_keeps_that_read_out_of_the_cache(
    store: FakeStore, coherence: LocalCoherence, clock: Clock
) -> None:
    class ChangingStore(FakeStore):
        async def resolve(self, asked: Query) -> Answer | None:
            got = await super().resolve(asked)
            coherence.changed_here([asked.key])  # a write commits while the old record is on its way
            return got

    changing = ChangingStore({PART: answer("old")})
    cache = L1Cache(max_entries=10, max_bytes=100_000)
    stage = L1Stage(
        changing, cache, coherence, Freshness(max_ttl=60, negative_ttl=5, stale_seconds=60), Metrics(), clock
    )

    await stage.resolve(query(PART))
    await stage.resolve(query(PART))

    assert changing.calls == [PART, PART]


async def test_stale_answers_stand_in_while_the_store_is_down(
    l1: L1Stage, store: FakeStore, clock: Clock
) -> None:
    await l1.resolve(query(PART))
    clock.advance(120)  # past its TTL
    store.down = True

    stale = await l1.resolve(query(PART))

    assert stale is not None
    assert stale.stale
    assert b"v1" in stale.record
    with pytest.raises(StoreUnavailable):
        await l1.resolve(query("88.999.1/NEVER-SEEN"))


async def test_an_invalidated_answer_is_never_served_stale(
    l1: L1Stage, store: FakeStore, coherence: LocalCoherence
) -> None:
    await l1.resolve(query(PART))
    coherence.changed_here([PART])
    store.down = True

    with pytest.raises(StoreUnavailable):
        await l1.resolve(query(PART))


async def test_an_answer_invalidated_while_the_store_fails_is_not_served_stale(
    cache: L1Cache, coherence: LocalCoherence, clock: Clock
) -> None:
    class ChangedThenDown(FakeStore):
        async def resolve(self, asked: Query) -> Answer | None:
            # Another process announces a write of this handle while this read waits on a failing database.
            coherence.changed_here([asked.key])
            cache.drop(asked.key)
            raise StoreUnavailable("down")

    stage = L1Stage(
        ChangedThenDown(),
        cache,
        coherence,
        Freshness(max_ttl=600, negative_ttl=5, stale_seconds=3600),
        Metrics(),
        clock,
    )
    cache.put(PART, Entry.of(answer("old"), clock.now - 1, clock.now + 3600, coherence.token(PART)))

    with pytest.raises(StoreUnavailable):
        await stage.resolve(query(PART))


async def test_with_coherence_down_nothing_is_served_fresh_but_the_last_read_stands_in_for_a_database_down(
    l1: L1Stage, store: FakeStore, coherence: LocalCoherence
) -> None:
    await l1.resolve(query(PART))
    coherence.usable = False  # Redis went away: another process's write would go unheard
    store.answers[PART] = answer("v2")

    during = await l1.resolve(query(PART))
    store.down = True
    stale = await l1.resolve(query(PART))

    assert during is not None
    assert b"v2" in during.record  # read from the store, not L1
    assert stale is not None
    assert (stale.stale, b"v2" in stale.record) == (True, True)
    assert l1.ready(query(PART)) is None
    with pytest.raises(StoreUnavailable):
        await l1.resolve(query("88.999.1/NEVER-SEEN"))


async def test_stale_answers_end_with_the_stale_window(l1: L1Stage, store: FakeStore, clock: Clock) -> None:
    await l1.resolve(query(PART))
    clock.advance(60 + 3601)
    store.down = True

    with pytest.raises(StoreUnavailable):
        await l1.resolve(query(PART))


async def test_a_handle_written_in_another_case_is_the_same_entry(l1: L1Stage, store: FakeStore) -> None:
    # The query's key, not the handle as written, names the entry (the node ignores ASCII case by default).
    await l1.resolve(query(PART))
    found = await l1.resolve(query(PART.lower()))

    assert found is not None
    assert b"v1" in found.record
    assert store.calls == [PART]


async def test_resolve_many_reads_only_the_misses(l1: L1Stage, store: FakeStore) -> None:
    store.answers["88.999.1/B"] = answer("b")
    await l1.resolve(query(PART))

    found = await l1.resolve_many([query(PART), query("88.999.1/B"), query("88.999.1/NONE")])

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
    # The redesign keeps renderings in the entry, as a tuple of (key, bytes) tuples. A tuple is tracked when
    # it is made; a collection untracks it only if everything in it is untracked by the time it gets to it,
    # so the pairs go at the first collection and the tuple holding them may need a second (the old entry
    # held bytes and numbers only, untracked from the start). A cached entry outlives many collections.
    cache = L1Cache(max_entries=10, max_bytes=100_000)
    rendered = answer("v1")
    rendered.rendered(CountingView("a"))
    rendered.rendered(CountingView("b"))
    cache.put(PART, Entry.of(rendered, 1.0, 2.0, 3))

    gc.collect()
    gc.collect()
    entry = cache.peek(PART)

    assert entry is not None
    assert len(entry.renderings) == 2
    assert not any(gc.is_tracked(field) for field in entry)  # bytes, numbers and tuples of them
    assert not any(gc.is_tracked(pair) for pair in entry.renderings)


async def test_a_hit_sends_the_rendering_made_on_the_miss_without_rendering_again(
    l1: L1Stage, store: FakeStore
) -> None:
    view = CountingView("json")

    first = await l1.resolve(query(PART))
    assert first is not None
    made = first.rendered(view)  # the front end renders the answer of the miss
    second = await l1.resolve(query(PART))

    assert second is not None
    assert second.rendered(view) is made  # the bytes the entry kept, not a copy
    assert made == b"json:" + first.record
    assert view.renders == 1
    assert store.calls == [PART]


async def test_another_views_rendering_is_made_once_and_kept_beside_the_first(
    l1: L1Stage, store: FakeStore, cache: L1Cache
) -> None:
    json_view, snms_view = CountingView("json"), CountingView("snms")

    for _ in range(3):
        for view in (json_view, snms_view):
            found = await l1.resolve(query(PART))
            assert found is not None
            assert found.rendered(view) == view.key.encode() + b":" + found.record

    assert (json_view.renders, snms_view.renders) == (1, 1)
    assert store.calls == [PART]
    entry = cache.peek(PART)
    assert entry is not None
    assert [name for name, _ in entry.renderings] == ["json", "snms"]
    # The entry was put again with both, not added beside its old self; its size counts the renderings.
    assert cache.bytes == entry.size
    assert entry.size == ENTRY_OVERHEAD + len(entry.record or b"") + sum(len(b) for _, b in entry.renderings)


async def test_a_rendering_that_is_the_record_itself_is_not_kept_twice(l1: L1Stage, cache: L1Cache) -> None:
    class Record:
        key = "record"

        def render(self, answer: Answer) -> bytes:
            return answer.public_record()  # an all-public record: the record's own bytes

    found = await l1.resolve(query(PART))
    assert found is not None

    assert found.rendered(Record()) is found.record
    entry = cache.peek(PART)
    assert entry is not None
    assert entry.renderings == ()  # nothing more for the garbage collector to look at


async def test_resolve_many_keeps_the_renderings_of_hits_and_misses(l1: L1Stage, store: FakeStore) -> None:
    store.answers["88.999.1/B"] = answer("b")
    view = CountingView("json")
    names = [PART, "88.999.1/B", "88.999.1/NONE"]

    first = await l1.resolve_many([query(name) for name in names])
    made = [a.rendered(view) if a else None for a in first]
    second = await l1.resolve_many([query(name) for name in names])

    assert view.renders == 2  # the two found records; "not found" has nothing to render
    assert [a.rendered(view) if a else None for a in second] == made
    assert view.renders == 2
    assert store.calls == names


async def test_a_stale_answer_brings_its_kept_rendering(l1: L1Stage, store: FakeStore, clock: Clock) -> None:
    view = CountingView("json")
    fresh = await l1.resolve(query(PART))
    assert fresh is not None
    fresh.rendered(view)
    clock.advance(120)
    store.down = True

    stale = await l1.resolve(query(PART))

    assert stale is not None
    assert stale.stale
    assert stale.rendered(view) == b"json:" + stale.record
    assert view.renders == 1


async def test_a_changed_record_is_rendered_anew(
    l1: L1Stage, store: FakeStore, coherence: LocalCoherence
) -> None:
    view = CountingView("json")
    old = await l1.resolve(query(PART))
    assert old is not None
    old.rendered(view)
    store.answers[PART] = answer("v2")

    coherence.changed_here([PART])
    again = await l1.resolve(query(PART))

    assert again is not None
    assert b"v2" in again.rendered(view)
    assert view.renders == 2
    assert old.rendered(view) != again.rendered(view)


async def test_a_batch_is_answered_stale_while_the_store_is_down_when_every_miss_may_stand_in(
    l1: L1Stage, store: FakeStore, clock: Clock
) -> None:
    store.answers["88.999.1/B"] = answer("b")
    await l1.resolve_many([query(PART), query("88.999.1/B")])
    clock.advance(120)  # past their TTLs
    store.down = True

    stale = await l1.resolve_many([query(PART), query("88.999.1/B")])

    assert [a is not None and a.stale for a in stale] == [True, True]
    with pytest.raises(StoreUnavailable):  # one miss without a stand-in fails the batch
        await l1.resolve_many([query(PART), query("88.999.1/NEVER-SEEN")])
