"""SNMS data templates: `/snms/api/v5/template` (GET, POST, PUT, DELETE) and `/snms/api/v3/template`
(no PUT)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from registry import parse_template

from ..context import Context, ContextDep
from .envelope import BAD_REQUEST, FAILED, SnmsFailure, endpoint, json_body, ok
from .identifiers import principal_of

router = APIRouter(tags=["SNMS templates"])


async def _read(request: Request, context: Context, prefix: str, version: str) -> Response:
    principal = await principal_of(request, context)
    if not prefix:
        raise SnmsFailure(FAILED, f"{BAD_REQUEST}：需要 prefix")
    # A tenant reads its own prefixes' templates, not its neighbours'.
    found = await context.services.templates.read(principal, prefix, version or None)
    return ok(found[0].to_json() if version else [t.to_json() for t in found])


async def _create(request: Request, context: Context) -> Response:
    principal = await principal_of(request, context)
    await context.services.templates.add(principal, parse_template(await json_body(request)))
    return ok(True)


async def _change(request: Request, context: Context) -> Response:
    principal = await principal_of(request, context)
    await context.services.templates.change(principal, parse_template(await json_body(request)))
    return ok(True)


async def _remove(request: Request, context: Context) -> Response:
    principal = await principal_of(request, context)
    body = await json_body(request)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("prefix"), str)
        or not isinstance(body.get("version"), str)
    ):
        raise SnmsFailure(FAILED, f'{BAD_REQUEST}：请求体应为 {{"prefix": …, "version": …}}')
    await context.services.templates.remove(principal, body["prefix"], body["version"])
    return ok(True)


for api in ("v5", "v3"):
    path = f"/snms/api/{api}/template"

    @router.get(path, summary=f"A prefix's template at a version, or all its versions ({api})")
    @endpoint
    async def read(
        request: Request, context: ContextDep, prefix: str = Query(""), version: str = Query("")
    ) -> Response:
        return await _read(request, context, prefix, version)

    @router.post(path, summary=f"Create a template ({api})")
    @endpoint
    async def create(request: Request, context: ContextDep) -> Response:
        return await _create(request, context)

    @router.delete(path, summary=f"Delete a template no identifier uses ({api})")
    @endpoint
    async def remove(request: Request, context: ContextDep) -> Response:
        return await _remove(request, context)


@router.put("/snms/api/v5/template", summary="Change a template (items in use can only be disabled)")
@endpoint
async def change(request: Request, context: ContextDep) -> Response:
    return await _change(request, context)
