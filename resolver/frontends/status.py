"""The node's own state for operators and load balancers: /healthz and /metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette.responses import Response

from ..pipeline import StoreUnavailable
from .context import ContextDep
from .handle_rest.openapi import failures
from .http import JSONResponse
from .openapi import Operation, json_response

router = APIRouter(tags=["Operations"])

HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "node", "pid"],
    "properties": {"status": {"enum": ["ok"]}, "node": {"type": "string"}, "pid": {"type": "integer"}},
}


METRICS_MEDIA = "text/plain; version=0.0.4"
OPENAPI = {
    "GET /healthz": Operation({200: json_response("ready", HEALTH_SCHEMA), **failures(503)}),
    "GET /metrics": Operation(
        {
            200: {
                "description": "this process's counters",
                "content": {METRICS_MEDIA: {"schema": {"type": "string"}}},
            }
        }
    ),
}


@router.get("/healthz", summary="200 once the node is ready and its database answers; 503 while it does not")
async def healthz(context: ContextDep) -> Response:
    try:
        await context.services.reads.ping()
    except Exception as exc:
        context.database.failed(exc)
        raise StoreUnavailable("the database does not answer") from exc
    context.database.succeeded()
    return JSONResponse({"status": "ok", "node": context.services.node.prefix, "pid": os.getpid()})


@router.get(
    "/metrics",
    summary="This process's counters, in the Prometheus text format",
    response_class=Response,
)
async def metrics(context: ContextDep) -> Response:
    return Response(context.metrics.render(), media_type=METRICS_MEDIA)
