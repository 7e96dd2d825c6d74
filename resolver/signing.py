"""Signed answers: the node's active key as a serving process holds it, and the signed Handle REST rendering.

A process reads the key ring again every `refresh` seconds, so that a rotation made by any process (or by
`idnode node rotate-key` on the database) is followed everywhere within seconds; the old key stays
published for its grace period, so what was signed meanwhile still verifies. While the database cannot be
read, the key held is kept.

A signed answer is the Handle REST answer with one more member, `signature`: a compact JWS by the node's
active key whose claims (`registry.trust`, as an HS_SIGNATURE value's) digest the values sent, with `sub`
the handle as requested, `iss` the value reference of the key (`310:0.NA/<node prefix>`) and
`responseCode` the answer's (1; 100 for "not found", whose answer is signed too; 200 for "no value
matches"). The Handle.Net server takes `cert=true` on its REST API but drops the signature it makes (for
the native protocol) when it writes the JSON, so there is no JSON form to follow; this one reuses the
Handle System's own JWS claims.

Its rendering is kept with the cached answer under a key naming the signing key, the hour and the handle as
requested, so repeated `cert=true` GETs do not sign again; renderings of another key or hour are dropped when
a new one is made, so a rotation (or the turn of the hour) replaces them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import orjson

from registry.node_signing import NodeSigning, Signer
from registry.trust import sign_claims, values_claims

from .answer import Answer

log = logging.getLogger("idnode.signing")

FAMILY: Final = "handle_rest.signed:"
WINDOW: Final = 3600  # a kept signed rendering is made again each hour
LIFETIME: Final = 13 * 3600  # so that one served late in its hour is still valid for 12 hours


class SigningUnavailable(Exception):
    """The node's signing key cannot be read right now."""


class AnswerSigner:
    """The serving process's view of the node's active key; `clock` is replaceable for tests."""

    def __init__(
        self, signing: NodeSigning, *, refresh: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._signing = signing
        self._refresh = refresh
        self._clock = clock
        self._signer: Signer | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> Signer:
        if self._signer is None or self._clock() >= self._until:
            async with self._lock:
                if self._signer is None or self._clock() >= self._until:
                    await self._reload()
        assert self._signer is not None
        return self._signer

    async def _reload(self) -> None:
        try:
            ring = await self._signing.ring()
            if self._signer is not None and ring is not None and ring.active.kid == self._signer.kid:
                self._until = self._clock() + self._refresh  # the usual case: no rotation, nothing to unseal
                return
            signer = await self._signing.signer()
        except Exception as exc:  # the database, or a key this process cannot unseal: keep the one held
            if self._signer is None:
                raise SigningUnavailable(
                    f"the node's signing key cannot be read ({type(exc).__name__})"
                ) from exc
            log.warning("reading the signing key failed (%s); signing with the one held", exc)
            self._until = self._clock() + self._refresh
            return
        if self._signer is not None and signer.kid != self._signer.kid:
            log.info("signing with key %s from now on (was %s)", signer.kid, self._signer.kid)
        self._signer, self._until = signer, self._clock() + self._refresh

    def now(self) -> int:
        return int(self._clock())


def signature(signer: Signer, requested: str, values: Sequence[Any], now: int, code: int = 1) -> str:
    """The JWS over `values` of the handle `requested`, in an answer with responseCode `code` (signed too, so
    that "not found" and "no values match" cannot be forged either)."""
    claims = values_claims(signer.issuer, requested, values, alg=signer.key.alg, now=now, lifetime=LIFETIME)
    return sign_claims(claims | {"responseCode": code}, signer.key)


class SignedValues:
    """The signed view of an answer's public values, for one handle as requested, key and hour."""

    def __init__(self, signer: Signer, requested: str, now: int) -> None:
        self.key = f"{FAMILY}{signer.kid}:{now // WINDOW}:{requested}"
        self._signer = signer
        self._requested = requested
        self._now = now

    def render(self, answer: Answer) -> bytes:
        token = signature(self._signer, self._requested, answer.public_values(), self._now)
        return (
            b'{"responseCode":1,"handle":' + orjson.dumps(self._requested) + b',"values":'
            + answer.public_record() + b',"signature":' + orjson.dumps(token) + b"}"
        )  # fmt: skip


def signed_body(answer: Answer, view: SignedValues) -> bytes:
    """The kept signed rendering for `view`, made now if there is none; those of other keys or hours go."""
    kept = answer.renderings
    if any(key.startswith(FAMILY) and key != view.key for key, _ in kept):
        answer.renderings = tuple(
            (key, body) for key, body in kept if not key.startswith(FAMILY) or key == view.key
        )
    return answer.rendered(view)
