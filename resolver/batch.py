"""Batch resolution: `POST /api/resolve` with `{"handles": [...]}` answers each exactly as a GET would,
in request order, from the caches where it can and with one database round trip for all the misses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from registry import Handle, InvalidHandle, InvalidInput
from registry.http.params import json_body
from registry.http.responses import answer as handle_answer

from .pipeline import Stage, StoreUnavailable
from .rest import STALE_WARNING, Query, error_body, render

MAX_HANDLES = 1_000
_NO_FILTERS = Query(b"")

BODY_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["handles"],
                "properties": {
                    "handles": {"type": "array", "maxItems": MAX_HANDLES, "items": {"type": "string"}}
                },
            }
        }
    },
}


def _handles(body: Any) -> list[str]:
    handles = body.get("handles") if isinstance(body, dict) else None
    if not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
        raise InvalidInput('the body is {"handles": ["prefix/suffix", …]}')
    if len(handles) > MAX_HANDLES:
        raise InvalidInput(f"at most {MAX_HANDLES} handles a call, not {len(handles)}")
    return handles


def batch_router(pipeline: Callable[[], Stage]) -> APIRouter:
    router = APIRouter(tags=["Resolution"])

    @router.post(
        "/api/resolve", summary="Resolve up to 1,000 handles", openapi_extra={"requestBody": BODY_SCHEMA}
    )
    async def resolve_batch(request: Request) -> Response:
        requested = _handles(await json_body(request))
        names: dict[int, str] = {}
        results: list[bytes] = [b""] * len(requested)
        for position, text in enumerate(requested):
            try:
                names[position] = str(Handle.parse(text))
            except InvalidHandle as exc:
                results[position] = error_body(102, text, exc.message)
        distinct = list(dict.fromkeys(names.values()))
        try:
            answers = dict(zip(distinct, await pipeline().resolve_many(distinct), strict=True))
        except StoreUnavailable as exc:
            return handle_answer(503, 3, message=str(exc))
        stale = False
        for position, name in names.items():
            answer = answers[name]
            results[position] = render(requested[position], answer, _NO_FILTERS)[1]
            stale = stale or (answer is not None and answer.stale)
        body = b'{"results":[' + b",".join(results) + b"]}"
        headers = {"warning": STALE_WARNING} if stale else None
        return Response(body, media_type="application/json", headers=headers)

    return router
