"""The administration API in the OpenAPI document: per operation, its success body and its refusals (in the
Handle REST shape: `..handle_rest.openapi.failures`)."""

from __future__ import annotations

from typing import Any

from registry.audit import CURSOR_FORM, MAX_LIMIT, TIME_FORM
from registry.handle import MAX_PREFIX_LENGTH

from ..handle_rest.openapi import failures
from ..openapi import Operation, json_response
from .operations import MAX_FILTER, OUTCOMES

_SEGMENT = "[A-Za-z0-9_-]+"
_NO_CONTROLS = "[^\\x00-\\x1f\\x7f-\\x9f]"

Schema = dict[str, Any]

_TEXT: Schema = {"type": "string"}
_STATUS: Schema = {"enum": ["active", "disabled"]}
_ADMINISTRATOR: Schema = {"type": "string", "description": "300:0.NA/<prefix>, for Basic authentication"}
_SECRET: Schema = {"type": "string", "description": "the secret made for it, shown this once"}

ENTERPRISE: Schema = {
    "type": "object",
    "required": ["id", "name", "creditCode", "industry", "contact", "status", "prefixes"],
    "properties": {
        "id": {"type": "integer"},
        "name": _TEXT,
        "creditCode": _TEXT,
        "industry": _TEXT,
        "contact": _TEXT,
        "status": _STATUS,
        "prefixes": {"type": "array", "items": _TEXT},
    },
}
_USER: Schema = {
    "type": "object",
    "required": ["username", "status"],
    "properties": {"username": _TEXT, "status": _STATUS},
}


_NULLABLE_TEXT: Schema = {"type": ["string", "null"]}
AUDIT_EVENT: Schema = {
    "type": "object",
    "required": ["id", "at", "action", "outcome", "actor", "source", "target", "prefix", "count", "detail"],
    "properties": {
        "id": {"type": "integer"},
        "at": {**_TEXT, "description": "UTC, yyyy-MM-ddTHH:mm:ssZ"},
        "action": {**_TEXT, "description": "handle.create, enterprise.disable, template.update, secret.set…"},
        "outcome": {**_TEXT, "description": "ok, denied, failed, throttled"},
        "actor": {**_NULLABLE_TEXT, "description": "the principal (and the SNMS user acting for it)"},
        "source": {**_TEXT, "description": "the client's address, or local:<OS user> for local commands"},
        "target": {**_TEXT, "description": "what was acted on: a handle, or the first few of a batch"},
        "prefix": {**_NULLABLE_TEXT, "description": "the prefix the event concerns"},
        "count": {"type": "integer", "description": "how many handles (or items) the event covers"},
        "detail": _TEXT,
    },
}
_TIME_FILTER = "2026-12-01, 2026-12-01T08:00:00Z (UTC unless an offset is given), or a time ago: 30m, 12h, 7d"
_TIME_SCHEMA: Schema = {"type": "string", "pattern": f"^{TIME_FORM}$"}
_FILTER_TEXT: Schema = {"type": "string", "pattern": f"^{_NO_CONTROLS}+$", "maxLength": MAX_FILTER}
AUDIT_PARAMETERS: dict[str, Schema] = {
    "prefix": {
        "schema": {
            "type": "string",
            "pattern": f"^{_SEGMENT}(?:\\.{_SEGMENT})*$",
            "maxLength": MAX_PREFIX_LENGTH,
        },
        "description": "events of this prefix and those derived from it",
    },
    "actor": {"schema": _FILTER_TEXT, "description": "e.g. 300:0.NA/88.118.8 (its SNMS users included)"},
    "action": {
        "schema": _FILTER_TEXT,
        "description": "an action, or a family: handle, enterprise, template…",
    },
    "outcome": {"schema": {"enum": list(OUTCOMES)}},
    "since": {"schema": _TIME_SCHEMA, "description": f"at or after: {_TIME_FILTER}"},
    "until": {"schema": _TIME_SCHEMA, "description": f"before: {_TIME_FILTER}"},
    "cursor": {
        "schema": {"type": "string", "pattern": f"^{CURSOR_FORM}$"},
        "description": "`next` of the page before",
    },
    "limit": {
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "description": "default 100",
    },
}


def _object(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


def _body(schema: Schema, *, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _answers(status: int, description: str, schema: Schema | None, *refusals: int) -> dict[int, Schema]:
    success = json_response(description, schema) if schema is not None else {"description": description}
    return {status: success, **failures(400, 401, 403, *refusals, 500, 503)}


_OPTIONAL_SECRET = _body(
    _object([], secret={**_TEXT, "description": "none or empty: one is made"}), required=False
)
ENTERPRISES = "/api/admin/enterprises"
ONE = f"{ENTERPRISES}/{{prefix}}"

OPERATIONS: dict[str, Operation] = {
    f"POST {ENTERPRISES}": Operation(
        _answers(
            201,
            "onboarded",
            _object(
                ["enterprise", "administrator"],
                enterprise=ENTERPRISE,
                administrator=_ADMINISTRATOR,
                secret=_SECRET,
            ),
            409,
            408,
            413,
        ),
        body=_body(
            _object(
                ["name", "creditCode"],
                name=_TEXT,
                creditCode={**_TEXT, "description": "the unified social credit code (18 characters)"},
                industry=_TEXT,
                contact=_TEXT,
                prefix={**_TEXT, "description": "none or empty: the next free one under the node's prefix"},
                secret={**_TEXT, "description": "none or empty: one is made"},
            )
        ),
    ),
    f"GET {ENTERPRISES}": Operation(
        _answers(
            200,
            "every enterprise",
            _object(["enterprises"], enterprises={"type": "array", "items": ENTERPRISE}),
        )
    ),
    f"GET {ONE}": Operation(
        _answers(
            200,
            "the enterprise and its SNMS users",
            {
                **ENTERPRISE,
                "required": [*ENTERPRISE["required"], "users"],
                "properties": {**ENTERPRISE["properties"], "users": {"type": "array", "items": _USER}},
            },
            404,
        )
    ),
    f"POST {ONE}/disable": Operation(_answers(200, "the enterprise, disabled", ENTERPRISE, 404)),
    f"POST {ONE}/enable": Operation(_answers(200, "the enterprise, enabled", ENTERPRISE, 404)),
    f"POST {ONE}/prefixes": Operation(
        _answers(201, "the enterprise with its further prefix", ENTERPRISE, 404, 409, 408, 413),
        body=_body(
            _object([], prefix={**_TEXT, "description": "none or empty: the next free one"}), required=False
        ),
    ),
    f"PUT {ONE}/secret": Operation(
        _answers(
            200,
            "set",
            _object(["administrator"], administrator=_ADMINISTRATOR, secret=_SECRET),
            404,
            408,
            413,
        ),
        body=_OPTIONAL_SECRET,
    ),
    f"DELETE {ONE}/secret": Operation(_answers(204, "revoked", None, 404)),
    f"PUT {ONE}/key": Operation(
        _answers(
            200,
            "put",
            _object(
                ["administrator", "key"],
                administrator={**_TEXT, "description": "index:0.NA/<prefix>, for Authorization: Handle"},
                key={"type": "object", "description": "the HS_PUBKEY value's data, a JWK"},
            ),
            404,
            413,
        ),
        body=_body(
            _object(
                ["publicKey"],
                publicKey={**_TEXT, "description": "an RSA, DSA or Ed25519 public key, PEM"},
                index={"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "description": "300 if absent"},
            )
        ),
    ),
    f"POST {ONE}/users": Operation(
        _answers(
            201,
            "created",
            _object(["username", "actsAs", "status"], username=_TEXT, actsAs=_ADMINISTRATOR, status=_STATUS),
            404,
            409,
            408,
            413,
        ),
        body=_body(_object(["username", "password"], username=_TEXT, password=_TEXT)),
    ),
    "POST /api/admin/users/{username}/disable": Operation(_answers(200, "disabled", _USER, 404)),
    "POST /api/admin/users/{username}/enable": Operation(_answers(200, "enabled", _USER, 404)),
    "GET /api/admin/audit": Operation(
        _answers(
            200,
            "events newest first; next: the cursor of the page after, null at the end",
            _object(
                ["events", "next"],
                events={"type": "array", "items": AUDIT_EVENT},
                next={"type": ["string", "null"]},
            ),
        ),
        parameters=AUDIT_PARAMETERS,
    ),
    "GET /api/admin/stats": Operation(
        _answers(
            200,
            "handles by prefix",
            _object(
                ["total", "prefixes"],
                total={"type": "integer"},
                prefixes={
                    "type": "array",
                    "items": _object(
                        ["prefix", "handles", "templates"],
                        prefix=_TEXT,
                        handles={"type": "integer"},
                        templates={"type": "object", "additionalProperties": {"type": "integer"}},
                    ),
                },
            ),
        )
    ),
}
