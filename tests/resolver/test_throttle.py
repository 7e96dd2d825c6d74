"""The authentication throttle's rule, the same in process and in a real Redis: delays that double up to a
cap and end, per (account, address), per address and per account; a stranger cannot lock the owner out;
parallel guesses are checked one allowance at a time; Redis down, it counts in process."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from registry import AuthenticationFailed
from resolver.cache.redis_link import RedisLink
from resolver.health import RedisHealth
from resolver.settings import Settings, SettingsError
from resolver.throttle import AuthEvent, AuthThrottle, Limits, RedisCounters, Sources, Throttled
from tests.redis_servers import RedisCluster, RedisServer

NOW = 1_795_000_000.0
LIMITS = Limits(failures=3, lockout_max=8, window=60)
RIGHT = "right-secret"
STRANGER, OWNER = "198.51.100.7", "203.0.113.5"


@dataclass
class Rig:
    link: RedisLink | None
    clock: list[float] = field(default_factory=lambda: [NOW])
    events: list[AuthEvent] = field(default_factory=list)

    def throttle(self, limits: Limits = LIMITS, *, namespace: str = "idnode:test") -> AuthThrottle:
        async def listen(event: AuthEvent) -> None:
            self.events.append(event)

        shared = RedisCounters(self.link, limits, namespace=namespace) if self.link else None
        health = RedisHealth() if self.link else None
        return AuthThrottle(limits, shared=shared, redis=health, listener=listen, clock=lambda: self.clock[0])

    def advance(self, seconds: float) -> None:
        self.clock[0] += seconds


@pytest.fixture(params=["in process", "redis"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "in process":
        yield Rig(None)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    link = RedisLink.open(server.url)
    try:
        yield Rig(link)
    finally:
        await link.close()


async def check(throttle: AuthThrottle, account: str, secret: str, source: str) -> str:
    """One login: `ok`, `wrong`, or `429:<Retry-After>`."""
    try:
        async with throttle.attempt(account=account, secret=secret, source=source, dialect="snms"):
            await asyncio.sleep(0)  # the check of the secret
            if secret != RIGHT:
                raise AuthenticationFailed("wrong")
    except Throttled as refused:
        return f"429:{refused.retry_after}"
    except AuthenticationFailed:
        return "wrong"
    return "ok"


async def test_failures_past_the_allowance_delay_the_next_attempt_doubling_up_to_the_cap(rig: Rig) -> None:
    throttle = rig.throttle()
    assert [await check(throttle, "acme", "guess", STRANGER) for _ in range(3)] == ["wrong"] * 3
    seen = []
    for delay in (1, 2, 4, 8, 8):
        # Within the delay every attempt is refused unchecked, the right secret too, and counts for nothing.
        seen += {await check(throttle, "acme", secret, STRANGER) for secret in ["guess"] * 20 + [RIGHT]}
        rig.advance(delay)
        seen.append(await check(throttle, "acme", "guess", STRANGER))
    assert seen == ["429:1", "wrong", "429:2", "wrong", "429:4", "wrong", "429:8", "wrong", "429:8", "wrong"]

    rig.advance(8)
    assert await check(throttle, "acme", RIGHT, STRANGER) == "ok"
    # The right secret cleared the count: the allowance is whole again.
    assert [await check(throttle, "acme", "guess", STRANGER) for _ in range(4)] == ["wrong"] * 3 + ["429:1"]


async def test_a_stranger_hammering_an_account_does_not_hold_back_its_owner_elsewhere(rig: Rig) -> None:
    throttle = rig.throttle()
    for _ in range(60):  # a minute of guessing, as fast as the delays let it
        await check(throttle, "acme", "guess", STRANGER)
        rig.advance(1)

    assert await check(throttle, "acme", RIGHT, OWNER) == "ok"
    assert (await check(throttle, "acme", RIGHT, STRANGER)).startswith("429")


async def test_one_address_trying_many_accounts_is_held_back_on_every_account(rig: Rig) -> None:
    throttle = rig.throttle()
    answers = [await check(throttle, f"user-{n}", "guess", STRANGER) for n in range(13)]

    assert answers == ["wrong"] * 12 + ["429:1"]  # 4 × 3 failures from one address
    assert await check(throttle, "user-12", RIGHT, OWNER) == "ok"


async def test_many_addresses_on_one_account_hold_back_new_addresses_not_known_ones(rig: Rig) -> None:
    throttle = rig.throttle(Limits(failures=3, lockout_max=600, window=3600))
    assert await check(throttle, "acme", RIGHT, OWNER) == "ok"  # the owner's usual address
    for n in range(30):  # 10 × 3 failures, each from another address of a botnet
        assert await check(throttle, "acme", "guess", f"192.0.2.{n}") == "wrong"
    for n, wait in enumerate((1, 2, 4, 8, 16, 32)):  # and one more each time the account's delay ends
        rig.advance(wait)
        assert await check(throttle, "acme", "guess", f"192.0.2.{100 + n}") == "wrong"

    # Over a minute on, the owner's login is no longer "a moment ago": its address is known, that is all.
    assert await check(throttle, "acme", RIGHT, "203.0.113.99") == "429:64"  # a new address waits
    assert await check(throttle, "acme", RIGHT, OWNER) == "ok"  # a known one does not
    rig.advance(64)
    assert await check(throttle, "acme", RIGHT, "203.0.113.99") == "ok"  # and the wait ends


async def test_failures_are_forgotten_a_window_after_the_last(rig: Rig) -> None:
    throttle = rig.throttle(Limits(failures=3, lockout_max=1, window=1))
    assert [await check(throttle, "acme", "guess", STRANGER) for _ in range(4)] == ["wrong"] * 3 + ["429:1"]

    rig.advance(1.2)
    await asyncio.sleep(1.2)  # Redis forgets by its own clock

    assert [await check(throttle, "acme", "guess", STRANGER) for _ in range(4)] == ["wrong"] * 3 + ["429:1"]


async def test_parallel_guesses_are_checked_no_more_than_the_allowance(rig: Rig) -> None:
    throttle = rig.throttle()
    checked = 0

    async def guess() -> None:
        nonlocal checked
        async with throttle.attempt(account="acme", secret="guess", source=STRANGER, dialect="snms"):
            checked += 1
            await asyncio.sleep(0.05)
            raise AuthenticationFailed("wrong")

    answers = await asyncio.gather(*(guess() for _ in range(50)), return_exceptions=True)

    assert checked == 3
    assert sum(isinstance(a, Throttled) for a in answers) == 47


async def test_parallel_logins_with_the_right_secret_are_served_in_turns(rig: Rig) -> None:
    throttle = rig.throttle()

    async def login() -> None:
        async with throttle.attempt(account="acme", secret=RIGHT, source=OWNER, dialect="snms"):
            await asyncio.sleep(0.05)

    answers = await asyncio.gather(*(login() for _ in range(40)), return_exceptions=True)

    assert answers == [None] * 40


async def test_a_secret_right_a_moment_ago_passes_while_its_address_is_held_back(rig: Rig) -> None:
    throttle = rig.throttle()
    assert await check(throttle, "acme", RIGHT, OWNER) == "ok"
    for n in range(12):  # another MES behind the same address tries other accounts
        await check(throttle, f"user-{n}", "guess", OWNER)
    assert await check(throttle, "user-99", RIGHT, OWNER) == "429:1"

    assert await check(throttle, "acme", RIGHT, OWNER) == "ok"


async def test_failures_and_refusals_are_reported_refusals_once_per_step(rig: Rig) -> None:
    throttle = rig.throttle()
    for _ in range(3):
        await check(throttle, "acme", "guess", STRANGER)
    for _ in range(5):
        await check(throttle, "acme", "guess", STRANGER)
    rig.advance(1)
    for _ in range(4):
        await check(throttle, "acme", "guess", STRANGER)

    kinds = [event.kind for event in rig.events]
    assert kinds == ["auth_failed"] * 3 + ["throttled", "auth_failed", "throttled"]
    assert rig.events[0] == AuthEvent("auth_failed", "acme", STRANGER, "snms")


async def test_forged_tokens_are_counted_apart_from_passwords(rig: Rig) -> None:
    throttle = rig.throttle()
    for _ in range(12):
        await throttle.forged_token(source=STRANGER, dialect="snms")
    with pytest.raises(Throttled):
        await throttle.forged_token(source=STRANGER, dialect="snms")

    assert await check(throttle, "acme", RIGHT, STRANGER) == "ok"
    assert rig.events[0] == AuthEvent("auth_failed", None, STRANGER, "snms")


async def test_processes_sharing_a_redis_share_the_counts(redis_server: RedisServer) -> None:
    link = RedisLink.open(redis_server.url)
    try:
        rig = Rig(link)
        first, second = rig.throttle(), rig.throttle()
        assert await check(first, "acme", "guess", STRANGER) == "wrong"
        assert await check(second, "acme", "guess", STRANGER) == "wrong"
        assert await check(first, "acme", "guess", STRANGER) == "wrong"

        assert await check(second, "acme", "guess", STRANGER) == "429:1"
        # Another node on the same Redis counts apart.
        assert await check(rig.throttle(namespace="idnode:other"), "acme", "guess", STRANGER) == "wrong"
    finally:
        await link.close()


async def test_processes_sharing_a_redis_cluster_share_the_counts(redis_cluster: RedisCluster) -> None:
    link = RedisLink.open(redis_cluster.url)
    try:
        rig = Rig(link)
        first, second = rig.throttle(), rig.throttle()
        answers = [await check(throttle, "acme", "guess", STRANGER) for throttle in (first, second) * 2]

        assert answers == ["wrong"] * 3 + ["429:1"]
    finally:
        await link.close()


async def test_with_redis_down_each_process_still_throttles_on_its_own(redis_server: RedisServer) -> None:
    link = RedisLink.open(redis_server.url)
    try:
        health = RedisHealth()
        throttle = AuthThrottle(
            LIMITS, shared=RedisCounters(link, LIMITS, namespace="idnode:test"), redis=health
        )
        redis_server.stop()

        answers = [await check(throttle, "acme", "guess", STRANGER) for _ in range(4)]

        assert answers == ["wrong"] * 3 + ["429:1"]
        assert not health.up
    finally:
        await link.close()


def test_the_peer_is_the_source_unless_a_trusted_proxy_forwarded_the_request() -> None:
    direct = Sources()
    behind = Sources([ipaddress.ip_network("10.0.0.0/8")])

    assert direct.of("10.0.0.5", ["203.0.113.9"]) == "10.0.0.5"  # anyone may write the header
    assert behind.of("10.0.0.5", ["203.0.113.9"]) == "203.0.113.9"
    assert behind.of("10.0.0.5", ["198.51.100.1, 203.0.113.9", "10.0.0.7"]) == "203.0.113.9"
    assert behind.of("192.0.2.1", ["203.0.113.9"]) == "192.0.2.1"  # not from the proxy
    assert behind.of("10.0.0.5", ["forged-name"]) == "10.0.0.5"
    assert direct.of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"  # one subscriber's network
    assert direct.of("::ffff:192.0.2.7") == "192.0.2.7"
    assert direct.of(None) == "unknown"


def test_the_throttle_settings_are_read_and_checked() -> None:
    env = {"IDNODE_AUTH_FAILURES": "3", "IDNODE_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}
    settings = Settings.from_env(env)

    assert settings.auth_failures == 3
    assert settings.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1"))
    with pytest.raises(SettingsError, match="IDNODE_TRUSTED_PROXIES"):
        Settings.from_env({"IDNODE_TRUSTED_PROXIES": "a proxy"})
    with pytest.raises(SettingsError, match="IDNODE_AUTH_LOCKOUT_MAX"):
        Settings.from_env({"IDNODE_AUTH_LOCKOUT_MAX": "0"})
