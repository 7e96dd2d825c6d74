"""The node's ASGI application: the HTTP edge, the lean Handle REST GET lane, and the FastAPI app behind.

`build_app(settings)` opens nothing: the node is opened (`resolver.node.open_node`) when the server starts
the application's lifespan, and closed when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Query
from starlette.requests import Request
from starlette.responses import Response

from .frontends import admin, handle_rest, native, openapi, reports, snms, status
from .frontends.context import Context
from .frontends.edge import Edge
from .frontends.handle_rest.auth import ReaderDep
from .frontends.handle_rest.params import flag
from .frontends.http import STALE_WARNING, ASGIApp, BodyRefused, JSONResponse, Scope
from .node import Node, NotReady, open_node, safe_url, settle_interpreter
from .reporting.timing import RegistrationTimer
from .settings import Settings
from .upstream import Homing

log = logging.getLogger("idnode")


def build_app(settings: Settings) -> ASGIApp:
    """A node application for `settings`."""
    holder: dict[str, Context] = {}
    sites: dict[str, native.SiteRecord] = {}

    def context() -> Context:
        if "context" not in holder:
            raise NotReady("the node is not started")
        return holder["context"]

    responder = native.Responder(context, lambda: sites["site"].current)
    hot = native.HotLane(context)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_node(settings) as node,
            _native(settings, node, responder, hot) as site,
            _homed(settings, node, site),
        ):
            holder["context"] = app.state.context = node.context
            sites["site"] = site
            settle_interpreter()
            log.info("node %s ready on %s", node.services.node.prefix, safe_url(settings.database_url))
            try:
                yield
            finally:
                holder.clear()

    api = FastAPI(
        title="idnode",
        summary="A secondary node of an industrial internet identifier resolution system",
        version="0.2.0",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        openapi_url=None,  # served by `openapi.install`, for the node's prefixes
    )
    handle_rest.install_error_handlers(api)
    api.include_router(handle_rest.router())
    api.include_router(snms.snms_router())
    api.include_router(admin.router)
    api.include_router(status.router)
    api.include_router(reports.router)
    timed = RegistrationTimer(api, lambda: context().stats)  # registrations timed for the reports upward
    lane = handle_rest.HandleRestLane(handle_rest.AuthenticationInfo(timed), context)
    _document_get(api, lane)

    async def site() -> openapi.Site:
        services = context().services
        return openapi.Site(services.node.prefix, tuple(await services.reads.prefixes()))

    tables = [handle_rest.OPENAPI, admin.OPENAPI, snms.OPENAPI, status.OPENAPI, reports.OPENAPI]
    openapi.install(api, tables, site, title=api.title)
    return Edge(
        lane,
        posted=native.NativeTunnel(lane, responder, hot),
        max_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
        refuse=_refuse_body,
    )


@asynccontextmanager
async def _native(
    settings: Settings, node: Node, responder: native.Responder, hot: native.HotLane
) -> AsyncIterator[native.SiteRecord]:
    """The native protocol's listeners for the block (none when its port is `off`), and the node's site
    record naming them, kept current."""
    host = settings.native_host or "127.0.0.1"
    async with contextlib.AsyncExitStack() as stack:
        port = settings.native_port
        if port is not None:
            listening = native.listening(
                responder, hot, host, port, idle_timeout=settings.native_idle_timeout
            )
            port = await stack.enter_async_context(listening)
            log.info("native Handle protocol on %s:%d (UDP and TCP)", host, port)
        site = native.SiteRecord(
            node.services, node.context.signer, native.Place(host, port, settings.http_port)
        )
        await site.refresh()
        keeping = asyncio.create_task(site.keep_current())
        try:
            yield site
        finally:
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeping


@asynccontextmanager
async def _homed(settings: Settings, node: Node, site: native.SiteRecord) -> AsyncIterator[None]:
    """A secondary node with a parent keeps its site record homed there, in the background (a parent that
    is down does not hold up the start)."""
    parent = node.parent
    if parent is None or node.services.place.top_level:
        yield
        return
    homing = Homing(
        parent, node.services.node.prefix, lambda: site.current.to_json(),
        timeout=settings.upstream_timeout_ms / 1000,
    )  # fmt: skip
    task = asyncio.create_task(homing.keep_homed())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _refuse_body(scope: Scope, refused: BodyRefused) -> tuple[int, bytes]:
    """A refused body is answered in the dialect of its path: an SNMS envelope, or Handle REST JSON (which the
    administration API speaks too)."""
    if str(scope["path"]).startswith(snms.PATHS):
        return snms.body_refused(refused)
    return handle_rest.body_refused(refused)


def create_app() -> ASGIApp:
    """The factory `idnode serve` gives the server: settings from the environment."""
    return build_app(Settings.from_env())


def _document_get(api: FastAPI, lane: handle_rest.HandleRestLane) -> None:
    # The lane in front answers anonymous requests; the route describes them in the OpenAPI document and
    # answers the same way should one reach the app directly. Authenticated ones come here: the reader is
    # authenticated (ReaderDep), and the lane answers what the record shows it. `publicOnly` is the Handle.Net
    # server's: true by default for anonymous callers (who are always shown the public values only, as
    # before), false for authenticated ones, who may ask for the public values alone.
    @api.get("/api/handles/{handle:handle}", summary="Resolve a handle", tags=["Handle REST"])
    async def resolve_handle(
        handle: str,
        request: Request,
        reader: ReaderDep,
        # Typed as text: the lane checks every parameter, so that each failure is answered as it would be.
        index: Annotated[list[str] | None, Query(description="repeatable; values matching ANY")] = None,
        type: Annotated[list[str] | None, Query(description="repeatable; 'URL.' matches subtypes")] = None,
        pretty: Annotated[str | None, Query(description="indent the JSON")] = None,
        callback: Annotated[str | None, Query(description="JSONP function name")] = None,
        cert: Annotated[str | None, Query(description="the answer signed by the node")] = None,
        publicOnly: Annotated[str | None, Query(description="authenticated: public values only")] = None,
    ) -> Response:
        del handle, index, type, pretty, callback, cert
        reply = await lane.answer(request.scope, None if flag(publicOnly) else reader)
        headers = {"warning": STALE_WARNING} if reply.stale else None
        return Response(reply.body, status_code=reply.status, media_type=reply.media, headers=headers)


__all__ = ["build_app", "create_app"]
