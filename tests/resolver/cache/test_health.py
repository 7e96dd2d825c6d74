"""The health owners of the database and Redis: what a failure and a success do, when a dependency is worth
trying again, when the shared cache may serve, and what the metrics say."""

from __future__ import annotations

import time

import pytest

from resolver.health import Health, RedisHealth
from resolver.metrics import Metrics
from tests.resolver.cache.fakes import Clock, rendered_metrics


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_dependency_is_up_and_worth_trying_until_a_call_fails(clock: Clock) -> None:
    health = Health("store", retry_after=1.0, clock=clock)

    assert (health.up, health.worth_trying, health.errors) == (True, True, 0)


def test_after_a_failure_it_is_down_and_not_worth_trying_until_retry_after_passes(clock: Clock) -> None:
    health = Health("store", retry_after=1.0, clock=clock)

    health.failed(ConnectionRefusedError("down"))

    assert (health.up, health.worth_trying, health.errors) == (False, False, 1)
    clock.advance(0.9)
    assert not health.worth_trying
    clock.advance(0.2)
    # Worth one more try, but not up: only an answer says it is.
    assert (health.up, health.worth_trying) == (False, True)


def test_each_failure_puts_the_next_try_off_again(clock: Clock) -> None:
    health = Health("store", retry_after=1.0, clock=clock)
    health.failed(ConnectionRefusedError("down"))
    clock.advance(1.5)

    health.failed(ConnectionRefusedError("still down"))

    assert (health.worth_trying, health.errors) == (False, 2)
    clock.advance(1.0)
    assert health.worth_trying


def test_a_success_brings_it_back_up_at_once(clock: Clock) -> None:
    health = Health("store", retry_after=60.0, clock=clock)
    health.failed(ConnectionRefusedError("down"))

    health.succeeded()

    # Errors are a counter: they stay counted once the dependency is back.
    assert (health.up, health.worth_trying, health.errors) == (True, True, 1)


def test_redis_after_a_failure_stays_unused_as_a_cache_until_caught_up(clock: Clock) -> None:
    health = RedisHealth(retry_after=1.0, clock=clock)
    assert health.cache_usable

    health.failed(ConnectionResetError("gone"))
    assert (health.up, health.cache_usable) == (False, False)

    # Redis answers again (the coherence channel subscribes, say): up, but it may hold answers whose
    # invalidation it missed, so the shared cache still may not serve.
    clock.advance(5)
    health.succeeded()
    assert (health.up, health.worth_trying, health.cache_usable) == (True, True, False)

    health.caught_up()
    assert (health.up, health.cache_usable, health.behind_since) == (True, True, None)


def test_redis_is_behind_since_the_first_failure_of_an_outage_in_epoch_seconds(clock: Clock) -> None:
    # behind_since is wall-clock time (the journal is searched by it), whatever clock times the retries.
    health = RedisHealth(retry_after=1.0, clock=clock)
    before = time.time()

    health.failed(ConnectionResetError("gone"))
    first = health.behind_since
    health.failed(ConnectionResetError("gone again"))

    assert first is not None
    assert before <= first <= time.time()
    assert health.behind_since == first
    health.caught_up()
    health.failed(ConnectionResetError("a new outage"))
    assert health.behind_since is not None
    assert health.behind_since >= first


def test_caught_up_makes_redis_worth_trying_at_once(clock: Clock) -> None:
    health = RedisHealth(retry_after=60.0, clock=clock)
    health.failed(ConnectionResetError("gone"))

    health.caught_up()

    assert (health.up, health.worth_trying, health.cache_usable) == (True, True, True)


def test_the_metrics_show_each_dependency_as_its_health_has_it(clock: Clock) -> None:
    store, redis = Health("store", clock=clock), RedisHealth(clock=clock)
    metrics = Metrics(health=[store, redis])
    assert rendered_metrics(metrics)["idnode_store_up"] == 1

    store.failed(ConnectionRefusedError("down"))
    store.failed(ConnectionRefusedError("down"))
    found = rendered_metrics(metrics)

    assert found["idnode_store_up"] == 0
    assert found["idnode_store_errors_total"] == 2
    assert (found["idnode_redis_up"], found["idnode_redis_errors_total"]) == (1, 0)
    text = metrics.render()
    assert "# TYPE idnode_store_up gauge" in text
    assert "# TYPE idnode_store_errors_total counter" in text
    assert any(line.startswith("idnode_store_up{") and line.endswith(" 0") for line in text.splitlines())

    store.succeeded()
    assert rendered_metrics(metrics)["idnode_store_up"] == 1


def test_the_counters_no_longer_carry_up_gauges_of_their_own() -> None:
    # The up gauges and error counters are the health owners' alone: Metrics renders none without them.
    found = rendered_metrics(Metrics())

    assert not [name for name in found if name.endswith("_up") or "errors" in name]
    assert found["idnode_l1_hits_total"] == 0
