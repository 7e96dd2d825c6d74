"""Secrets checked against their argon2 hashes: once per burst of identical logins, remembered briefly."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Literal

from argon2 import PasswordHasher

from registry.passwords import BACKGROUND_NICE, HASH_THREADS, Passwords


class CountingHasher(PasswordHasher):
    """A cheap argon2 that counts its verifications (they run in threads)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.verifications += 1
        return super().verify(hash, password)


async def test_a_burst_of_logins_with_one_secret_costs_one_slow_hash() -> None:
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    stored = passwords.hash("enterprise-secret")
    answers = await asyncio.gather(*(passwords.verify(stored, "enterprise-secret") for _ in range(20)))
    assert answers == [True] * 20
    assert hasher.verifications == 1
    assert await passwords.verify(stored, "enterprise-secret")  # remembered
    assert hasher.verifications == 1


async def test_a_burst_of_wrong_secrets_is_refused_and_not_remembered() -> None:
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    stored = passwords.hash("enterprise-secret")
    answers = await asyncio.gather(*(passwords.verify(stored, "guess") for _ in range(10)))
    assert answers == [False] * 10
    assert hasher.verifications == 1
    assert not await passwords.verify(stored, "guess")
    assert hasher.verifications == 2  # checked again: a refusal is not kept
    assert await passwords.verify(stored, "enterprise-secret")


async def test_a_login_given_up_does_not_fail_the_others_waiting_with_it() -> None:
    passwords = Passwords(CountingHasher())
    stored = passwords.hash("enterprise-secret")
    first = asyncio.create_task(passwords.verify(stored, "enterprise-secret"))
    second = asyncio.create_task(passwords.verify(stored, "enterprise-secret"))
    await asyncio.sleep(0)
    first.cancel()  # its client went away
    assert await second


class WatchingHasher(CountingHasher):
    """Notes how many verifications run at once, and the priority of the threads they run on."""

    def __init__(self) -> None:
        super().__init__()
        self.running = self.most = 0
        self.nice: set[int] = set()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.nice.add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        try:
            time.sleep(0.02)  # long enough for the others to pile up
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


async def test_a_burst_of_logins_hashes_on_a_few_low_priority_threads_not_on_every_core() -> None:
    hasher = WatchingHasher()
    passwords = Passwords(hasher)
    stored = [passwords.hash(f"secret-{n}") for n in range(12)]

    answers = await asyncio.gather(*(passwords.verify(s, f"secret-{n}") for n, s in enumerate(stored)))

    assert answers == [True] * 12
    assert hasher.most == HASH_THREADS  # the rest queued
    normal = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert hasher.nice == {min(normal + BACKGROUND_NICE, 19)}  # below the event loop's thread
