"""Reports from secondary nodes, on a top-level node: `POST /api/reports`, sent by a secondary node as the
administrator of its prefix handle here (Handle REST Basic or Handle authentication), each report stored
once however often it comes; and `GET /api/admin/reports` for the node administrator, filtered by node
and kind, in pages (`after`: the last id of the page before).

The bodies are `resolver.reporting.formats`'; a node that is not top-level has no such routes (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from registry import HandleNotFound, InvalidInput, PermissionDenied, Principal, Services, normalise_prefix
from registry.hierarchy import ACTIVE
from registry.reporting import Received

from ..reporting import formats
from .admin.routes import AdminDep
from .context import ContextDep
from .handle_rest.auth import PrincipalDep
from .handle_rest.openapi import failures
from .http import JSONResponse
from .openapi import Operation, json_response

Schema = dict[str, Any]
MAX_PAGE = 1000
router = APIRouter(tags=["Reports"])


def top_level_only(services: Services) -> None:
    if not services.place.top_level:
        raise HandleNotFound("this node is not a top-level node: it takes no reports")


async def _reporting_node(services: Services, principal: Principal, node: str) -> str:
    """The node prefix `principal` may report for: the node it administers, while it is active."""
    prefix = normalise_prefix(node)
    child = next((c for c in await services.children.all() if c.prefix == prefix), None)
    if child is None or child.status != ACTIVE or str(principal) != child.administrator:
        raise PermissionDenied(f"{principal} may not report for node {prefix}")
    return prefix


@router.post("/api/reports", summary="Reports of a secondary node (each stored once)")
async def receive(request: Request, context: ContextDep, principal: PrincipalDep) -> Response:
    services = context.services
    top_level_only(services)
    node, reports = formats.parse_batch(await request.body())
    prefix = await _reporting_node(services, principal, node)
    accepted, duplicates = await Received(services.store).store(prefix, reports)
    return JSONResponse({"accepted": accepted, "duplicates": duplicates})


Filter = Annotated[str | None, Query()]


@router.get("/api/admin/reports", summary="The reports secondary nodes sent, oldest first")
async def received(
    context: ContextDep, admin: AdminDep, node: Filter = None, kind: Filter = None, after: Filter = None,
    limit: Filter = None,
) -> Response:  # fmt: skip
    del admin
    top_level_only(context.services)
    return JSONResponse(await page(context.services, node=node, kind=kind, after=after, limit=limit))


def _number(name: str, text: str | None, default: int, most: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or not 0 <= int(text) <= most:
        raise InvalidInput(f"{name} is a number from 0 to {most}")
    return int(text)


async def page(
    services: Services, *, node: str | None, kind: str | None, after: str | None, limit: str | None
) -> dict[str, Any]:
    """A page of received reports, and where the next one starts (`next`: None after the last)."""
    if kind is not None and kind not in formats.KINDS:
        raise InvalidInput(f"kind is one of {', '.join(formats.KINDS)}")
    count = _number("limit", limit, 100, MAX_PAGE)
    found = await Received(services.store).page(
        node=None if node is None else normalise_prefix(node), kind=kind,
        after=_number("after", after, 0, 2**62), limit=count,
    )  # fmt: skip
    following = found[-1].id if len(found) == count and found else None
    return {"reports": [r.to_json() for r in found], "next": following}


def _object(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


_REPORT: Schema = _object(
    ["id", "kind", "body"],
    id={"type": "string", "maxLength": 320, "description": "the report's id: stored once per node"},
    kind={"enum": list(formats.KINDS)},
    body={"type": "object", "description": "as resolver/reporting/formats.py describes each kind"},
)
_RECEIVED: Schema = _object(
    ["id", "node", "kind", "reportId", "received", "body"],
    id={"type": "integer"}, node={"type": "string"}, kind={"enum": list(formats.KINDS)},
    reportId={"type": "string"}, received={"type": "string", "format": "date-time"}, body={"type": "object"},
)  # fmt: skip
OPENAPI: dict[str, Operation] = {
    "POST /api/reports": Operation(
        {
            200: json_response(
                "stored: how many reports were new, how many had been stored before",
                _object(
                    ["accepted", "duplicates"], accepted={"type": "integer"}, duplicates={"type": "integer"}
                ),
            ),
            **failures(400, 401, 403, 404, 408, 413, 500, 503),
        },
        body={
            "required": True,
            "content": {
                "application/json": {
                    "schema": _object(
                        ["node", "reports"],
                        node={"type": "string", "description": "the node prefix reported for"},
                        reports={
                            "type": "array",
                            "minItems": 1,
                            "maxItems": formats.MAX_BATCH,
                            "items": _REPORT,
                        },
                    )
                }
            },
        },
    ),
    "GET /api/admin/reports": Operation(
        {
            200: json_response(
                "received reports, oldest first; next: `after` of the next page, null at the end",
                _object(
                    ["reports", "next"],
                    reports={"type": "array", "items": _RECEIVED},
                    next={"type": ["integer", "null"]},
                ),
            ),
            **failures(400, 401, 403, 404, 500, 503),
        },
        parameters={
            "node": {"schema": {"type": "string"}, "description": "one secondary node's reports"},
            "kind": {"schema": {"enum": list(formats.KINDS)}, "description": "one kind of report"},
            "after": {
                "schema": {"type": "integer", "minimum": 0},
                "description": "`next` of the page before",
            },
            "limit": {"schema": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE}, "description": "100"},
        },
    ),
}
