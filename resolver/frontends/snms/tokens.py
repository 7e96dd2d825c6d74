"""`POST /identity/token` and `/identity/token/v1` (password = sha256(sha256(password) + "yyyy-MM-dd")).

Each login passes the authentication throttle (resolver/throttle), which may refuse it before the password is
checked. An enterprise administrator (user name: its prefix) is counted as the Basic account of the same
secret, `300:0.NA/<prefix>`, so that the two ways in share one count.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from registry import AuthenticationFailed, Handle, InvalidHandle
from registry.accounts import MAX_PASSWORD, MAX_USERNAME, WRONG

from ..context import Context, ContextDep
from .envelope import BAD_REQUEST, FAILED, SnmsFailure, endpoint, json_body, ok

router = APIRouter(tags=["SNMS"])

LOGIN_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string", "maxLength": MAX_USERNAME},
                    "password": {"type": "string", "maxLength": MAX_PASSWORD},
                },
            }
        }
    },
}


def _credentials(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise SnmsFailure(FAILED, f'{BAD_REQUEST}：请求体应为 {{"username", "password"}}')
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not 0 < len(username) <= MAX_USERNAME:
        raise SnmsFailure(FAILED, f"{BAD_REQUEST}：username 须为 1 到 {MAX_USERNAME} 个字符")
    if not isinstance(password, str) or not 0 < len(password) <= MAX_PASSWORD:
        raise SnmsFailure(FAILED, f"{BAD_REQUEST}：password 须为 1 到 {MAX_PASSWORD} 个字符")
    return username, password


async def _token(request: Request, context: Context, *, dated: bool) -> Response:
    username, password = _credentials(await json_body(request))
    accounts, throttle = context.services.accounts, context.throttle
    source = throttle.source_of(request.scope)
    try:
        async with throttle.attempt(
            account=_account(username, context), secret=password, source=source, dialect="snms"
        ):
            await accounts.login(username, password, dated=dated)
    except AuthenticationFailed as exc:
        raise SnmsFailure(FAILED, WRONG if exc.message == WRONG else exc.message) from None
    return ok({"token": await accounts.issue_token(username)})


def _account(username: str, context: Context) -> str:
    if username.isascii() and username.replace(".", "").isdigit():  # an administrator, named by its prefix
        try:
            return f"300:{context.naming.key(Handle.for_prefix(username))}"
        except InvalidHandle:
            pass
    return username


@router.post(
    "/identity/token",
    summary="Log in; a bearer token for 24 hours",
    openapi_extra={"requestBody": LOGIN_BODY},
)
@endpoint
async def token(request: Request, context: ContextDep) -> Response:
    return await _token(request, context, dated=False)


@router.post(
    "/identity/token/v1",
    summary="Log in with sha256_hex(sha256_hex(password) + today's yyyy-MM-dd)",
    openapi_extra={"requestBody": LOGIN_BODY},
)
@endpoint
async def token_v1(request: Request, context: ContextDep) -> Response:
    return await _token(request, context, dated=True)
