"""Batch resolution: `POST /api/resolve` with `{"handles": [...]}` answers each exactly as a GET would,
in request order, from the caches where it can and with one database round trip for all the misses; to the
reader the request authenticates, as its GET would (anonymous without an Authorization header)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from registry import InvalidHandle, InvalidInput, RegistryError
from registry.visibility import Reader

from ...pipeline import NotHomed, StoreUnavailable
from ...query import Query
from ..context import Context, ContextDep
from ..http import STALE_WARNING
from . import params, render
from .auth import ReaderDep
from .codes import INVALID_HANDLE, SERVER_BUSY, error_body, failure, registry_failure
from .lane import parse_requested
from .render import GetParams

MAX_HANDLES = 1_000
_NO_PARAMS = GetParams(b"")

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

router = APIRouter(tags=["Resolution"])


def _handles(body: Any) -> list[str]:
    handles = body.get("handles") if isinstance(body, dict) else None
    if not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
        raise InvalidInput('the body is {"handles": ["prefix/suffix", …]}')
    if len(handles) > MAX_HANDLES:
        raise InvalidInput(f"at most {MAX_HANDLES} handles a call, not {len(handles)}")
    return handles


@router.post(
    "/api/resolve", summary="Resolve up to 1,000 handles", openapi_extra={"requestBody": BODY_SCHEMA}
)
async def resolve_batch(request: Request, context: ContextDep, reader: ReaderDep) -> Response:
    requested = _handles(await params.json_body(request))
    try:
        results, stale = await resolve_texts(context, reader, requested)
    except StoreUnavailable as exc:
        status, body = failure(SERVER_BUSY, message=str(exc))
        return Response(body, status_code=status, media_type="application/json")
    body = b'{"results":[' + b",".join(results) + b"]}"
    headers = {"warning": STALE_WARNING} if stale else None
    return Response(body, media_type="application/json", headers=headers)


async def resolve_texts(
    context: Context, reader: Reader | None, requested: list[str]
) -> tuple[list[bytes], bool]:
    """Each requested handle's answer as its GET gives it, in request order, and whether any is stale
    (`StoreUnavailable` when the database cannot be read)."""
    naming = context.naming
    results: list[bytes] = []
    queries: list[Query | None] = []  # in request order; None where the answer is already in `results`
    for text in requested:
        try:
            queries.append(Query(parse_requested(text), naming, reader=reader))
            results.append(b"")
        except InvalidHandle as exc:
            queries.append(None)
            results.append(error_body(INVALID_HANDLE, text, exc.message))
        except NotHomed as exc:
            queries.append(None)
            results.append(registry_failure(exc, text)[1])
    distinct = {query.key: query for query in queries if query is not None}
    answers = dict(zip(distinct, await context.pipeline.resolve_many(list(distinct.values())), strict=True))
    stale = False
    for position, query in enumerate(queries):
        if query is None:
            continue
        answer = answers[query.key]
        if answer is None:
            results[position] = render.not_found(requested[position], _NO_PARAMS)
        elif isinstance(answer, RegistryError):  # lives elsewhere, and could not be resolved there
            results[position] = registry_failure(answer, requested[position])[1]
        elif isinstance(answer, StoreUnavailable):  # its node did not answer
            results[position] = error_body(SERVER_BUSY, requested[position], str(answer))
        else:
            results[position] = render.found(requested[position], answer, query, _NO_PARAMS)[1]
            stale = stale or answer.stale
    return results, stale
