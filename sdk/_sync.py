"""`NodeClient`: the blocking client. It only sends the core's calls (with retries) and keeps the outbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
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


class NodeClient(Shell):
    """A client of one identifier node (see the package docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        secret: str | None = None,
        timeout: float = 10.0,
        retries: int | Retries = 4,
        outbox_path: str | Path | None = None,
        transport: httpx.BaseTransport | None = None,
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
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if flush_interval is not None and self._outbox is not None:
            self._flusher = threading.Thread(target=self._flush_every, args=(flush_interval,), daemon=True)
            self._flusher.start()

    # -- driving the core ---------------------------------------------------------------------------------

    def _send(self, call: Call) -> Reply:
        for attempt in range(1, self._retries.attempts + 1):
            last = attempt == self._retries.attempts or not call.safe
            try:
                response = self._http.request(call.method, call.path, **request_options(call))
            except httpx.TransportError as exc:
                if last:
                    raise TransportError(f"cannot reach the node: {exc!r}") from exc
            else:
                body = reply_body(response)
                if last or not busy(response.status_code, body):
                    return Reply(response.status_code, body, attempt)
            time.sleep(self._retries.delay(attempt))
        raise AssertionError("unreachable")

    def _run(self, op: Op[T]) -> T:
        try:
            call = next(op)
            while True:
                call = op.send(self._send(call))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _write(self, write: Write) -> list[WriteResult]:
        """Do `write`, or queue it when there is an outbox and the node cannot be reached (or others wait)."""
        self._forget_cached(write)
        if self._outbox is not None and self._outbox.pending():
            self._outbox.add(write)
            return writes.queued(write)
        try:
            return self._run(self._core.perform(write))
        except TransportError:
            if self._outbox is None:
                raise
            self._outbox.add(write)
            return writes.queued(write)

    # -- reading ------------------------------------------------------------------------------------------

    def resolve(
        self,
        handle: str,
        *,
        types: Sequence[str] | None = None,
        indexes: Sequence[int] | None = None,
        signed: bool = False,
    ) -> Record | None:
        """The record of `handle` (only values of `types` or at `indexes`, when given), or None."""
        if signed:  # the node's signature checked (SignatureError if missing or bad); never from the cache
            op = self._core.resolve_signed(handle, types or (), indexes or (), self._trust)
            return (self._run(op))[0]
        if (cached := self._cached(handle, types, indexes)) is not None:
            return cached
        record = self._run(self._core.resolve(handle, types or (), indexes or ()))
        self._keep(record, types, indexes)
        return record

    def verify_record(self, handle: str) -> VerifiedRecord:
        """The record of `handle`, signed by the node and every value anyone may read covered by value
        signatures (HS_SIGNATURE) whose keys the node vouches for; `SignatureError` otherwise."""
        return self._run(self._core.verify_record(handle, self._trust))

    def sign(self, handle: str, key: SigningKey, *, index: int = SIGNATURE_INDEX) -> WriteResult:
        """Sign what anyone may read of `handle` with the enterprise's `key` (an HS_SIGNATURE value at
        `index`, replacing the one there): do it after each write of the record, as a changed value no
        longer verifies."""
        return self._run(self._core.sign(handle, key, index))

    def trace(
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
        return self._run(self._core.trace(handle, direction, depth, types, authenticated=authenticated))

    def resolve_many(self, handles: Sequence[str]) -> list[Record | None]:
        """Records of `handles` in their order (None where a handle does not exist), 1,000 a call."""
        return self._run(self._core.resolve_many(list(handles)))

    def scan(self, text: str) -> ScanResult:
        """What the node understands `text` — what a scanner delivered: an ISO/IEC 15434 message, a GS1
        element string or Digital Link URI, a node's URL, a handle — as, and the records it leads to.
        `RequestError` (code 4) for a text it cannot understand or a wrong check digit."""
        return self._run(self._core.scan(text))

    def handles(self, prefix: str, *, page_size: int = 1_000) -> Iterator[str]:
        """Every handle under `prefix`, a page at a time (needs the prefix's administrator)."""
        page = 0
        while True:
            _, names = self._run(self._core.handles_page(prefix, page, page_size))
            yield from names
            if len(names) < page_size:
                return
            page += 1

    def count(self, prefix: str) -> int:
        """How many handles there are under `prefix`."""
        return self._run(self._core.handles_page(prefix, 0, 0))[0]

    def template(self, prefix: str, version: str | None = None) -> Any:
        """A data template (its SNMS JSON form), or all versions of the prefix's templates."""
        return self._run(self._core.template(prefix, version))

    def add_template(self, body: Mapping[str, Any]) -> None:
        """Create a data template from its SNMS JSON form."""
        self._run(self._core.add_template(body))

    # -- writing ------------------------------------------------------------------------------------------

    def register(self, handle: str, values: Values, *, template_version: str | None = None) -> WriteResult:
        """Create `handle` with `values`: a type → text mapping (indexes from the template, else 1, 2, …)
        or a list of `HandleValue`. Safe to repeat: a create meeting its own earlier success is `existed`."""
        return self._write(writes.single("register", handle, values, template_version))[0]

    def register_many(
        self,
        records: Iterable[Record | tuple[str, Values]],
        *,
        chunk_size: int = 1_000,
        template_version: str | None = None,
    ) -> BatchResult:
        """Register many records, `chunk_size` a call, each with its own result (in order)."""
        results: list[WriteResult] = []
        for chunk in writes.batches(records, chunk_size, template_version):
            results += self._write(chunk)
        return BatchResult(results)

    def update(self, handle: str, values: Values, *, template_version: str | None = None) -> WriteResult:
        """Replace the template and business values of `handle` (its system values stay)."""
        return self._write(writes.single("update", handle, values, template_version))[0]

    def delete(self, handle: str) -> WriteResult:
        return self._write(writes.single("delete", handle))[0]

    def link(self, parent: str, child: str, *, relation: str = "partOf") -> WriteResult:
        """Record on `child` that it is `relation` of `parent` (a part of an assembly, a coil of a heat)."""
        return self._write(writes.linking(parent, child, relation))[0]

    # -- the outbox ---------------------------------------------------------------------------------------

    def pending(self) -> int:
        """Records waiting in the outbox."""
        return self._outbox.records_pending() if self._outbox is not None else 0

    def flush_outbox(self) -> writes.FlushReport:
        """Deliver queued writes, oldest first, until the outbox is empty or the node is unreachable again."""
        if self._outbox is None:
            return writes.FlushReport(0, [], 0)
        delivered, refused = 0, list[tuple[str, str]]()
        with self._flushing:
            while batch := self._outbox.oldest():
                for seq, write in batch:
                    try:
                        delivered += len(self._run(self._core.perform(write)))
                    except TransportError:
                        return writes.FlushReport(delivered, refused, self._outbox.pending())
                    except SdkError as exc:
                        self._outbox.give_up(seq, exc.message)
                        refused.append((write.handle or write.op, exc.message))
                        continue
                    self._outbox.delivered(seq)
        return writes.FlushReport(delivered, refused, 0)

    def _flush_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.flush_outbox()
            except Exception:  # the flusher must outlive any one failure
                continue

    def close(self) -> None:
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=30)
        self._http.close()
        if self._outbox is not None:
            self._outbox.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
