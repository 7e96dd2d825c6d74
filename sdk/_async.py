"""`AsyncNodeClient`: the asyncio client, the same operations as `NodeClient` driven with `await`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from . import _writes as writes
from ._core import Call, Op, Reply, Values, Write
from ._errors import SdkError, TransportError
from ._models import BatchResult, Record, ScanResult, Trace, WriteResult
from ._retry import Retries, busy
from ._shell import Shell, reply_body, request_options
from ._trust import SIGNATURE_INDEX, SigningKey, VerifiedRecord

T = TypeVar("T")


class AsyncNodeClient(Shell):
    """A client of one identifier node for asyncio programs (see the package docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        secret: str | None = None,
        timeout: float = 10.0,
        retries: int | Retries = 4,
        outbox_path: str | Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        cache_size: int = 0,
        flush_interval: float | None = None,
        private_key: str | Path | None = None,
        key_index: int | None = None,
        key_password: str | bytes | None = None,
        node_prefix: str | None = None,
        node_keys: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(
            username=username, secret=secret, retries=retries, outbox_path=outbox_path, cache_size=cache_size,
            private_key=private_key, key_index=key_index, key_password=key_password,
            node_prefix=node_prefix, node_keys=node_keys,
        )  # fmt: skip
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self._flushing = asyncio.Lock()
        self._flush_interval = flush_interval
        self._flusher: asyncio.Task[None] | None = None

    async def _send(self, call: Call) -> Reply:
        for attempt in range(1, self._retries.attempts + 1):
            last = attempt == self._retries.attempts or not call.safe
            try:
                response = await self._http.request(call.method, call.path, **request_options(call))
            except httpx.TransportError as exc:
                if last:
                    raise TransportError(f"cannot reach the node: {exc!r}") from exc
            else:
                body = reply_body(response)
                if last or not busy(response.status_code, body):
                    return Reply(response.status_code, body, attempt)
            await asyncio.sleep(self._retries.delay(attempt))
        raise AssertionError("unreachable")

    async def _run(self, op: Op[T]) -> T:
        try:
            call = next(op)
            while True:
                call = op.send(await self._send(call))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _write(self, write: Write) -> list[WriteResult]:
        self._start_flusher()
        self._forget_cached(write)
        outbox = self._outbox
        if outbox is not None and await asyncio.to_thread(outbox.pending) > 0:
            await asyncio.to_thread(outbox.add, write)
            return writes.queued(write)
        try:
            return await self._run(self._core.perform(write))
        except TransportError:
            if outbox is None:
                raise
            await asyncio.to_thread(outbox.add, write)
            return writes.queued(write)

    async def resolve(
        self,
        handle: str,
        *,
        types: Sequence[str] | None = None,
        indexes: Sequence[int] | None = None,
        signed: bool = False,
    ) -> Record | None:
        if signed:  # the node's signature checked (SignatureError if missing or bad); never from the cache
            op = self._core.resolve_signed(handle, types or (), indexes or (), self._trust)
            return (await self._run(op))[0]
        if (cached := self._cached(handle, types, indexes)) is not None:
            return cached
        record = await self._run(self._core.resolve(handle, types or (), indexes or ()))
        self._keep(record, types, indexes)
        return record

    async def verify_record(self, handle: str) -> VerifiedRecord:
        """The record of `handle`, signed by the node and every value anyone may read covered by value
        signatures (HS_SIGNATURE) whose keys the node vouches for; `SignatureError` otherwise."""
        return await self._run(self._core.verify_record(handle, self._trust))

    async def sign(self, handle: str, key: SigningKey, *, index: int = SIGNATURE_INDEX) -> WriteResult:
        """Sign what anyone may read of `handle` with the enterprise's `key` (an HS_SIGNATURE value at
        `index`, replacing the one there): do it after each write of the record, as a changed value no
        longer verifies."""
        return await self._run(self._core.sign(handle, key, index))

    async def trace(
        self,
        handle: str,
        *,
        direction: str = "both",
        depth: int | None = None,
        types: Sequence[str] = (),
        authenticated: bool = False,
    ) -> Trace:
        """The genealogy of `handle`: `up` toward its origins (what it was made from, what went into it),
        `down` toward what was made from it and where it went, or `both`; at most `depth` links away (the
        node's default 10, at most 50), only links of `types` when given (`madeFrom`, `LINK.partOf`…). As
        anyone may see it, or with `authenticated` as the client's principal may."""
        return await self._run(self._core.trace(handle, direction, depth, types, authenticated=authenticated))

    async def resolve_many(self, handles: Sequence[str]) -> list[Record | None]:
        return await self._run(self._core.resolve_many(list(handles)))

    async def scan(self, text: str) -> ScanResult:
        """What the node understands a scanned label as, and its records (as `NodeClient.scan`)."""
        return await self._run(self._core.scan(text))

    async def handles(self, prefix: str, *, page_size: int = 1_000) -> AsyncIterator[str]:
        """Every handle under `prefix`, a page at a time (needs the prefix's administrator)."""
        page = 0
        while True:
            _, names = await self._run(self._core.handles_page(prefix, page, page_size))
            for name in names:
                yield name
            if len(names) < page_size:
                return
            page += 1

    async def count(self, prefix: str) -> int:
        return (await self._run(self._core.handles_page(prefix, 0, 0)))[0]

    async def template(self, prefix: str, version: str | None = None) -> Any:
        return await self._run(self._core.template(prefix, version))

    async def add_template(self, body: Mapping[str, Any]) -> None:
        await self._run(self._core.add_template(body))

    async def register(
        self, handle: str, values: Values, *, template_version: str | None = None
    ) -> WriteResult:
        return (await self._write(writes.single("register", handle, values, template_version)))[0]

    async def register_many(
        self,
        records: Iterable[Record | tuple[str, Values]],
        *,
        chunk_size: int = 1_000,
        template_version: str | None = None,
    ) -> BatchResult:
        results: list[WriteResult] = []
        for chunk in writes.batches(records, chunk_size, template_version):
            results += await self._write(chunk)
        return BatchResult(results)

    async def update(
        self, handle: str, values: Values, *, template_version: str | None = None
    ) -> WriteResult:
        return (await self._write(writes.single("update", handle, values, template_version)))[0]

    async def delete(self, handle: str) -> WriteResult:
        return (await self._write(writes.single("delete", handle)))[0]

    async def link(self, parent: str, child: str, *, relation: str = "partOf") -> WriteResult:
        return (await self._write(writes.linking(parent, child, relation)))[0]

    async def pending(self) -> int:
        """Records waiting in the outbox."""
        return await asyncio.to_thread(self._outbox.records_pending) if self._outbox is not None else 0

    async def flush_outbox(self) -> writes.FlushReport:
        """Deliver queued writes, oldest first, until the outbox is empty or the node is unreachable again."""
        outbox = self._outbox
        if outbox is None:
            return writes.FlushReport(0, [], 0)
        delivered, refused = 0, list[tuple[str, str]]()
        async with self._flushing:
            while batch := await asyncio.to_thread(outbox.oldest):
                for seq, write in batch:
                    try:
                        delivered += len(await self._run(self._core.perform(write)))
                    except TransportError:
                        return writes.FlushReport(delivered, refused, await asyncio.to_thread(outbox.pending))
                    except SdkError as exc:
                        await asyncio.to_thread(outbox.give_up, seq, exc.message)
                        refused.append((write.handle or write.op, exc.message))
                        continue
                    await asyncio.to_thread(outbox.delivered, seq)
        return writes.FlushReport(delivered, refused, 0)

    def _start_flusher(self) -> None:
        if self._flush_interval is not None and self._outbox is not None and self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_every(self._flush_interval))

    async def _flush_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):  # the flusher must outlive any one failure
                await self.flush_outbox()

    async def aclose(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self._http.aclose()
        if self._outbox is not None:
            self._outbox.close()

    async def __aenter__(self) -> AsyncNodeClient:
        self._start_flusher()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
