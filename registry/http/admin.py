"""The node operator's API: enterprises, their prefixes, administrators' secrets and SNMS users.

Only the node administrator (`300:0.NA/<node prefix>`, Basic authentication) may call it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from sqlalchemy import select
from starlette.responses import Response

from registry import accounts
from registry.enterprises import ACTIVE, Enterprise, EnterpriseInput, find_enterprise, list_enterprises
from registry.errors import HandleNotFound, InvalidInput, PermissionDenied
from registry.handle import Handle, normalise_prefix
from registry.node import add_enterprise, add_prefix, new_secret, next_free_prefix
from registry.principals import Principal
from registry.store import records
from registry.store.schema import users

from .auth import PrincipalDep, RegistryDep
from .responses import HandleJSONResponse


async def node_admin(principal: PrincipalDep, registry: RegistryDep) -> Principal:
    if principal.handle != Handle.for_prefix(await registry.node_prefix()):
        raise PermissionDenied("only the node administrator may administer the node")
    return principal


AdminDep = Annotated[Principal, Depends(node_admin)]
router = APIRouter(prefix="/api/admin", tags=["Administration"])


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise InvalidInput(f"{key} must be a{'' if required else 'n optional'} string")
    return value


async def _enterprise(registry: Any, prefix: str) -> Enterprise:
    async with registry.store.reader.connect() as conn:
        found = await find_enterprise(conn, normalise_prefix(prefix))
    if found is None:
        raise HandleNotFound(f"no enterprise owns prefix {prefix}")
    return found


@router.post("/enterprises", status_code=201, summary="Onboard an enterprise (prefix given or the next free)")
async def create_enterprise(
    registry: RegistryDep, admin: AdminDep, body: Annotated[dict[str, Any], Body()]
) -> Response:
    details = EnterpriseInput(
        _text(body, "name"),
        _text(body, "creditCode"),
        _text(body, "industry", required=False),
        _text(body, "contact", required=False),
    )
    prefix = _text(body, "prefix", required=False) or await next_free_prefix(registry)
    secret = _text(body, "secret", required=False)
    chosen = secret or new_secret()
    made = await add_enterprise(registry, details, prefix=prefix, secret=chosen, principal=admin)
    answer: dict[str, Any] = {"enterprise": made.to_json(), "administrator": f"300:0.NA/{made.prefixes[0]}"}
    return HandleJSONResponse(answer | ({} if secret else {"secret": chosen}), status_code=201)


@router.get("/enterprises", summary="Every enterprise with its prefixes")
async def enterprises(registry: RegistryDep, admin: AdminDep) -> Response:
    del admin
    async with registry.store.reader.connect() as conn:
        found = await list_enterprises(conn)
    return HandleJSONResponse({"enterprises": [e.to_json() for e in found]})


@router.get("/enterprises/{prefix}", summary="One enterprise, named by any of its prefixes, and its users")
async def enterprise(prefix: str, registry: RegistryDep, admin: AdminDep) -> Response:
    del admin
    found = await _enterprise(registry, prefix)
    async with registry.store.reader.connect() as conn:
        rows = await conn.execute(
            select(users.c.username, users.c.status).where(users.c.enterprise_id == found.id)
        )
        listed = [{"username": r.username, "status": r.status} for r in rows]
    return HandleJSONResponse({**found.to_json(), "users": listed})


@router.post("/enterprises/{prefix}/disable", summary="Disable an enterprise: its logins stop working")
async def disable(prefix: str, registry: RegistryDep, admin: AdminDep) -> Response:
    await accounts.set_enterprise_status(registry, admin, prefix, accounts.DISABLED)
    return HandleJSONResponse((await _enterprise(registry, prefix)).to_json())


@router.post("/enterprises/{prefix}/enable", summary="Enable a disabled enterprise again")
async def enable(prefix: str, registry: RegistryDep, admin: AdminDep) -> Response:
    await accounts.set_enterprise_status(registry, admin, prefix, ACTIVE)
    return HandleJSONResponse((await _enterprise(registry, prefix)).to_json())


@router.post("/enterprises/{prefix}/prefixes", status_code=201, summary="Allocate a further prefix")
async def allocate(
    prefix: str, registry: RegistryDep, admin: AdminDep, body: Annotated[dict[str, Any] | None, Body()] = None
) -> Response:
    wanted = _text(body or {}, "prefix", required=False) or await next_free_prefix(registry)
    made = await add_prefix(registry, owner_prefix=prefix, prefix=wanted, principal=admin)
    return HandleJSONResponse(made.to_json(), status_code=201)


@router.put("/enterprises/{prefix}/secret", summary="Set (or generate) the enterprise administrator's secret")
async def set_secret(
    prefix: str, registry: RegistryDep, admin: AdminDep, body: Annotated[dict[str, Any] | None, Body()] = None
) -> Response:
    given = _text(body or {}, "secret", required=False)
    secret = given or new_secret()
    await _enterprise(registry, prefix)
    await accounts.set_admin_secret(registry, admin, prefix, secret)
    answer = {"administrator": f"300:0.NA/{normalise_prefix(prefix)}"}
    return HandleJSONResponse(answer | ({} if given else {"secret": secret}))


@router.delete("/enterprises/{prefix}/secret", summary="Revoke the enterprise administrator's secret")
async def revoke_secret(prefix: str, registry: RegistryDep, admin: AdminDep) -> Response:
    await _enterprise(registry, prefix)
    await accounts.revoke_admin_secret(registry, admin, prefix)
    return Response(status_code=204)


@router.post("/enterprises/{prefix}/users", status_code=201, summary="Create an SNMS user of the enterprise")
async def create_user(
    prefix: str, registry: RegistryDep, admin: AdminDep, body: Annotated[dict[str, Any], Body()]
) -> Response:
    user = await accounts.add_user(
        registry, admin, prefix=prefix, username=_text(body, "username"), password=_text(body, "password")
    )
    answer = {"username": user.username, "actsAs": f"300:0.NA/{user.acts_as}", "status": user.status}
    return HandleJSONResponse(answer, status_code=201)


@router.post("/users/{username}/disable", summary="Disable an SNMS user: its tokens stop working at once")
async def disable_user(username: str, registry: RegistryDep, admin: AdminDep) -> Response:
    await accounts.set_user_status(registry, admin, username, accounts.DISABLED)
    return HandleJSONResponse({"username": username, "status": accounts.DISABLED})


@router.post("/users/{username}/enable", summary="Enable a disabled SNMS user again")
async def enable_user(username: str, registry: RegistryDep, admin: AdminDep) -> Response:
    await accounts.set_user_status(registry, admin, username, ACTIVE)
    return HandleJSONResponse({"username": username, "status": ACTIVE})


@router.get("/stats", summary="Handles by prefix and by the template they were registered with")
async def stats(registry: RegistryDep, admin: AdminDep) -> Response:
    del admin
    async with registry.store.reader.connect() as conn:
        rows = await records.counts(conn)
    by_prefix: dict[str, dict[str, Any]] = {}
    for prefix, template, count in rows:
        entry = by_prefix.setdefault(prefix, {"prefix": prefix, "handles": 0, "templates": {}})
        entry["handles"] += count
        entry["templates"][template or ""] = count
    total = sum(entry["handles"] for entry in by_prefix.values())
    return HandleJSONResponse({"total": total, "prefixes": list(by_prefix.values())})
