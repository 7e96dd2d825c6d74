"""One connection to one Redis server for the read path's lookups and fills: pipelined, replies parsed by
hiredis.

redis-py's asyncio client spends far more time per command than Redis itself does; the L2 lookups of one
instant are sent here as one write on one long-lived connection and their replies read as they arrive. Only
plain `redis://` servers; a cluster, TLS or sockets go through redis-py.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import hiredis
from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


def _command(*parts: bytes) -> bytes:
    head = b"*%d\r\n" % len(parts)
    return head + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


@dataclass
class _Batch:
    count: int
    done: asyncio.Future[list[Any]]
    replies: list[Any] = field(default_factory=list)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._pending: deque[_Batch] = deque()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def send(self, payload: bytes, count: int) -> asyncio.Future[list[Any]]:
        if self.transport is None:
            raise RedisConnectionError("the connection to Redis is closed")
        batch = _Batch(count, asyncio.get_running_loop().create_future())
        self._pending.append(batch)
        self.transport.write(payload)
        return batch.done

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            batch = self._pending[0]
            batch.replies.append(reply)
            if len(batch.replies) == batch.count:
                self._pending.popleft()
                self._settle(batch)

    @staticmethod
    def _settle(batch: _Batch) -> None:
        if batch.done.done():  # its waiter timed out
            return
        failed = next((r for r in batch.replies if isinstance(r, hiredis.ReplyError)), None)
        if failed is not None:
            error = NoScriptError if str(failed).startswith("NOSCRIPT") else ResponseError
            batch.done.set_exception(error(str(failed)))
        else:
            batch.done.set_result(batch.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        while self._pending:
            done = self._pending.popleft().done
            if not done.done():
                done.set_exception(RedisConnectionError(f"connection to Redis lost: {exc}"))


class PipelinedConnection:
    def __init__(self, url: str, *, timeout: float = 1.0) -> None:
        options = parse_url(url)
        self._host = str(options.get("host", "127.0.0.1"))
        self._port = int(options.get("port", 6379))
        self._setup = [_command(b"SELECT", str(options.get("db", 0)).encode())]
        if options.get("password"):
            credentials = [options[k] for k in ("username", "password") if options.get(k)]
            self._setup.insert(0, _command(b"AUTH", *(str(c).encode() for c in credentials)))
        self._timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting = asyncio.Lock()

    async def _connected(self) -> _Protocol:
        if self._protocol is not None and self._protocol.transport is not None:
            return self._protocol
        async with self._connecting:
            if self._protocol is None or self._protocol.transport is None:
                try:
                    _, protocol = await asyncio.wait_for(
                        asyncio.get_running_loop().create_connection(_Protocol, self._host, self._port),
                        self._timeout,
                    )
                except (OSError, TimeoutError) as exc:
                    raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
                self._protocol = protocol
                try:
                    await self._wait(protocol.send(b"".join(self._setup), len(self._setup)))
                except ResponseError:  # refused credentials or database: no use keeping the connection
                    await self.close()
                    raise
        return self._protocol

    async def _wait(self, done: asyncio.Future[list[Any]]) -> list[Any]:
        try:
            return await asyncio.wait_for(done, self._timeout)
        except TimeoutError:
            # Replies may still come, in order: the connection cannot be trusted to pair them any more.
            if self._protocol is not None and self._protocol.transport is not None:
                self._protocol.transport.close()
            raise RedisTimeoutError("Redis did not answer in time") from None

    async def hmget_many(self, keys: Sequence[str], fields: Sequence[str]) -> list[list[bytes | None]]:
        """`HMGET key fields…` for every key, in one write; the replies in the order of `keys`."""
        names = [f.encode() for f in fields]
        return await self.call_many([(b"HMGET", key.encode(), *names) for key in keys])

    async def call_many(self, commands: Sequence[Sequence[bytes]]) -> list[Any]:
        """Send `commands` in one write; their replies, in order. An error reply fails the whole call
        (`NoScriptError` for an EVALSHA of a script the server does not know)."""
        if not commands:
            return []
        protocol = await self._connected()
        payload = b"".join(_command(*command) for command in commands)
        return await self._wait(protocol.send(payload, len(commands)))

    async def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
