"""Handle REST writes: PUT and DELETE on /api/handles/{handle}, listing, and the prefixes homed here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from registry.codec import parse_body
from registry.errors import InvalidHandle, InvalidInput, InvalidValue
from registry.handle import Handle, normalise_prefix
from registry.principals import Principal
from registry.service import Registry
from registry.values import HandleValue

from . import openapi, params
from .auth import PrincipalDep, RegistryDep
from .responses import HandleJSONResponse

router = APIRouter(tags=["Handle REST"])

Flag = Annotated[str | None, Query(description="true when present bare, or true/yes")]
Indexes = Annotated[list[str] | None, Query(description="repeatable")]
MAX_PAGE_SIZE = 10_000


def _ok(handle: str, status: int = 200) -> Response:
    return HandleJSONResponse({"responseCode": 1, "handle": handle}, status_code=status)


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
    "/api/handles/{handle:path}",
    summary="Create or replace a record, or some of its values",
    openapi_extra={"requestBody": openapi.PUT_BODY},
)
async def put_handle(
    handle: str,
    request: Request,
    registry: RegistryDep,
    principal: PrincipalDep,
    index: Indexes = None,
    overwrite: Flag = None,
    mintNewSuffix: Flag = None,
) -> Response:
    body_handle, values = parse_body(await params.json_body(request))
    if params.flag(mintNewSuffix):
        return await _mint(registry, principal, handle, values)
    target = Handle.parse(handle)
    _matching(target, body_handle)
    replace = params.flag(overwrite, default=True)
    if index:
        _same_indexes(index, values)
        await registry.put_values(principal, target, values, overwrite=replace)
        return _ok(handle, 200 if replace else 201)
    created = await registry.put_record(principal, target, values, overwrite=replace)
    return _ok(handle, 201 if created and not replace else 200)


async def _mint(registry: Registry, principal: Principal, path: str, values: list[HandleValue]) -> Response:
    if not path.endswith("/"):
        raise InvalidHandle("with mintNewSuffix the path ends in '/' after the prefix", handle=path)
    minted = await registry.mint(principal, normalise_prefix(path.rstrip("/")), values)
    return _ok(str(minted), 201)


@router.delete("/api/handles/{handle:path}", summary="Delete a record, or only the values at index=")
async def delete_handle(
    handle: str, registry: RegistryDep, principal: PrincipalDep, index: Indexes = None
) -> Response:
    target = Handle.parse(handle)
    if index:
        await registry.delete_values(principal, target, params.indexes(index))
    else:
        await registry.delete(principal, target)
    return _ok(handle)


@router.get("/api/handles", summary="List the handles under a prefix (authenticated)")
async def list_handles(
    registry: RegistryDep,
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
    found = await registry.list_handles(
        principal,
        normalise_prefix(prefix),
        page=params.non_negative(page, "page", 0),
        page_size=size,
    )
    body = {
        "responseCode": 1,
        "prefix": found.prefix,
        "totalCount": str(found.total),  # a string, as the reference server sends it
        "page": found.page,
        "pageSize": found.page_size,
        "handles": found.handles,
    }
    return HandleJSONResponse(body)


@router.get("/api/prefixes", summary="The prefixes homed on this node")
async def list_prefixes(registry: RegistryDep) -> Response:
    return HandleJSONResponse({"responseCode": 1, "prefixes": await registry.prefixes()})
