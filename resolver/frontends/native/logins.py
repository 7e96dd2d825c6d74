"""The CAICT variant's logins (`sdk.native.caict`): LOGIN_PASSWORD (2000) checked here at once, and
LOGIN_PUBKEY (2001) challenged as any administrative request is (`admin.py`). Either logs the administrator in
on its TCP connection — the CAICT SDKs send their later requests on that connection with no credential and no
session of the server's, so the connection is what they are recognised by; its requests are then done as the
administrator, with the same authorisation as every other write. Over UDP or the HTTP tunnel there is no
connection to log in on: the logins are refused there (5), as the SDKs send them over TCP.

The password is the administrator's HS_SECKEY secret (the user name `300:0.NA/88.118.8`, or the bare handle
for index 300), checked and throttled as a Basic login over HTTP is.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry import Principal
from registry.audit import source as audit_source
from registry.errors import AuthenticationFailed
from sdk.native.caict import PasswordLogin, login_answer
from sdk.native.codes import ResponseCode
from sdk.native.wire import WireError

from ...throttle import Throttled
from ..context import Context
from ..handle_rest.auth import account_of
from .request import Request

NOT_HERE = "a login lasts as long as its TCP connection: log in over TCP"


@dataclass(slots=True)
class Connection:
    """What one TCP connection keeps from one request to the next: the administrator logged in on it."""

    principal: Principal | None = None


async def password_login(context: Context, request: Request) -> bytes:
    if request.connection is None:
        return request.error(ResponseCode.OPERATION_NOT_SUPPORTED, NOT_HERE)
    try:
        login = PasswordLogin.decode(request.message.body)
    except WireError as exc:
        return request.error(exc.code, exc.message)
    audit_source.set(request.source)
    try:
        async with context.throttle.attempt(
            account=account_of(login.username, context),
            secret=login.password,
            source=request.source,
            dialect="native",
        ):
            principal = await context.services.accounts.authenticate(login.username, login.password)
    except Throttled as exc:
        return request.error(ResponseCode.SERVER_TOO_BUSY, str(exc))
    except AuthenticationFailed as exc:
        return request.error(ResponseCode.AUTHENTICATION_FAILED, exc.message)
    request.connection.principal = principal
    return request.answer(ResponseCode.SUCCESS, login_answer(login.username))


def logged_in(request: Request) -> Principal | None:
    return None if request.connection is None else request.connection.principal
