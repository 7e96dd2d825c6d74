"""Handle REST writes: PUT and DELETE on /api/handles/{handle}, listing, and the prefixes homed here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from registry import Handle, HandleValue, InvalidInput, InvalidValue, Principal, normalise_prefix, parse_body

from ..context import Context, ContextDep
from ..http import JSONResponse
from . import openapi, params
from .auth import PrincipalDep
from .codes import SUCCESS
from .lane import requested_handle

router = APIRouter(tags=["Handle REST"])

Flag = Annotated[str | None, Query(description="true when present bare, or true/yes")]
Indexes = Annotated[list[str] | None, Query(description="repeatable")]
MAX_PAGE_SIZE = 10_000


def _ok(handle: str, status: int = 200) -> Response:
    return JSONResponse({"responseCode": SUCCESS, "handle": handle}, status_code=status)


def _matching(path_handle: Handle, body_handle: str | None) -> None:
    if body_handle is not None and Handle.parse(body_handle) != path_handle:
        raise InvalidInput(f"the body names {body_handle}, the path {path_handle}")


def _same_indexes(wanted: list[str], values: list[HandleValue]) -> None:
    if wanted == ["various"]:
        return
    expected = set(params.indexes(wanted))
    sent = {value.index for value in values}
    if sent != expected:
        raise InvalidValue(f"the body's indexes {sorted(sent)} differ from index= {sorted(expected)}")


@router.put(
    "/api/handles/{handle:handle}",
    summary="Create or replace a record, or some of its values",
    openapi_extra={"requestBody": openapi.PUT_BODY},
)
async def put_handle(
    handle: str,
    request: Request,
    context: ContextDep,
    principal: PrincipalDep,
    index: Indexes = None,
    overwrite: Flag = None,
    mintNewSuffix: Flag = None,
) -> Response:
    handle = requested_handle(request.scope)  # strictly UTF-8, unlike the path parameter
    body_handle, values = parse_body(await params.json_body(request))
    if params.flag(mintNewSuffix):
        return await _mint(context, principal, handle, values, index)
    target = Handle.parse(handle)
    _matching(target, body_handle)
    replace = params.flag(overwrite, default=True)
    records = context.services.records
    if index:
        _same_indexes(index, values)
        replaced = await records.put_values(principal, target, values, overwrite=replace)
        return _ok(handle, 200 if replaced else 201)
    created = await records.put_record(principal, target, values, overwrite=replace)
    return _ok(handle, 201 if created else 200)


async def _mint(
    context: Context, principal: Principal, path: str, values: list[HandleValue], index: list[str] | None
) -> Response:
    # `88.118.8/` lets the node choose the whole suffix; `88.118.8/SUF-` makes it SUF-<uuid>.
    prefix, slash, stem = path.partition("/")
    if not slash:
        raise InvalidInput("with mintNewSuffix the path is prefix/ or prefix/stem", handle=path)
    home = normalise_prefix(prefix)
    if index:  # as without mintNewSuffix, index= names the body's indexes (or is `various`)
        _same_indexes(index, values)
    minted = await context.services.records.mint(principal, home, values, stem=stem)
    return _ok(str(minted), 201)


@router.delete("/api/handles/{handle:handle}", summary="Delete a record, or only the values at index=")
async def delete_handle(
    handle: str, request: Request, context: ContextDep, principal: PrincipalDep, index: Indexes = None
) -> Response:
    handle = requested_handle(request.scope)  # strictly UTF-8, unlike the path parameter
    target = Handle.parse(handle)
    records = context.services.records
    if index:
        await records.delete_values(principal, target, params.indexes(index))
    else:
        await records.delete(principal, target)
    return _ok(handle)


@router.get("/api/handles", summary="List the handles under a prefix (authenticated)")
async def list_handles(
    context: ContextDep,
    principal: PrincipalDep,
    prefix: Annotated[str | None, Query()] = None,
    page: Annotated[str | None, Query(description="zero-based")] = None,
    pageSize: Annotated[str | None, Query(description="0 gives only the count")] = None,
) -> Response:
    if not prefix:
        raise InvalidInput("listing needs ?prefix=")
    size = params.non_negative(pageSize, "pageSize", 1_000)
    if size > MAX_PAGE_SIZE:
        raise InvalidInput(f"pageSize is at most {MAX_PAGE_SIZE}")
    found = await context.services.reads.list_handles(
        principal, normalise_prefix(prefix), page=params.non_negative(page, "page", 0), page_size=size
    )
    body = {
        "responseCode": SUCCESS,
        "prefix": found.prefix,
        "totalCount": str(found.total),  # a string, as the reference server sends it
        "page": found.page,
        "pageSize": found.page_size,
        "handles": found.handles,
    }
    return JSONResponse(body)


@router.get("/api/prefixes", summary="The prefixes homed on this node")
async def list_prefixes(context: ContextDep) -> Response:
    return JSONResponse({"responseCode": SUCCESS, "prefixes": await context.services.reads.prefixes()})
