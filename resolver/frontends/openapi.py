"""The node's OpenAPI document: FastAPI's, rewritten to say what the front ends really answer.

The routes parse their own requests and answer in their dialect (Handle REST codes, SNMS envelopes), so what
FastAPI infers from their signatures is not what they do. Each front end describes its operations in a table
(`Operations`: per `"METHOD /path"`, the statuses it answers and their bodies, the exact form of its
parameters, its request body), and `document()` writes those descriptions over the generated document. An
operation missing from the tables, or a table naming a parameter the route does not have, is an error: the
document may not fall behind the routes.

Handles and prefixes are only answered for prefixes homed on the node, so the parameters that name them are
made from the node's prefixes (`Site`) each time the document is asked for.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import Response

from .http import JSON, JSONResponse

OPENAPI_URL = "/openapi.json"
Schema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Site:
    """What the document says about this node: its prefix and the prefixes homed on it."""

    node_prefix: str
    homed: tuple[str, ...]


# A parameter's fields (`schema`, `required`, `description`…), fixed or made for the site.
Parameter = Schema | Callable[[Site], Schema]


@dataclass(frozen=True, slots=True)
class Operation:
    """What one operation answers (status → response object) and the form of what it is sent."""

    responses: Mapping[int, Schema]
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    body: Schema | None = None


Operations = Mapping[str, Operation]  # "GET /api/handles/{handle}" → its operation


def json_response(description: str, schema: Schema, *, headers: Schema | None = None) -> Schema:
    """A response object with a JSON body."""
    response: Schema = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def case_insensitive(prefix: str) -> str:
    """A regular expression (ECMA-262 and Python alike) matching `prefix` in any case."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else "\\." if c == "." else c for c in prefix)


def document(base: Schema, tables: Iterable[Operations], site: Site) -> Schema:
    """`base` (FastAPI's document) with every operation as the tables describe it."""
    described: dict[str, Operation] = {}
    for table in tables:
        described.update(table)
    doc = copy.deepcopy(base)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            key = f"{method.upper()} {path}"
            if key not in described:
                raise LookupError(f"the OpenAPI tables do not describe {key}")
            _rewrite(key, operation, described.pop(key), site)
    if described:
        raise LookupError(
            f"the OpenAPI tables describe operations the routes do not have: {sorted(described)}"
        )
    # FastAPI's validation error schemas went with its 422 answers: the node answers 400, responseCode 4.
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    if "components" in doc and not schemas:
        doc["components"].pop("schemas", None)
        if not doc["components"]:
            del doc["components"]
    return doc


def _rewrite(key: str, operation: Schema, described: Operation, site: Site) -> None:
    operation["responses"] = {
        str(status): response for status, response in sorted(described.responses.items())
    }
    wanted = dict(described.parameters)
    for parameter in operation.get("parameters", []):
        fields = wanted.pop(parameter["name"], None)
        if fields is not None:
            parameter.update(fields(site) if callable(fields) else copy.deepcopy(fields))
    if wanted:
        raise LookupError(f"{key} has no parameters {sorted(wanted)}")
    if described.body is not None:
        operation["requestBody"] = copy.deepcopy(described.body)


def install(
    api: FastAPI, tables: Iterable[Operations], site: Callable[[], Awaitable[Site]], *, title: str
) -> None:
    """Serve the document at /openapi.json, made per request for the node's current prefixes, and its
    browsable forms at /docs and /redoc. `api` is made with `openapi_url=None`, so that these answer instead
    of FastAPI's own."""
    tables = list(tables)

    async def openapi_json(_request: Request) -> Response:
        return JSONResponse(document(api.openapi(), tables, await site()))

    async def swagger(_request: Request) -> Response:
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{title} - Swagger UI")

    async def redoc(_request: Request) -> Response:
        return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{title} - ReDoc")

    api.add_route(OPENAPI_URL, openapi_json, include_in_schema=False)
    api.add_route("/docs", swagger, include_in_schema=False)
    api.add_route("/redoc", redoc, include_in_schema=False)


__all__ = ["Operation", "Operations", "Site", "case_insensitive", "document", "install", "json_response"]
