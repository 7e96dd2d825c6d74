"""Coherence: after a write commits, no process serves the old answer from its cache.

A reader notes a handle's token before fetching it and caches the answer with that token; a hit is served
only while the token is unchanged (`slots.py`). Writers change tokens:

- `LocalCoherence` (no Redis): tokens live in shared memory next to the database, so the writer's bump is
  seen at once by every process on the host. Processes on other hosts need Redis.
- `RedisCoherence`: each process keeps its own tokens and subscribes to a channel; a writer bumps its own,
  publishes the changed handles, and waits until every other subscriber has bumped theirs and said so (its
  PUBLISH counts them). A process whose subscription is down serves no L1 hits (`usable` is false) and
  drops all its tokens when it subscribes again, since it may have missed changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy.engine import make_url

from resolver.health import RedisHealth
from resolver.metrics import Metrics

from .redis_link import REDIS_FAILURES, RedisLink
from .slots import SharedSlots, Slots

log = logging.getLogger("idnode.coherence")


class Coherence(Protocol):
    @property
    def usable(self) -> bool:
        """Whether cached answers may be served at all."""
        ...

    def token(self, key: str) -> int: ...

    def changed_here(self, keys: Sequence[str]) -> None:
        """Bump the tokens of `keys` as this process (and whoever shares its tokens) sees them."""
        ...

    async def announce(self, keys: Sequence[str]) -> None:
        """Tell every other process; return once they have dropped the old answers (or a timeout passed)."""
        ...

    async def start(self, on_remote: Callable[[Sequence[str] | None], None]) -> None:
        """Begin receiving other processes' changes; `on_remote(None)` means "forget everything"."""
        ...

    async def wait_usable(self) -> None:
        """Return once announcements can be made and confirmed."""
        ...

    async def close(self) -> None: ...


def shared_slots_path(database_url: str) -> Path:
    """Where the processes sharing a database keep their tokens: beside a SQLite file, else in /dev/shm."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_suffix(".coherence")
    shm = Path("/dev/shm")
    folder = shm if shm.is_dir() else Path(tempfile.gettempdir())
    digest = hashlib.sha256(url.render_as_string(hide_password=False).encode()).hexdigest()[:16]
    return folder / f"idnode-{digest}.coherence"


class LocalCoherence:
    usable = True

    def __init__(self, path: Path) -> None:
        self._slots = SharedSlots(path)

    def token(self, key: str) -> int:
        return self._slots.token(key)

    def changed_here(self, keys: Sequence[str]) -> None:
        self._slots.bump(keys)

    async def announce(self, keys: Sequence[str]) -> None:
        return None  # the shared table already told every process on this host

    async def start(self, on_remote: Callable[[Sequence[str] | None], None]) -> None:
        return None

    async def wait_usable(self) -> None:
        return None

    async def close(self) -> None:
        self._slots.close()


@dataclass
class _Confirmations:
    """Acknowledgements of one announcement; they may arrive before PUBLISH has told how many to expect."""

    done: asyncio.Future[None]
    expected: int | None = None
    received: int = field(default=0)

    def check(self) -> None:
        if self.expected is not None and self.received >= self.expected and not self.done.done():
            self.done.set_result(None)


class RedisCoherence:
    def __init__(
        self, link: RedisLink, metrics: Metrics, health: RedisHealth, *, namespace: str, timeout: float
    ) -> None:
        self._link = link
        self._metrics = metrics
        self._health = health
        self._timeout = timeout
        self._slots = Slots()
        self._namespace = namespace
        self._member = uuid.uuid4().hex
        self._channel = f"{namespace}:changes"
        self._acks = self._ack_channel(self._member)
        self._waiting: dict[str, _Confirmations] = {}
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def usable(self) -> bool:
        return self._subscribed.is_set()

    def _ack_channel(self, member: str) -> str:
        return f"{self._namespace}:acks:{member}"

    def token(self, key: str) -> int:
        return self._slots.token(key)

    def changed_here(self, keys: Sequence[str]) -> None:
        self._slots.bump(keys)

    async def announce(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        request = uuid.uuid4().hex
        message = f"{self._member} {request}\n" + "\n".join(keys)
        waiting = self._waiting[request] = _Confirmations(asyncio.get_running_loop().create_future())
        try:
            client = await self._link.channel_client(self._channel)
            receivers = int(await client.publish(self._channel, message))
            self._metrics.invalidations_sent += 1
            # The count includes this process when it is subscribed; it does not answer itself.
            waiting.expected = receivers - 1 if self.usable else receivers
            waiting.check()
            await asyncio.wait_for(waiting.done, self._timeout)
        except REDIS_FAILURES as exc:
            # Nobody can be told; processes that cannot reach Redis either stop serving cached answers.
            log.warning("could not announce %d changes: %s", len(keys), exc)
            self._health.failed(exc)
        except TimeoutError:
            self._metrics.invalidation_timeouts += 1
            log.warning("not every process confirmed changes to %s within %ss", keys[0], self._timeout)
        finally:
            self._waiting.pop(request, None)

    async def start(self, on_remote: Callable[[Sequence[str] | None], None]) -> None:
        self._task = asyncio.create_task(self._listen(on_remote), name="coherence")

    async def wait_usable(self) -> None:
        await self._subscribed.wait()

    async def _listen(self, on_remote: Callable[[Sequence[str] | None], None]) -> None:
        delay = 0.05
        while True:
            try:
                client = await self._link.channel_client(self._channel)
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel, self._acks)
                    # Changes made while we were not listening are unknown: forget every answer.
                    self._slots.bump_all()
                    on_remote(None)
                    self._subscribed.set()
                    delay = 0.05
                    self._health.succeeded()
                    await self._receive(pubsub, client, on_remote)
            except REDIS_FAILURES as exc:
                log.warning("coherence channel lost (%s); retrying in %.2fs", exc, delay)
                self._health.failed(exc)
            self._subscribed.clear()
            await self._link.forget_channel_client()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _receive(
        self, pubsub: PubSub, client: Redis, on_remote: Callable[[Sequence[str] | None], None]
    ) -> None:
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            data: bytes = message["data"]
            if message["channel"] == self._acks.encode():
                self._acknowledged(data.decode())
                continue
            header, _, body = data.decode().partition("\n")
            writer, _, request = header.partition(" ")
            if writer == self._member:
                continue
            keys = body.split("\n")
            self._slots.bump(keys)
            on_remote(keys)
            self._metrics.invalidations_received += 1
            await client.publish(self._ack_channel(writer), request)

    def _acknowledged(self, request: str) -> None:
        waiting = self._waiting.get(request)
        if waiting is not None:
            waiting.received += 1
            waiting.check()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
