"""JSON Schemas of Handle REST bodies, for the OpenAPI document (the routes parse bodies themselves, so
that every error is answered in the Handle REST shape)."""

from __future__ import annotations

from typing import Any

REFERENCE: dict[str, Any] = {
    "type": "object",
    "required": ["handle", "index"],
    "properties": {"handle": {"type": "string"}, "index": {"type": "integer", "minimum": 0}},
}

VALUE: dict[str, Any] = {
    "type": "object",
    "required": ["index", "type", "data"],
    "properties": {
        "index": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "type": {"type": "string", "minLength": 1, "maxLength": 255},
        "data": {
            "oneOf": [
                {"type": "string", "description": "a string value"},
                {
                    "type": "object",
                    "required": ["format", "value"],
                    "properties": {
                        "format": {"enum": ["string", "base64", "hex", "admin", "vlist", "site", "key"]},
                        "value": {},
                    },
                },
            ]
        },
        "ttl": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "format": "date-time"}]},
        "permissions": {"type": "string", "pattern": "^[01]{4}$"},
        "references": {"type": "array", "items": REFERENCE},
    },
}

PUT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "array", "items": VALUE},
                    {
                        "type": "object",
                        "required": ["values"],
                        "properties": {
                            "handle": {"type": "string"},
                            "values": {"type": "array", "items": VALUE},
                        },
                    },
                    VALUE,
                ]
            }
        }
    },
}

HANDLE_PATH: dict[str, Any] = {
    "name": "handle",
    "in": "path",
    "required": True,
    "description": "prefix/suffix, e.g. 88.118.8/PART-0001 (the slash is kept)",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}/.+$"},
}
