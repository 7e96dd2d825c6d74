"""Secrets are kept only as slow, salted hashes (argon2id).

Handle REST clients send their secret with every write, so a verified secret is remembered for a short while
as a keyed digest; the slow hash is then paid once per client and minute, not per request.

A check against nothing (an unknown user, a principal without a key) is made against a dummy hash of the same
parameters, so that it takes as long as a wrong secret for a real one: the time does not tell who exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")

HASH_MARK = "$argon2"
# Slow hashes at once, per process: a burst of logins queues for these threads rather than taking every core.
HASH_THREADS = 2
# The hashing threads' priority under the event loop's; argon2's lane threads inherit it.
BACKGROUND_NICE = 10


def _in_background() -> None:
    """Lower the calling thread's priority, so that the event loop's resolutions go first on a busy CPU."""
    if sys.platform == "linux":  # where a thread has a priority of its own (setpriority takes its id)
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


class Passwords:
    """Hashes and verifies secrets; `clock` is replaceable for tests."""

    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        remember_seconds: float = 60.0,
        remember_max: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._remember_seconds = remember_seconds
        self._remember_max = remember_max
        self._clock = clock
        self._key = os.urandom(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._checking: dict[bytes, asyncio.Future[bool]] = {}
        self._dummy: str | None = None
        self._threads: ThreadPoolExecutor | None = None

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    async def hashed(self, secret: str) -> str:
        """`hash(secret)` on the hashing threads (the slow hash would stall the event loop)."""
        return await self._off_loop(self.hash, secret)

    async def _off_loop(self, work: Callable[..., T], *args: str) -> T:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(
                HASH_THREADS, thread_name_prefix="idnode-hash", initializer=_in_background
            )
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    async def verify(self, stored: str, secret: str) -> bool:
        """True when `secret` matches the stored hash."""
        if not stored.startswith(HASH_MARK):
            return await self.verify_nothing(secret)
        token = hmac.digest(self._key, f"{stored}\0{secret}".encode(), hashlib.sha256)
        expires = self._verified.get(token)
        if expires is not None and expires > self._clock():
            return True
        return await asyncio.shield(self._checked(token, stored, secret))

    async def verify_nothing(self, secret: str) -> bool:
        """False, after as long as checking `secret` against a real hash takes."""
        if self._dummy is None:
            self._dummy = await self.hashed(os.urandom(16).hex())
        await self.verify(self._dummy, secret)
        return False

    def _checked(self, token: bytes, stored: str, secret: str) -> asyncio.Future[bool]:
        """The check of `secret` against `stored`, made once however many ask at the same time: a burst of
        logins with one secret (every MES line of a plant reconnecting after a restart) waits for one slow
        hash rather than queueing many."""
        checking = self._checking.get(token)
        if checking is None:
            checking = asyncio.ensure_future(self._off_loop(self._check, stored, secret))
            self._checking[token] = checking
            checking.add_done_callback(lambda done: self._done(token, done))
        return checking

    def _done(self, token: bytes, check: asyncio.Future[bool]) -> None:
        del self._checking[token]
        if not check.cancelled() and check.exception() is None and check.result():
            self._remember(token)

    def _check(self, stored: str, secret: str) -> bool:
        try:
            return self._hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False

    def _remember(self, token: bytes) -> None:
        self._verified[token] = self._clock() + self._remember_seconds
        self._verified.move_to_end(token)
        while len(self._verified) > self._remember_max:
            self._verified.popitem(last=False)
