"""Trace queries: `GET /api/trace/{handle}?direction=up|down|both&depth=N&type=…`, the genealogy of a handle
(`registry.trace`) as its caller may see it, anonymous without an Authorization header."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from registry import InvalidHandle, InvalidInput
from registry.trace import DEFAULT_DEPTH, MAX_DEPTH, MAX_NODES, trace
from registry.values import decimal

from ..context import ContextDep
from ..http import JSONResponse, Scope
from ..openapi import Operation, Schema, json_response
from .auth import ReaderDep
from .codes import SUCCESS
from .lane import parse_requested
from .openapi import failures, homed_handle

PATH = "/api/trace/"
_RAW_PATH = PATH.encode()
MAX_TYPES = 16  # what the document offers; more (comma-separated) are taken too
# 1 to 50, with up to three digits (leading zeros), or empty for the default.
_DEPTH_PATTERN = "^(?:0{0,2}[1-9]|0?[1-4][0-9]|0?50)?$"

router = APIRouter(tags=["Handle REST"])


def requested(scope: Scope) -> str:
    """The handle as requested, percent-decoded as UTF-8 (strictly: bad bytes are a bad handle)."""
    raw = scope.get("raw_path")
    if not raw:
        return str(scope["path"])[len(PATH) :]
    try:
        return unquote_to_bytes(raw.partition(b"?")[0][len(_RAW_PATH) :]).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidHandle("the handle is not UTF-8") from None


def depth_of(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    depth = decimal(text, max_digits=3)
    if depth is None:
        raise InvalidInput(f"depth is a number of links from 1 to {MAX_DEPTH}, not {text!r}")
    return depth


def types_of(texts: list[str] | None) -> list[str]:
    """`type=madeFrom&type=installedIn`, or `type=madeFrom,installedIn` (a type no link has matches none)."""
    return sorted({t.strip() for text in texts or () for t in text.split(",")} - {""})


@router.get("/api/trace/{handle:handle}", summary="The genealogy of a handle: its links up and down")
async def trace_handle(
    handle: str,
    request: Request,
    context: ContextDep,
    reader: ReaderDep,
    direction: Annotated[str | None, Query(description="up, down or both")] = None,
    depth: Annotated[str | None, Query(description=f"1 to {MAX_DEPTH}")] = None,
    type: Annotated[list[str] | None, Query(description="link types; repeatable")] = None,
) -> Response:
    del handle  # decoded strictly from the raw path instead
    root = parse_requested(requested(request.scope))
    found = await trace(
        context.services.store,
        context.naming,
        root,
        direction=direction,
        depth=depth_of(depth),
        types=types_of(type),
        reader=reader,
    )
    return JSONResponse({"responseCode": SUCCESS, **found.to_json()})


_NODE: Schema = {
    "type": "object",
    "required": ["handle", "depth", "values"],
    "properties": {
        "handle": {"type": "string"},
        "depth": {"type": "integer", "description": "links from the root (0: the root)"},
        "values": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "its main values the caller may read, type → text (URL, the first template items)",
        },
        "stored": {"const": False, "description": "present when the handle is not stored on this node"},
    },
}
_EDGE: Schema = {
    "type": "object",
    "required": ["from", "to", "type"],
    "properties": {
        "from": {"type": "string", "description": "the record holding the link value"},
        "to": {"type": "string", "description": "the handle the value names"},
        "type": {"type": "string", "description": "madeFrom, installedIn, shippedIn, or a LINK.<relation>"},
    },
}
TRACE: Schema = {
    "type": "object",
    "required": ["responseCode", "handle", "direction", "depth", "nodes", "edges", "truncated"],
    "properties": {
        "responseCode": {"const": SUCCESS},
        "handle": {"type": "string"},
        "direction": {"enum": ["up", "down", "both"]},
        "depth": {"type": "integer"},
        "nodes": {"type": "array", "items": _NODE},
        "edges": {"type": "array", "items": _EDGE},
        "truncated": {"type": "boolean", "description": f"more than {MAX_NODES} nodes: the nearest shown"},
    },
}
OPERATIONS: dict[str, Operation] = {
    "GET /api/trace/{handle}": Operation(
        {200: json_response("the genealogy the caller may see", TRACE), **failures(400, 401, 404, 500, 503)},
        {
            "handle": homed_handle,
            "direction": {
                "schema": {"enum": ["up", "down", "both"]},
                "description": "up toward the origins (what it was made of, what went into it), down toward "
                "what was made of it and where it went; both by default",
            },
            "depth": {
                "schema": {"type": "string", "pattern": _DEPTH_PATTERN},
                "description": f"at most this many links from the handle, 1 to {MAX_DEPTH}; "
                f"{DEFAULT_DEPTH} by default",
            },
            "type": {
                "style": "form",
                "explode": True,
                "schema": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_TYPES},
                "description": "only these link types (madeFrom, installedIn, shippedIn, LINK.x; also comma-"
                "separated)",
            },
        },
    )
}
