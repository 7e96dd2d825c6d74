"""The SNMS API in the OpenAPI document: every answer is HTTP 200 with an envelope `{"status", "message",
"data"}` (status 1 with the operation's data; -1, -2, -3, -4 with `data: null`), whatever the request; but a
body larger than the node accepts (413) or slower than it waits for (408), which the node's edge refuses
before any API sees it, in an envelope too (status -2)."""

from __future__ import annotations

from typing import Any

from registry.handle import MAX_PREFIX_LENGTH
from registry.values import MAX_READERS

from ..handle_rest.openapi import PREFIX_PATTERN
from ..openapi import Operation, json_response
from .envelope import FAILED, FORBIDDEN, INTERNAL, NOT_LOGGED_IN, OK
from .identifiers import MAX_BATCH, MAX_HANDLE, MAX_TEXT, MAX_TYPE, MAX_VERSION
from .tokens import LOGIN_BODY

Schema = dict[str, Any]


def envelope(data: Schema, description: str) -> dict[int, Schema]:
    """The one answer of an SNMS operation whose success carries `data`."""
    schema = {
        "type": "object",
        "required": ["status", "message", "data"],
        "properties": {
            "status": {"enum": [OK, NOT_LOGGED_IN, FAILED, FORBIDDEN, INTERNAL]},
            "message": {"type": "string"},
            "data": {},
        },
        "oneOf": [
            {"properties": {"status": {"const": OK}, "data": data}},
            {"properties": {"status": {"not": {"const": OK}}, "data": {"type": "null"}}},
        ],
    }
    text = (
        f"{description} (status 1); every failure is HTTP 200 too: status -1 not logged in or the token "
        "expired, -2 refused (the message says why), -3 no permission, -4 internal error"
    )
    return {200: json_response(text, schema)}


def _body(schema: Schema) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_REFUSED: Schema = {
    "type": "object",
    "required": ["status", "message", "data"],
    "properties": {"status": {"const": FAILED}, "message": {"type": "string"}, "data": {"type": "null"}},
}
_REFUSALS = {
    413: json_response("the body is larger than the node accepts (status -2)", _REFUSED),
    408: json_response("the body did not arrive in time; the connection is closed (status -2)", _REFUSED),
}


def _sent(body: Schema, answers: dict[int, Schema]) -> Operation:
    """An operation that is sent `body`: its envelope, or the edge's refusal of the body (an envelope too)."""
    return Operation({**answers, **_REFUSALS}, body=body)


_TEXT: Schema = {"type": "string"}
_DONE = {"const": True}
_READERS: Schema = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_READERS,
    "items": {"type": "string", "pattern": PREFIX_PATTERN, "maxLength": MAX_PREFIX_LENGTH},
    "description": "idnode: the enterprise prefixes this value is shared with; nobody else reads it",
}
_SNMS_VALUE: Schema = {
    "type": "object",
    "required": ["index", "type", "data"],
    "properties": {
        "index": {"type": "integer", "minimum": 1},
        "type": {"type": "string", "minLength": 1, "maxLength": MAX_TYPE},
        "auth": _TEXT,
        "readers": _READERS,
        "data": {
            "type": "object",
            "required": ["value"],
            "properties": {"format": {"const": "string"}, "value": {"type": "string", "maxLength": MAX_TEXT}},
        },
    },
}
RECORD: Schema = {
    "type": "object",
    "required": ["handle"],
    "properties": {
        "handle": {"type": "string", "minLength": 1, "maxLength": MAX_HANDLE},
        "templateVersion": {"type": "string", "maxLength": MAX_VERSION},
        "value": {"type": "array", "items": _SNMS_VALUE},
    },
}
DETAIL: Schema = {
    "type": "object",
    "required": ["prefix", "handle", "templateVersion", "value"],
    "properties": {
        "prefix": _TEXT,
        "handle": _TEXT,
        "templateVersion": _TEXT,
        "value": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "type", "auth", "data"],
                "properties": {
                    "index": {"type": "integer"},
                    "type": _TEXT,
                    "auth": _TEXT,
                    "readers": {**_READERS, "description": "shown to the record's administrators only"},
                    "data": {
                        "type": "object",
                        "required": ["format", "value"],
                        "properties": {"format": _TEXT, "value": {}},
                    },
                },
            },
        },
    },
}
_RESULTS: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["handle", "code", "msg"],
        "properties": {"handle": _TEXT, "code": {"type": "integer"}, "msg": _TEXT},
    },
}
TEMPLATE: Schema = {
    "type": "object",
    "required": ["prefix", "version", "items"],
    "properties": {
        "prefix": _TEXT,
        "version": _TEXT,
        "type": {"enum": [1, 2]},
        "description": _TEXT,
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "idType", "idIndex"],
                "properties": {
                    "name": _TEXT,
                    "idType": _TEXT,
                    "idIndex": {"type": "integer"},
                    "required": {"type": "boolean"},
                    "state": {"enum": [0, 1]},
                    "metadata": {"type": "object"},
                },
            },
        },
    },
}
_RECORDS: Schema = {"type": "array", "maxItems": MAX_BATCH, "items": RECORD}
_TEMPLATE_KEY = _body(
    {"type": "object", "required": ["prefix", "version"], "properties": {"prefix": _TEXT, "version": _TEXT}}
)
_TEMPLATES = {"anyOf": [TEMPLATE, {"type": "array", "items": TEMPLATE}]}

_TOKEN = envelope({"type": "object", "required": ["token"], "properties": {"token": _TEXT}}, "a bearer token")
DATA = "/identityv2/data"

OPERATIONS: dict[str, Operation] = {
    "POST /identity/token": _sent(LOGIN_BODY, _TOKEN),
    "POST /identity/token/v1": _sent(LOGIN_BODY, _TOKEN),
    f"GET {DATA}/detail": Operation(envelope(DETAIL, "the identifier's template version and values")),
    f"POST {DATA}": _sent(_body(RECORD), envelope(_DONE, "created")),
    f"PUT {DATA}": _sent(_body(RECORD), envelope(_DONE, "updated")),
    f"DELETE {DATA}": _sent(
        _body({"type": "object", "required": ["handle"], "properties": {"handle": _TEXT}}),
        envelope(_DONE, "deleted"),
    ),
    f"POST {DATA}/batchCreate": _sent(_body(_RECORDS), envelope(_RESULTS, "each identifier's result")),
    f"PUT {DATA}/batchUpdate": _sent(_body(_RECORDS), envelope(_RESULTS, "each identifier's result")),
    f"DELETE {DATA}/batchDelete": _sent(
        _body({"type": "array", "maxItems": MAX_BATCH, "items": _TEXT}),
        envelope(_RESULTS, "each identifier's result"),
    ),
}
for _api in ("v5", "v3"):
    _path = f"/snms/api/{_api}/template"
    OPERATIONS[f"GET {_path}"] = Operation(envelope(_TEMPLATES, "the template at version=, or every version"))
    OPERATIONS[f"POST {_path}"] = _sent(_body(TEMPLATE), envelope(_DONE, "created"))
    OPERATIONS[f"DELETE {_path}"] = _sent(_TEMPLATE_KEY, envelope(_DONE, "deleted"))
OPERATIONS["PUT /snms/api/v5/template"] = _sent(_body(TEMPLATE), envelope(_DONE, "changed"))
