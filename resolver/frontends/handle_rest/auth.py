"""Basic authentication against HS_SECKEY values, as Handle REST clients send it; and the reader of a
resolution, which is anonymous unless the request authenticates."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from registry import AuthenticationFailed, Principal
from registry.principals import split_basic_credentials
from registry.visibility import Reader

from ..context import ContextDep


async def authenticate(request: Request, context: ContextDep) -> Principal:
    """The principal named by the request's `Authorization: Basic` header, or `AuthenticationFailed`."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationFailed("authentication needed")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationFailed("only Basic authentication is supported")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("the Basic credentials are not base64 of UTF-8 text") from None
    username, secret = split_basic_credentials(decoded)
    return await context.services.accounts.authenticate(username, secret)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


async def reader(request: Request, context: ContextDep) -> Reader | None:
    """Who reads: None for a request without an Authorization header (anonymous, shown the public values, as
    the GET lane answers it), else the principal `authenticate` names — so every scheme it takes serves
    reads too; credentials that fail are refused (401), not read as anonymous."""
    if "authorization" not in request.headers:
        return None
    return Reader(await authenticate(request, context), context.naming)


ReaderDep = Annotated[Reader | None, Depends(reader)]
