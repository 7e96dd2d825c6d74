"""L2 and coherence against real Redis servers and a real three-master cluster."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest

from resolver.answer import Answer
from resolver.cache.coherence import RedisCoherence
from resolver.cache.l2 import INVALIDATE_CHUNK, RedisL2
from resolver.cache.redis_link import RedisLink
from resolver.cache.stages import Freshness, L2Stage
from resolver.health import RedisHealth
from resolver.metrics import Metrics
from resolver.pipeline import StoreUnavailable
from resolver.query import Query
from tests.redis_servers import RedisServer
from tests.resolver.cache.fakes import CountingView, FakeStore, answer, query, rendered_metrics

PART = "88.999.1/PART-1"
FRESHNESS = Freshness(max_ttl=600, negative_ttl=5, stale_seconds=60)


@pytest.fixture
def ns() -> str:
    """A namespace of this test's own: the cluster is shared by the tests of this module."""
    return f"idnode:test:{uuid.uuid4().hex[:8]}"


class Parts:
    """Links and stages as separate processes would have them, all closed when the test ends."""

    def __init__(self, url: str, ns: str) -> None:
        self.url, self.ns = url, ns
        self.links: list[RedisLink] = []
        self.l2s: list[RedisL2] = []
        self.stages: list[L2Stage] = []

    def link(self) -> RedisLink:
        self.links.append(RedisLink.open(self.url))
        return self.links[-1]

    def l2(self) -> RedisL2:
        self.l2s.append(RedisL2(self.link(), namespace=self.ns, stale_seconds=60))
        return self.l2s[-1]

    def stage(
        self, store: FakeStore, metrics: Metrics | None = None, health: RedisHealth | None = None
    ) -> L2Stage:
        stage = L2Stage(store, self.l2(), FRESHNESS, metrics or Metrics(), health or RedisHealth())
        self.stages.append(stage)
        return stage

    async def close(self) -> None:
        for stage in self.stages:
            await stage.close()
        for l2 in self.l2s:
            await l2.close()
        for link in self.links:
            await link.close()


@pytest.fixture
async def parts(redis_url: str, ns: str) -> AsyncIterator[Parts]:
    made = Parts(redis_url, ns)
    yield made
    await made.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def held(l2: RedisL2, name: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await l2.lookup(name)).present

    return check


def flag(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return condition()

    return check


async def test_an_answer_one_process_fetched_is_a_hit_for_another(parts: Parts) -> None:
    first_store, second_store = FakeStore({PART: answer("v1")}), FakeStore()
    first, second = parts.stage(first_store), parts.stage(second_store)

    await first.resolve(query(PART))
    await eventually(held(parts.l2(), PART))
    found = await second.resolve(query(PART))

    assert found is not None
    assert b"v1" in found.record
    assert second_store.calls == []


async def test_not_found_is_shared_too_and_a_write_ends_it(parts: Parts) -> None:
    store = FakeStore()
    stage, l2 = parts.stage(store), parts.l2()

    assert await stage.resolve(query(PART)) is None
    await eventually(held(l2, PART))
    store.answers[PART] = answer("created")
    await l2.invalidate([PART])
    created = await stage.resolve(query(PART))

    assert created is not None
    assert b"created" in created.record


async def test_a_fill_begun_before_an_invalidation_is_refused(parts: Parts) -> None:
    l2 = parts.l2()
    seen = await l2.lookup(PART)  # a reader misses, then reads the old record from the database…

    await l2.invalidate([PART])  # …while a write commits and invalidates
    await l2.fill_many([(PART, seen.generation, answer("old"), 1e12, 0.0)])

    assert not (await l2.lookup(PART)).present


async def test_a_batch_write_invalidates_every_handle_it_wrote(parts: Parts) -> None:
    # An MES batch of thousands: more handles than one invalidation call takes, on a Redis that has
    # forgotten its scripts (a restart does that).
    l2 = parts.l2()
    names = [f"88.999.1/COIL-{n:06d}" for n in range(2 * INVALIDATE_CHUNK + 500)]
    seen = await l2.lookup_many(names)
    fills = [(name, s.generation, answer(name), 1e12, 0.0) for name, s in zip(names, seen, strict=True)]
    await l2.fill_many(fills)
    assert all(lookup.present for lookup in await l2.lookup_many(names))
    await parts.link().data.script_flush()

    await l2.invalidate(names)

    assert not any(lookup.present for lookup in await l2.lookup_many(names))
    late = [(name, s.generation, answer("old"), 1e12, 0.0) for name, s in zip(names, seen, strict=True)]
    await l2.fill_many(late)  # fills begun before the write are refused
    assert not any(lookup.present for lookup in await l2.lookup_many(names))


async def test_lookups_of_one_instant_are_answered_together_and_right(parts: Parts) -> None:
    l2 = parts.l2()
    names = [f"88.999.1/P-{n}" for n in range(50)]
    for name in names:
        seen = await l2.lookup(name)
        await l2.fill_many([(name, seen.generation, answer(name), 1e12, 0.0)])

    found = await asyncio.gather(*(l2.lookup(names[n % 50]) for n in range(200)))

    assert all(
        f.answer is not None and names[n % 50].encode() in f.answer.record for n, f in enumerate(found)
    )


async def coherent_pair(parts: Parts) -> tuple[RedisCoherence, RedisCoherence, list[Sequence[str] | None]]:
    heard: list[Sequence[str] | None] = []
    writer = RedisCoherence(parts.link(), Metrics(), RedisHealth(), namespace=parts.ns, timeout=5.0)
    reader = RedisCoherence(parts.link(), Metrics(), RedisHealth(), namespace=parts.ns, timeout=5.0)
    await writer.start(lambda _keys: None)
    await reader.start(heard.append)
    await eventually(flag(lambda: writer.usable and reader.usable))
    return writer, reader, heard


async def test_an_announced_change_is_applied_everywhere_before_announce_returns(parts: Parts) -> None:
    writer, reader, heard = await coherent_pair(parts)
    before = reader.token(PART)

    writer.changed_here([PART])
    await writer.announce([PART])

    assert reader.token(PART) != before
    assert heard[-1] == [PART]
    await writer.close()
    await reader.close()


async def test_announce_does_not_wait_for_a_process_that_is_gone(parts: Parts) -> None:
    writer, reader, _ = await coherent_pair(parts)
    await reader.close()
    await asyncio.sleep(0.1)

    started = asyncio.get_running_loop().time()
    await writer.announce([PART])

    assert asyncio.get_running_loop().time() - started < 1.0
    await writer.close()


@pytest.mark.parametrize("redis_url", ["server"], indirect=True)
async def test_when_redis_dies_answers_come_from_the_store_and_l2_returns_once_caught_up(
    parts: Parts, redis_server: RedisServer
) -> None:
    # The old stage kept Redis's state itself (`available`, `ready()`, `metrics.redis_up`); now the stage
    # reports to Redis's health, which decides when the shared cache may serve and what the metrics say.
    store, health = FakeStore({PART: answer("v1")}), RedisHealth()
    metrics = Metrics(health=[health])
    stage = parts.stage(store, metrics, health)
    await stage.resolve(query(PART))

    redis_server.kill()
    during = await stage.resolve(query(PART))
    assert during is not None
    assert b"v1" in during.record
    assert (rendered_metrics(metrics)["idnode_redis_up"], health.cache_usable) == (0, False)

    redis_server.restart()
    health.caught_up()  # what the journal follower does once it has invalidated recent changes again
    await stage.resolve(query(PART))  # fills Redis again
    await eventually(held(parts.l2(), PART))
    before = len(store.calls)
    await stage.resolve(query(PART))

    assert len(store.calls) == before
    assert (metrics.l2_hits, rendered_metrics(metrics)["idnode_redis_up"]) == (1, 1)


@pytest.mark.parametrize("redis_url", ["server"], indirect=True)
async def test_redis_answering_again_is_not_enough_to_serve_from_it(
    parts: Parts, redis_server: RedisServer
) -> None:
    # It may hold answers whose invalidation it missed while it was unreachable: until caught up, every
    # resolution goes past it to the store, even once Redis answers (and its health says up) again.
    store, health = FakeStore({PART: answer("v1")}), RedisHealth(retry_after=0.0)
    stage = parts.stage(store, Metrics(), health)
    await stage.resolve(query(PART))
    await eventually(held(parts.l2(), PART))

    redis_server.kill()
    await stage.resolve(query(PART))
    redis_server.restart()
    health.succeeded()  # the coherence channel subscribed again, say
    calls = len(store.calls)
    await stage.resolve(query(PART))
    await stage.resolve_many([query(PART)])

    assert (health.up, health.cache_usable) == (True, False)
    assert len(store.calls) == calls + 2


@pytest.mark.parametrize("redis_url", ["server"], indirect=True)
async def test_an_answer_invalidated_while_the_store_fails_is_not_served_stale_from_l2(parts: Parts) -> None:
    l2 = parts.l2()

    class InvalidatedThenDown(FakeStore):
        async def resolve(self, asked: Query) -> Answer | None:
            if self.down:
                await l2.invalidate([asked.key])  # a write commits while this read waits on the database
                raise StoreUnavailable("down")
            return await super().resolve(asked)

    store = InvalidatedThenDown({PART: answer("old", ttl=0)})  # never fresh: every resolution asks the store
    stage = parts.stage(store)
    await stage.resolve(query(PART))
    await eventually(held(l2, PART))
    store.down = True

    with pytest.raises(StoreUnavailable):
        await stage.resolve(query(PART))


async def test_a_record_with_non_public_values_stays_non_public_through_l2(parts: Parts) -> None:
    # The canonical record keeps non-public values (secret keys never reach a cache): the "all public" flag
    # must survive Redis, or another process would render the internal value publicly.
    stored = (
        '[{"index":1,"type":"URL","data":"a"},'
        '{"index":2,"type":"NOTE","data":"internal","permissions":"1100"}]'
    )
    first, second_store = parts.stage(FakeStore({PART: Answer.from_stored(stored)})), FakeStore()
    second = parts.stage(second_store)

    await first.resolve(query(PART))
    await eventually(held(parts.l2(), PART))
    found = await second.resolve(query(PART))

    assert found is not None
    assert second_store.calls == []
    assert (found.public, found.record) == (False, stored.encode())
    assert b"internal" not in found.public_record()
    assert b"internal" not in found.rendered(CountingView())


async def test_resolve_many_answers_hits_from_redis_and_misses_from_the_store(parts: Parts) -> None:
    names = [PART, "88.999.1/B", "88.999.1/NONE"]
    filler = parts.stage(FakeStore({PART: answer("v1")}))
    await filler.resolve(query(PART))
    await eventually(held(parts.l2(), PART))
    store, metrics = FakeStore({PART: answer("not asked"), "88.999.1/B": answer("b")}), Metrics()
    stage = parts.stage(store, metrics)

    found = await stage.resolve_many([query(name) for name in names])

    assert [a.record if a else None for a in found] == [
        answer("v1").record,
        answer("b").record,
        None,
    ]
    assert (store.calls, metrics.l2_hits) == (names[1:], 1)


@pytest.mark.parametrize("redis_url", ["server"], indirect=True)
async def test_coherence_survives_a_redis_restart_and_forgets_everything_on_return(
    parts: Parts, redis_server: RedisServer
) -> None:
    heard: list[Sequence[str] | None] = []
    health = RedisHealth()
    coherence = RedisCoherence(parts.link(), Metrics(), health, namespace=parts.ns, timeout=1.0)
    await coherence.start(heard.append)
    await eventually(flag(lambda: coherence.usable))
    token = coherence.token(PART)

    redis_server.kill()
    await eventually(flag(lambda: not coherence.usable))
    assert (health.up, health.cache_usable) == (False, False)  # the channel reports to Redis's health
    redis_server.restart()
    await eventually(flag(lambda: coherence.usable), within=10)

    assert heard.count(None) == 2  # at the first subscription and again after the restart
    assert coherence.token(PART) != token
    # Subscribed again: Redis is up, but the shared cache waits until the missed changes are invalidated.
    assert (health.up, health.cache_usable) == (True, False)
    await coherence.close()
