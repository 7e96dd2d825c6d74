"""The Handle REST API in the OpenAPI document: per operation, the bodies it takes and answers and the form of
its parameters (the routes parse bodies themselves, so that every error is answered in the Handle REST shape;
`..openapi` writes this table over FastAPI's document)."""

from __future__ import annotations

from typing import Any

from registry.handle import MAX_HANDLE_LENGTH, MAX_PREFIX_LENGTH
from registry.prepare import MAX_VALUES_PER_RECORD
from registry.pubkeys import MAX_KEY_BITS
from registry.values import MAX_DATA_LENGTH, MAX_INDEX, MAX_READERS, MAX_TTL, MAX_TYPE_LENGTH

from ..openapi import Operation, Site, case_insensitive, json_response
from .codes import BASIC_CHALLENGE

Schema = dict[str, Any]

# Patterns are anchored with ^…$ and exclude line breaks themselves (a Python `$` also matches before a final
# newline). A suffix may hold anything but C0 and C1 control characters.
_SUFFIX_CHARS = r"[^\x00-\x1f\x7f-\x9f]"
_SEGMENT = "[A-Za-z0-9_-]+"
_BITS = "[01]"
PREFIX_PATTERN = f"^{_SEGMENT}(?:\\.{_SEGMENT})*$"

POSITIVE_INDEX: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_INDEX}

REFERENCE: Schema = {
    "type": "object",
    "required": ["handle"],
    "properties": {
        "handle": {"type": "string", "pattern": "/", "description": "prefix/suffix"},
        "index": {"type": "integer", "minimum": 0, "maximum": MAX_INDEX, "description": "0: any index"},
    },
}


def _data(fmt: str, value: Schema, *, optional_format: bool = False) -> Schema:
    return {
        "type": "object",
        "required": ["value"] if optional_format else ["format", "value"],
        "properties": {"format": {"const": fmt}, "value": value},
    }


_TEXT: Schema = {"type": "string", "maxLength": MAX_DATA_LENGTH}

# JWK members: unpadded base64url of unsigned big-endian integers (or, for Ed25519, of the key's 32 bytes).
_C = "[A-Za-z0-9_-]"
_GROUPS = MAX_KEY_BITS // 24  # four characters are 24 bits


def _number(*, first: str = _C, groups: int = 0) -> Schema:
    """A base64url number: its `first` character, and then at least `groups` more groups of four."""
    long = f"^{first}{_C}{{3}}(?:{_C}{{4}}){{{groups},{_GROUPS - 1}}}(?:{_C}{{2,3}})?$"
    return {"type": "string", "pattern": long if groups else f"^{first}{_C}{{1,2}}$|{long}"}


def _jwk(kty: str, required: list[str], **members: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["kty", *required],
        "properties": {"kty": {"const": kty}, **members},
    }


# An RSA modulus has at least 512 bits: 88 characters, the first not zero.
KEY: Schema = {
    "anyOf": [
        _jwk("RSA", ["n", "e"], n=_number(first="[B-Za-z0-9_-]", groups=21), e=_number()),
        _jwk("DSA", ["y", "p", "q", "g"], **{name: _number() for name in ("y", "p", "q", "g")}),
        _jwk(
            "OKP",
            ["crv", "x"],
            crv={"const": "Ed25519"},
            x={"type": "string", "pattern": f"^{_C}{{43}}$", "description": "the key's 32 bytes"},
        ),
    ],
    "description": "a JWK: RSA {n, e}, DSA {y, p, q, g}, or Ed25519 (RFC 8037)",
}
_BASE64 = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# yyyy-MM-ddTHH:mm:ssZ from 1970 on (days to the 28th: every month has them)
_TIME = (
    "^(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$"
)

VALUE: Schema = {
    "type": "object",
    "required": ["index", "type", "data"],
    "properties": {
        "index": POSITIVE_INDEX,
        "type": {
            "type": "string",
            "pattern": f"^[\\x20-\\x7e]{{1,{MAX_TYPE_LENGTH}}}$",
            "description": "printable characters (the pattern says which in ASCII)",
        },
        "data": {
            "anyOf": [
                {**_TEXT, "description": "a string value"},
                _data("string", _TEXT, optional_format=True),
                _data("base64", {"type": "string", "pattern": _BASE64, "maxLength": MAX_DATA_LENGTH}),
                _data(
                    "hex",
                    {"type": "string", "pattern": "^(?:[0-9A-Fa-f]{2})*$", "maxLength": MAX_DATA_LENGTH},
                ),
                _data(
                    "admin",
                    {
                        **REFERENCE,
                        "properties": {
                            **REFERENCE["properties"],
                            "permissions": {"type": "string", "pattern": f"^{_BITS}{{12}}$"},
                        },
                    },
                ),
                _data("vlist", {"type": "array", "items": REFERENCE}),
                _data("key", KEY),
                {
                    "type": "object",
                    "required": ["format", "value"],
                    "properties": {"format": {"const": "site"}, "value": {}},
                    "description": "kept as sent",
                },
            ]
        },
        "ttl": {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_TTL, "description": "seconds"},
                {"type": "string", "pattern": _TIME, "description": "an absolute time"},
            ]
        },
        "permissions": {
            "type": "string",
            "pattern": f"^{_BITS}{{4}}$",
            "description": "admin read, admin write, public read, public write",
        },
        "readers": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_READERS,
            "items": {"type": "string", "pattern": PREFIX_PATTERN, "maxLength": MAX_PREFIX_LENGTH},
            "description": "idnode: the enterprise prefixes this value is shared with (and the record's "
            "administrators); nobody else reads it, whatever its permissions say",
        },
        "references": {"type": "array", "items": REFERENCE},
    },
}

VALUES: Schema = {
    "type": "array",
    "items": VALUE,
    "maxItems": MAX_VALUES_PER_RECORD,
    "description": "each at an index of its own",
}
PUT_BODY: Schema = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    VALUES,
                    {
                        "type": "object",
                        "required": ["values"],
                        "properties": {"values": VALUES},
                        "description": "a `handle` member, if sent, names the handle of the path",
                    },
                    VALUE,
                ]
            }
        }
    },
}


def homed_handle(site: Site) -> Schema:
    """The handle path parameter: `prefix/suffix` under a prefix homed on the node."""
    prefixes = "|".join(case_insensitive(prefix) for prefix in site.homed)
    example = next((p for p in site.homed if p != site.node_prefix), site.node_prefix)
    return {
        "description": "prefix/suffix under a prefix homed here (the slash is kept, or sent as %2F); a "
        "prefix handle (0.NA/88.118.8) or a bare prefix (88.118.8, for its prefix handle) is answered too",
        "example": f"{example}/PART-0001",
        "schema": {
            "type": "string",
            "pattern": f"^(?:{prefixes})/{_SUFFIX_CHARS}+$",
            "maxLength": MAX_HANDLE_LENGTH,
        },
    }


def prefix_here(site: Site) -> Schema:
    """A prefix at or under the node's prefix."""
    return {
        "required": True,
        "schema": {
            "type": "string",
            "pattern": f"^{case_insensitive(site.node_prefix)}(?:\\.{_SEGMENT})*$",
            "maxLength": MAX_PREFIX_LENGTH,
        },
    }


# --- answers ------------------------------------------------------------------------------------------------

CODES = [1, 2, 3, 4, 5, 100, 101, 102, 200, 201, 202, 301, 400, 402, 403]
FAILURE: Schema = {
    "type": "object",
    "required": ["responseCode"],
    "properties": {
        "responseCode": {"enum": CODES},
        "message": {"type": "string"},
        "handle": {"type": "string"},
        "signature": {"type": "string", "description": "with cert=true, on 404: the signed 'not found'"},
    },
}
_FAILURES = {
    400: "refused: 4 bad request, 102 bad handle, 202 bad value, 200 values not found, 301 not homed here",
    401: "authentication needed (402)",
    403: "not permitted (400), or a session that is unknown or has expired (403)",
    404: "not found (100)",
    409: "already exists (101, 201)",
    408: "the body did not arrive in time; the connection is closed (4)",
    413: "the body is larger than the node accepts (4)",
    429: "too many failed authentications: try again after Retry-After seconds (3)",
    500: "internal error (2)",
    503: "busy: the database is unavailable (3)",
}
_CHALLENGE_HEADER = {
    "WWW-Authenticate": {
        "description": f'{BASIC_CHALLENGE}, and Handle sessionId="…", nonce="…" (a session to sign)',
        "required": True,
        "schema": {"type": "string"},
    }
}


_HEADERS = {401: _CHALLENGE_HEADER, 429: {"Retry-After": {"required": True, "schema": {"type": "string"}}}}


def failures(*statuses: int) -> dict[int, Schema]:
    """Handle REST failure answers, `{"responseCode", "message"?, "handle"?}`, at these statuses (and 429
    wherever 401 is: what authenticates may be refused by the authentication throttle)."""
    if 401 in statuses and 429 not in statuses:
        statuses = (*statuses, 429)
    return {
        status: json_response(_FAILURES[status], FAILURE, headers=_HEADERS.get(status)) for status in statuses
    }


STORED_VALUE: Schema = {
    "type": "object",
    "required": ["index", "type", "data", "ttl"],
    "properties": {
        "index": {"type": "integer"},
        "type": {"type": "string"},
        "data": {
            "type": "object",
            "required": ["format", "value"],
            "properties": {"format": {"type": "string"}, "value": {}},
        },
        "ttl": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "timestamp": {"type": "string"},
        "permissions": {"type": "string"},
        "readers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "shown to the record's administrators only",
        },
        "references": {"type": "array", "items": REFERENCE},
    },
}
RESOLVED: Schema = {
    "type": "object",
    "required": ["responseCode", "handle", "values"],
    "properties": {
        "responseCode": {"enum": [1, 200], "description": "200: no value matches index= or type="},
        "handle": {"type": "string"},
        "values": {"type": "array", "items": STORED_VALUE},
        "signature": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
            "description": "with cert=true: a compact JWS by the node's key (HS_PUBKEY in "
            "0.NA/<node prefix>) whose claims digest the values, as HS_SIGNATURE values do",
        },
    },
}
WRITTEN: Schema = {
    "type": "object",
    "required": ["responseCode", "handle"],
    "properties": {"responseCode": {"const": 1}, "handle": {"type": "string"}},
}
LISTING: Schema = {
    "type": "object",
    "required": ["responseCode", "prefix", "totalCount", "page", "pageSize", "handles"],
    "properties": {
        "responseCode": {"const": 1},
        "prefix": {"type": "string"},
        "totalCount": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "a string, as Handle.Net sends",
        },
        "page": {"type": "integer"},
        "pageSize": {"type": "integer"},
        "handles": {"type": "array", "items": {"type": "string"}},
    },
}
PREFIXES: Schema = {
    "type": "object",
    "required": ["responseCode", "prefixes"],
    "properties": {"responseCode": {"const": 1}, "prefixes": {"type": "array", "items": {"type": "string"}}},
}
BATCH: Schema = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "description": "each handle's answer as GET gives it, in request order",
            "items": {"anyOf": [RESOLVED, FAILURE]},
        }
    },
}
SESSION: Schema = {
    "type": "object",
    "properties": {
        "sessionId": {"type": "string", "description": "send it as Authorization: Handle sessionId=…"},
        "nonce": {"type": "string", "description": "base64 of 16 bytes: sign it with a cnonce after it"},
        "authenticated": {"type": "boolean"},
        "id": {"type": "string", "description": "who is authenticated, index:handle"},
    },
}


def _resolution(status: int, description: str, schema: Schema) -> Schema:
    # With ?callback= every answer (but the refusal of the callback itself) is JSONP.
    response = json_response(description, schema)
    response["content"]["application/javascript"] = {"schema": {"type": "string"}}
    return response


def _resolutions() -> dict[int, Schema]:
    answers = {status: _resolution(status, _FAILURES[status], FAILURE) for status in (400, 404, 500, 503)}
    refused = failures(401)  # credentials sent and refused: a JSON answer even with ?callback=
    found = "the values the caller may read: the public ones, and an authenticated caller's share"
    return {200: _resolution(200, found, RESOLVED), **answers, **refused}


# --- parameters ---------------------------------------------------------------------------------------------

_REPEATED = {"style": "form", "explode": True}
_GET_INDEXES = {**_REPEATED, "schema": {"type": "array", "items": POSITIVE_INDEX}}
# The indexes of a PUT must be exactly those of the body's values, which a schema cannot say: it admits
# `various` ("whatever they are"), and the description the explicit form.
_PUT_INDEXES = {
    **_REPEATED,
    "schema": {"type": "array", "items": {"const": "various"}, "minItems": 1, "maxItems": 1},
    "description": "`various`: put the body's values at their indexes, keeping the others (without index=, "
    "the body replaces the record); or, repeated, exactly the indexes of the body's values",
}
_FLAG = {"schema": {"type": "string"}, "description": "true when present bare, or true/yes/1"}
_PAGE = {"schema": {"type": "string", "pattern": "^[0-9]{0,9}$"}, "description": "zero-based; empty: 0"}
_PAGE_SIZE = {
    "schema": {"type": "string", "pattern": "^(?:0{0,5}[0-9]{0,4}|0{0,4}10000)$"},
    "description": "at most 10000, 0 gives only the count; empty: 1000",
}
_CALLBACK = {
    "schema": {"type": "string", "pattern": "^[A-Za-z_$][\\w$.]{0,63}$"},
    "description": "JSONP: the answer as callback(…);",
}

HANDLE = "/api/handles/{handle}"
SESSIONS = "/api/sessions"
THIS = f"{SESSIONS}/this"
_THIS = Operation(
    {
        200: json_response("the session; authenticated after a good answer (a new sessionId)", SESSION),
        **failures(401, 403, 500, 503),
    }
)
OPERATIONS: dict[str, Operation] = {
    f"GET {HANDLE}": Operation(
        _resolutions(),
        {
            "handle": homed_handle,
            "index": _GET_INDEXES,
            "type": {**_REPEATED, "schema": {"type": "array", "items": {"type": "string"}}},
            "pretty": _FLAG,
            "callback": _CALLBACK,
            "cert": {**_FLAG, "description": "true/yes/1 or bare: the answer signed by the node"},
            "publicOnly": {
                **_FLAG,
                "description": "authenticated callers: true for the public values only (anonymous callers "
                "are shown those anyway)",
            },
        },
    ),
    f"PUT {HANDLE}": Operation(
        {
            200: json_response("replaced", WRITTEN),
            201: json_response("created (with mintNewSuffix, under the handle minted)", WRITTEN),
            **failures(400, 401, 403, 404, 408, 409, 413, 500, 503),
        },
        {"handle": homed_handle, "index": _PUT_INDEXES, "overwrite": _FLAG, "mintNewSuffix": _FLAG},
    ),
    f"DELETE {HANDLE}": Operation(
        {200: json_response("deleted", WRITTEN), **failures(400, 401, 403, 404, 500, 503)},
        {"handle": homed_handle, "index": {**_GET_INDEXES, "description": "repeatable: delete only these"}},
    ),
    "GET /api/handles": Operation(
        {200: json_response("a page of the prefix's handles", LISTING), **failures(400, 401, 403, 500, 503)},
        {"prefix": prefix_here, "page": _PAGE, "pageSize": _PAGE_SIZE},
    ),
    "GET /api/prefixes": Operation(
        {200: json_response("the prefixes homed here", PREFIXES), **failures(500, 503)}
    ),
    "POST /api/resolve": Operation(
        {200: json_response("each handle's answer", BATCH), **failures(400, 401, 408, 413, 500, 503)}
    ),
    f"POST {SESSIONS}": Operation(
        {
            201: json_response("a new session, its id and nonce (with Basic, authenticated)", SESSION),
            **failures(400, 401, 500, 503),
        }
    ),
    f"GET {THIS}": _THIS,
    f"PUT {THIS}": _THIS,
    f"POST {THIS}": _THIS,
    f"DELETE {THIS}": Operation(
        {204: {"description": "ended: the id authenticates no one any more"}, **failures(403, 500, 503)}
    ),
}
