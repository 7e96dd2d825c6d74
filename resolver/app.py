"""The node's ASGI application: the lean Handle REST GET lane in front of the FastAPI app."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import FastAPI, Query
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from registry.http import admin_router, handles_router, install_error_handlers
from registry.http.responses import HandleJSONResponse
from registry.http.snms import snms_router

from .batch import batch_router
from .limits import BodyLimit
from .rest import STALE_WARNING, ASGIApp, HandleRestLane
from .runtime import Runtime
from .settings import Settings


def build_app(settings: Settings) -> ASGIApp:
    """A node application for `settings`; engines and pools open when the server starts it."""
    runtime = Runtime(settings)
    api = FastAPI(
        title="idnode",
        summary="A secondary node of an industrial internet identifier resolution system",
        version="0.1.0",
        lifespan=runtime.lifespan,
        default_response_class=HandleJSONResponse,
    )
    api.state.runtime = runtime
    install_error_handlers(api)
    api.include_router(handles_router)
    api.include_router(snms_router())
    api.include_router(admin_router)
    api.include_router(batch_router(runtime.pipeline))
    lane = HandleRestLane(api, runtime.pipeline)
    _add_documented_get(api, lane)
    _add_operations(api, runtime)
    return BodyLimit(lane, settings.max_body_bytes)


def create_app() -> ASGIApp:
    """The factory `idnode serve` gives the server: settings from the environment."""
    return build_app(Settings.from_env())


def _add_documented_get(api: FastAPI, lane: HandleRestLane) -> None:
    # The lane in front answers these requests; the route describes them in the OpenAPI document and
    # answers the same way should a request reach the app directly.
    @api.get("/api/handles/{handle:path}", summary="Resolve a handle", tags=["Handle REST"])
    async def resolve_handle(
        handle: str,
        request: Request,
        index: Annotated[list[int] | None, Query(description="repeatable; values matching ANY")] = None,
        type: Annotated[list[str] | None, Query(description="repeatable; 'URL.' matches subtypes")] = None,
        pretty: Annotated[str | None, Query(description="indent the JSON")] = None,
        callback: Annotated[str | None, Query(description="JSONP function name")] = None,
    ) -> Response:
        del handle, index, type, pretty, callback
        reply = await lane.answer(request.scope)
        headers = {"access-control-allow-origin": "*"} | ({"warning": STALE_WARNING} if reply.stale else {})
        return Response(reply.body, status_code=reply.status, media_type=reply.media, headers=headers)


def _add_operations(api: FastAPI, runtime: Runtime) -> None:
    @api.get("/healthz", summary="200 once the node is ready and its database answers", tags=["Operations"])
    async def healthz() -> Response:
        async with runtime.registry.store.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return HandleJSONResponse({"status": "ok", "node": runtime.node_prefix, "pid": os.getpid()})

    @api.get(
        "/metrics", summary="This process's counters, in the Prometheus text format", tags=["Operations"]
    )
    async def metrics() -> Response:
        return PlainTextResponse(runtime.metrics.render(), media_type="text/plain; version=0.0.4")
