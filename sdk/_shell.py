"""What both clients share around the core: the retry policy, outbox and read cache, and how calls become
httpx requests and replies. The clients differ only in how they wait (blocking or `await`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson

from ._cache import ReadCache
from ._core import Call, Core, Write
from ._keys import KeyCore, Signer, administrator
from ._models import Record
from ._outbox import Outbox
from ._retry import Retries
from ._trust import NodeTrust


def reply_body(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def request_options(call: Call) -> dict[str, Any]:
    """httpx's keyword arguments for `call`; bodies are encoded with orjson (batches run to megabytes)."""
    options: dict[str, Any] = {"params": list(call.params), "headers": dict(call.headers)}
    if call.body is not None:
        options["content"] = orjson.dumps(call.body)
        options["headers"]["Content-Type"] = "application/json"
    return options


class Shell:
    def __init__(
        self,
        *,
        username: str | None,
        secret: str | None,
        retries: int | Retries,
        outbox_path: str | Path | None,
        cache_size: int,
        private_key: str | Path | None = None,
        key_index: int | None = None,
        key_password: str | bytes | None = None,
        node_prefix: str | None = None,
        node_keys: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self._core = Core(username=username, secret=secret)
        if private_key is not None:
            if not username:
                raise ValueError("a private key needs the username of its administrator, 300:0.NA/<prefix>")
            signer = Signer(private_key, administrator(username, key_index), password=key_password)
            self._core = KeyCore(signer, secret=secret)
        self._trust = NodeTrust(node_prefix, node_keys)
        self._retries = retries if isinstance(retries, Retries) else Retries(attempts=max(1, retries))
        self._outbox = Outbox(outbox_path) if outbox_path is not None else None
        self._cache = ReadCache(cache_size)

    def _forget_cached(self, write: Write) -> None:
        """A client's own write must never be hidden by its cache."""
        for item in write.items or (write,):
            self._cache.forget(item.handle)

    def _cached(
        self, handle: str, types: Sequence[str] | None, indexes: Sequence[int] | None
    ) -> Record | None:
        return self._cache.get(handle) if not types and not indexes else None

    def _keep(
        self, record: Record | None, types: Sequence[str] | None, indexes: Sequence[int] | None
    ) -> None:
        if record is not None and not types and not indexes:
            self._cache.put(record)
