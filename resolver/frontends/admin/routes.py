"""The administration API under /api/admin, for the node administrator (`300:0.NA/<node prefix>`, Basic);
the audit also for an enterprise administrator, who reads the events of its own prefixes.

Routes only translate: each calls one operation (`operations.py`) and answers its JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.responses import Response

from registry import PermissionDenied, Principal
from registry.audit import DENIED

from ..context import Context, ContextDep
from ..handle_rest.auth import PrincipalDep
from ..http import JSONResponse
from . import operations as ops


async def node_admin(request: Request, principal: PrincipalDep, context: ContextDep) -> Principal:
    if principal.handle != context.services.node.admin.handle:
        refusal = PermissionDenied("only the node administrator may administer the node")
        await _record_refusal(
            context, principal, "admin.access", f"{request.method} {request.url.path}", refusal
        )
        raise refusal
    return principal


async def _record_refusal(
    context: Context, principal: Principal, action: str, target: str, refusal: PermissionDenied
) -> None:
    # Filed under the prefix whose credentials were used: its enterprise sees them tried where they may not.
    prefix = principal.handle.governing_prefix
    await context.services.audit.record(
        action, outcome=DENIED, actor=str(principal), target=target, prefix=prefix, detail=refusal.message
    )


AdminDep = Annotated[Principal, Depends(node_admin)]
OptionalBody = Annotated[dict[str, Any] | None, Body()]
router = APIRouter(prefix="/api/admin", tags=["Administration"])


@router.post("/enterprises", status_code=201, summary="Onboard an enterprise (prefix given or the next free)")
async def create_enterprise(
    context: ContextDep, admin: AdminDep, body: Annotated[dict[str, Any], Body()]
) -> Response:
    return JSONResponse(await ops.create_enterprise(context.services, admin, body), status_code=201)


@router.get("/enterprises", summary="Every enterprise with its prefixes")
async def enterprises(context: ContextDep, admin: AdminDep) -> Response:
    del admin
    return JSONResponse(await ops.list_enterprises(context.services))


@router.get("/enterprises/{prefix}", summary="One enterprise, named by any of its prefixes, and its users")
async def enterprise(prefix: str, context: ContextDep, admin: AdminDep) -> Response:
    del admin
    return JSONResponse(await ops.show_enterprise(context.services, prefix))


@router.post("/enterprises/{prefix}/disable", summary="Disable an enterprise: its logins stop working")
async def disable(prefix: str, context: ContextDep, admin: AdminDep) -> Response:
    return JSONResponse(await ops.set_enterprise_status(context.services, admin, prefix, enabled=False))


@router.post("/enterprises/{prefix}/enable", summary="Enable a disabled enterprise again")
async def enable(prefix: str, context: ContextDep, admin: AdminDep) -> Response:
    return JSONResponse(await ops.set_enterprise_status(context.services, admin, prefix, enabled=True))


@router.post("/enterprises/{prefix}/prefixes", status_code=201, summary="Allocate a further prefix")
async def allocate(prefix: str, context: ContextDep, admin: AdminDep, body: OptionalBody = None) -> Response:
    return JSONResponse(
        await ops.allocate_prefix(context.services, admin, prefix, body or {}), status_code=201
    )


@router.put("/enterprises/{prefix}/secret", summary="Set (or generate) the enterprise administrator's secret")
async def set_secret(
    prefix: str, context: ContextDep, admin: AdminDep, body: OptionalBody = None
) -> Response:
    return JSONResponse(await ops.set_secret(context.services, admin, prefix, body or {}))


@router.delete("/enterprises/{prefix}/secret", status_code=204, summary="Revoke the administrator's secret")
async def revoke_secret(prefix: str, context: ContextDep, admin: AdminDep) -> Response:
    await ops.revoke_secret(context.services, admin, prefix)
    return Response(status_code=204)


@router.put("/enterprises/{prefix}/key", summary="Put a public key (PEM) on the prefix handle, as HS_PUBKEY")
async def add_key(
    prefix: str, context: ContextDep, admin: AdminDep, body: Annotated[dict[str, Any], Body()]
) -> Response:
    return JSONResponse(await ops.add_key(context.services, admin, prefix, body))


@router.post("/enterprises/{prefix}/users", status_code=201, summary="Create an SNMS user of the enterprise")
async def create_user(
    prefix: str, context: ContextDep, admin: AdminDep, body: Annotated[dict[str, Any], Body()]
) -> Response:
    return JSONResponse(await ops.create_user(context.services, admin, prefix, body), status_code=201)


@router.post("/users/{username}/disable", summary="Disable an SNMS user: its tokens stop working at once")
async def disable_user(username: str, context: ContextDep, admin: AdminDep) -> Response:
    return JSONResponse(await ops.set_user_status(context.services, admin, username, enabled=False))


@router.post("/users/{username}/enable", summary="Enable a disabled SNMS user again")
async def enable_user(username: str, context: ContextDep, admin: AdminDep) -> Response:
    return JSONResponse(await ops.set_user_status(context.services, admin, username, enabled=True))


@router.get("/stats", summary="Handles by prefix and by the template they were registered with")
async def stats(context: ContextDep, admin: AdminDep) -> Response:
    del admin
    return JSONResponse(await ops.stats(context.services))


Filter = Annotated[str | None, Query()]


@router.get("/audit", summary="Audit events newest first (an enterprise: those of its own prefixes)")
async def audit(
    context: ContextDep,
    principal: PrincipalDep,
    prefix: Filter = None,
    actor: Filter = None,
    action: Filter = None,
    outcome: Filter = None,
    since: Filter = None,
    until: Filter = None,
    cursor: Filter = None,
    limit: Filter = None,
) -> Response:
    try:
        scope = await context.services.audit.scope_of(principal)
    except PermissionDenied as refusal:
        await _record_refusal(context, principal, "audit.read", "/api/admin/audit", refusal)
        raise
    filters = {"prefix": prefix, "actor": actor, "action": action, "outcome": outcome, "since": since,
               "until": until, "cursor": cursor, "limit": limit}  # fmt: skip
    return JSONResponse(await ops.audit(context.services, scope, filters))
