"""Sending the outbox to the parent: `POST {parent}/api/reports` as the administrator of the node's prefix
handle there, in batches, oldest first; a failed batch is tried again later, each time later (exponential
back-off with jitter), and is kept until the parent has taken it. The parent stores each report once, so a
batch sent again after a timeout that hid its success does no harm."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import orjson

from registry.hierarchy import Parent, parent_principal
from registry.reporting import Outbox, Queued

from ..health import Health
from . import formats

FIRST_RETRY, LAST_RETRY = 2.0, 900.0  # seconds
BATCH = 100
# At most this much JSON a POST (but always one report): well under what a node takes in a body (8 MiB).
BATCH_BYTES = 4 * 1024 * 1024


def retry_delay(attempts: int, *, rng: Callable[[], float] = random.random) -> float:
    """How long to wait after the `attempts`-th failure in a row: doubling from FIRST_RETRY up to LAST_RETRY,
    each wait somewhere in its upper half so that many nodes failing together do not come back together."""
    ceiling = min(FIRST_RETRY * 2.0 ** max(attempts - 1, 0), LAST_RETRY)
    return ceiling * (0.5 + rng() / 2)


class SendFailed(Exception):
    """The parent did not take the reports."""


@dataclass(frozen=True, slots=True)
class Sent:
    """How many reports went, and why the rest did not (None: nothing left that was due)."""

    sent: int
    failure: str | None = None


def _bounded(due: Sequence[Queued]) -> list[Queued]:
    """The first of `due` whose bodies fit in BATCH_BYTES (the first one whatever its size)."""
    taken: list[Queued] = []
    size = 0
    for queued in due:
        size += len(queued.body) + len(queued.report_id) + 40
        if taken and size > BATCH_BYTES:
            break
        taken.append(queued)
    return taken


def _username(node_prefix: str) -> str:
    # The Handle REST form of `300:0.NA/<prefix>` in a Basic user name: the colon percent-encoded.
    return parent_principal(node_prefix).replace(":", "%3A", 1)


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        parent: Parent,
        node_prefix: str,
        *,
        health: Health,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._url = f"{parent.url}/api/reports"
        self._node_prefix = node_prefix
        self._health = health
        self._rng = rng
        self._clock = clock
        self._paused_until = 0.0  # after a failure: no batch at all before then, however many are due
        self._client = httpx.AsyncClient(
            auth=httpx.BasicAuth(_username(node_prefix), parent.secret), timeout=timeout, transport=transport
        )

    async def send(self, *, everything: bool = False) -> Sent:
        """Send the reports due (`everything`: due or waiting for their next attempt) until none is left or a
        batch fails (a failure pauses sending until its next attempt, unless `everything`)."""
        sent = 0
        if not everything and self._clock() < self._paused_until:
            return Sent(0, "waiting to try the parent again")
        while batch := _bounded(await self._outbox.due(limit=BATCH, everything=everything)):
            ids = [q.id for q in batch]
            try:
                await self._post(batch)
            except SendFailed as exc:
                delay = retry_delay(max(q.attempts for q in batch) + 1, rng=self._rng)
                await self._outbox.mark_failed(ids, retry_in=delay)
                self._paused_until = self._clock() + delay
                self._health.failed(exc)
                return Sent(sent, str(exc))
            self._health.succeeded()
            await self._outbox.mark_sent(ids)
            sent += len(batch)
        return Sent(sent)

    async def _post(self, batch: Sequence[Queued]) -> None:
        body = formats.batch(self._node_prefix, [(q.report_id, q.kind, q.body) for q in batch])
        try:
            answer = await self._client.post(
                self._url, content=body, headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise SendFailed(f"cannot reach the parent at {self._url}: {exc!r}") from None
        if answer.status_code != 200:
            raise SendFailed(f"the parent answered {answer.status_code}: {answer.text[:200]}")
        try:
            taken = orjson.loads(answer.content)
            int(taken["accepted"]) + int(taken["duplicates"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise SendFailed(f"the parent's answer is not a report receipt: {answer.text[:200]}") from None

    async def close(self) -> None:
        await self._client.aclose()
