"""Asking another node: over its Handle REST API (`http://`, `https://`: every idnode has one), or over the
native protocol's TCP (`tcp://`: every Handle server has that, the national top-level node among them).

Each server's health is kept (`Health`): after a failure, queries to it fail at once for a moment instead of
each waiting its timeout. A query carries how many nodes it passed through (`RECURSION_HEADER`), so that
nodes misconfigured into a loop end it with an error rather than a storm.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from ..answer import Answer, RemoteAnswer
from ..health import Health
from ..pipeline import NotHomed, RecursionLimit, UpstreamUnavailable
from .native import FAILURES, NativeAsker

log = logging.getLogger("idnode.upstream")

# How many nodes a query passed through before this one (the native protocol's recursion count, in HTTP).
RECURSION_HEADER = "Idnode-Recursion-Count"
SUCCESS, HANDLE_NOT_FOUND, RECURSION_TOO_HIGH = 1, 100, 6
SERVICE_REFERRAL, PREFIX_REFERRAL = 302, 303
BUSY = (2, 3, 7)  # error, too busy, in backup: the node cannot answer now
NATIVE_SCHEME = "tcp://"


class Referred(Exception):
    """The node asked answered with a referral: the site it names is where to ask instead."""

    def __init__(self, site: Answer) -> None:
        super().__init__("referred")
        self.site = site


class Remote:
    """HTTP to other nodes: one connection pool, a timeout per hop, the health of each server."""

    def __init__(self, *, timeout: float, retry_after: float, parent: str | None = None) -> None:
        self._client = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=64, max_keepalive_connections=16)
        )
        self._timeout = timeout
        self._native: dict[str, NativeAsker] = {}  # one per server, its connections kept open
        self._retry_after = retry_after
        self._health: dict[str, Health] = {}
        self.parent_health = None if parent is None else self.health_of(parent, name="parent")

    def health_of(self, base: str, *, name: str = "upstream") -> Health:
        health = self._health.get(base)
        if health is None:
            health = self._health[base] = Health(name, retry_after=self._retry_after)
        return health

    async def resolve(self, base: str, handle: str, *, hops: int, signed: bool = False) -> Answer | None:
        """`handle` as the node at `base` answers it to anyone (its public values); None: not there. With
        `signed`, an HTTP node is asked for its signed answer, kept as it came (`RemoteAnswer.signed`)."""
        health = self.health_of(base)
        if not health.worth_trying:
            raise UpstreamUnavailable(f"the node at {base} did not answer just now")
        if base.startswith(NATIVE_SCHEME):
            return await self._natively(base, handle, hops, health)
        url = f"{base}/api/handles/{quote(handle, safe='/')}" + ("?cert=true" if signed else "")
        try:
            reply = await self._client.get(url, headers={RECURSION_HEADER: str(hops)})
        except httpx.HTTPError as exc:
            health.failed(exc)
            raise UpstreamUnavailable(f"the node at {base} did not answer ({type(exc).__name__})") from None
        answer = _answer(base, handle, reply, health)
        if signed and isinstance(answer, RemoteAnswer) and reply.status_code == 200:
            answer.signed = reply.content
        return answer

    async def _natively(self, base: str, handle: str, hops: int, health: Health) -> Answer | None:
        asker = self._native.get(base)
        if asker is None:
            host, _, port = base.removeprefix(NATIVE_SCHEME).rpartition(":")
            asker = self._native[base] = NativeAsker(host.strip("[]"), int(port), timeout=self._timeout)
        try:
            code, values = await asker.relay(handle, recursion=hops)
        except FAILURES as exc:
            health.failed(exc)
            raise UpstreamUnavailable(f"the node at {base} did not answer ({type(exc).__name__})") from None
        return _outcome(base, handle, code, {"responseCode": code, "values": values}, health)

    async def close(self) -> None:
        await self._client.aclose()
        for asker in self._native.values():
            await asker.close()


def _answer(base: str, handle: str, reply: httpx.Response, health: Health) -> Answer | None:
    try:
        body: Any = orjson.loads(reply.content)
        code = int(body["responseCode"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        health.failed(ValueError(f"HTTP {reply.status_code} without a Handle answer"))
        raise UpstreamUnavailable(f"the node at {base} answered HTTP {reply.status_code}, not JSON") from None
    return _outcome(base, handle, code, body, health)


def _outcome(base: str, handle: str, code: int, body: dict[str, Any], health: Health) -> Answer | None:
    """What a node's answer means here, in the Handle System's codes whatever the transport."""
    if code in BUSY:
        health.failed(ValueError(f"responseCode {code}"))
        raise UpstreamUnavailable(f"the node at {base} could not answer: {body.get('message', code)}")
    health.succeeded()
    if code == SUCCESS and isinstance(body.get("values"), list):
        return RemoteAnswer.from_stored(orjson.dumps(body["values"]))
    if code == HANDLE_NOT_FOUND:
        return None
    if code in (SERVICE_REFERRAL, PREFIX_REFERRAL) and isinstance(body.get("values"), list):
        raise Referred(Answer.from_stored(orjson.dumps(body["values"])))
    if code == RECURSION_TOO_HIGH:
        raise RecursionLimit(f"{handle}: the query passed through too many nodes")
    raise NotHomed(
        f"the node at {base} does not answer for {handle}: {body.get('message', code)}", handle=handle
    )
