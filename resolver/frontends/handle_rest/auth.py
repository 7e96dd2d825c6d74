"""Basic authentication against HS_SECKEY values, as Handle REST clients send it; each check passes the
authentication throttle (resolver/throttle), which may refuse it (429) before the secret is checked."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from registry import AuthenticationFailed, Principal
from registry.principals import split_basic_credentials

from ..context import Context, ContextDep


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
    throttle = context.throttle
    source = throttle.source_of(request.scope)
    async with throttle.attempt(
        account=_account(username, context), secret=secret, source=source, dialect="handle_rest"
    ):
        return await context.services.accounts.authenticate(username, secret)


def _account(username: str, context: Context) -> str:
    """The account a Basic user name names, as the node tells accounts apart (`300:<handle key>`): every
    spelling of one account (case, percent-encoding) is counted as that account."""
    try:
        principal = Principal.parse(username)
    except AuthenticationFailed:
        return username
    return f"{principal.index}:{context.naming.key(principal.handle)}"


PrincipalDep = Annotated[Principal, Depends(authenticate)]
