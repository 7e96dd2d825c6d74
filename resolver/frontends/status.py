"""The node's own state for operators and load balancers: /healthz and /metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette.responses import Response

from ..pipeline import StoreUnavailable
from .context import ContextDep
from .http import JSONResponse

router = APIRouter(tags=["Operations"])

HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "node", "pid"],
    "properties": {"status": {"enum": ["ok"]}, "node": {"type": "string"}, "pid": {"type": "integer"}},
}


@router.get(
    "/healthz",
    summary="200 once the node is ready and its database answers; 503 while it does not",
    responses={200: {"content": {"application/json": {"schema": HEALTH_SCHEMA}}}},
)
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
    responses={200: {"content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}}},
)
async def metrics(context: ContextDep) -> Response:
    return Response(context.metrics.render(), media_type="text/plain; version=0.0.4")
