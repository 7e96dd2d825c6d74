"""`POST /api/scan`: what a scanner delivered (the text as `text/plain`, or `{"data": "…"}`) understood —
its kind, its fields by name, the keys they give and the handles it names — and the records of those
handles, each as the batch resolution (and its GET) answers it.

GS1 and ISO/IEC 15434 data name no handle: their keys (GTIN + lot + serial, SSCC, part number + serial,
license plate, …) are reported under `keys` for a lookup by alternate keys, which the node does not do yet;
until it does, such a scan leads to no record unless a field holds a handle of the node's."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from registry import InvalidInput

from ...pipeline import StoreUnavailable
from ...scan import ScanError, Scanned, understand
from ...scan.classify import MAX_TEXT
from ..context import ContextDep
from ..http import STALE_WARNING
from ..openapi import Operation, json_response
from .auth import ReaderDep
from .batch import resolve_texts
from .codes import PROTOCOL_ERROR, SERVER_BUSY, failure
from .openapi import FAILURE, RESOLVED, failures

JSON = "application/json"
TEXT = "text/plain"
NO_LOOKUP_BY_KEYS = "the keys are not looked up yet (alternate keys): no record is found by them"

_TEXT: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT}
BODY_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {
        TEXT: {"schema": {**_TEXT, "description": "the scanned text, control characters included"}},
        JSON: {"schema": {"type": "object", "required": ["data"], "properties": {"data": _TEXT}}},
    },
}

_STRINGS: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
SCANNED: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "fields", "keys", "handles", "records"],
    "properties": {
        "kind": {"enum": ["iso15434", "gs1", "gs1_digital_link", "node_url", "handle"]},
        "fields": {
            "type": "array",
            "description": "{ai|di, name, value}: a GS1 application identifier or an ANSI MH10.8.2 data "
            "identifier, named",
            "items": {**_STRINGS, "required": ["name", "value"]},
        },
        "keys": {**_STRINGS, "description": "gtin, lot, serial, sscc, partNumber, licensePlate, …"},
        "handles": {"type": "array", "items": {"type": "string"}},
        "records": {
            "type": "array",
            "description": "each handle's answer as GET gives it",
            "items": {"anyOf": [RESOLVED, FAILURE]},
        },
        "note": {"type": "string"},
    },
}
OPERATIONS: dict[str, Operation] = {
    "POST /api/scan": Operation(
        {
            200: json_response("what the scan was understood as, and its records", SCANNED),
            **failures(400, 401, 408, 413, 500, 503),
        }
    )
}

router = APIRouter(tags=["Resolution"])


async def scanned_text(request: Request) -> str:
    """The scanned text the request carries: a `text/plain` body (UTF-8), or JSON `{"data": "…"}`."""
    media = request.headers.get("content-type", TEXT).split(";")[0].strip().lower()
    body = await request.body()
    if media == JSON:
        try:
            sent = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"the body is not valid JSON: {exc}") from None
        data = sent.get("data") if isinstance(sent, dict) else None
        if not isinstance(data, str):
            raise InvalidInput('the JSON body is {"data": "the scanned text"}')
        return data
    if media != TEXT:
        raise InvalidInput('send the scanned text as text/plain, or as application/json {"data": "…"}')
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the scanned text is not UTF-8: {exc}") from None


@router.post("/api/scan", summary="Understand a scanned label", openapi_extra={"requestBody": BODY_SCHEMA})
async def scan(request: Request, context: ContextDep, reader: ReaderDep) -> Response:
    text = await scanned_text(request)
    try:
        scanned = understand(text, context.services.node.prefix)
    except ScanError as exc:
        status, body = failure(PROTOCOL_ERROR, message=exc.message)
        return Response(body, status_code=status, media_type=JSON)
    handles = [str(handle) for handle in scanned.handles]
    try:
        records, stale = await resolve_texts(context, reader, handles)
    except StoreUnavailable as exc:
        status, body = failure(SERVER_BUSY, message=str(exc))
        return Response(body, status_code=status, media_type=JSON)
    headers = {"warning": STALE_WARNING} if stale else None
    return Response(answer(scanned, handles, records), media_type=JSON, headers=headers)


def answer(scanned: Scanned, handles: list[str], records: list[bytes]) -> bytes:
    body: dict[str, Any] = {
        "kind": scanned.kind,
        "fields": [found.as_json() for found in scanned.fields],
        "keys": dict(scanned.keys),
        "handles": handles,
        "records": [orjson.Fragment(record) for record in records],
    }
    if scanned.keys and not handles:
        body["note"] = NO_LOOKUP_BY_KEYS
    return orjson.dumps(body)
