"""The Handle System's response codes, and the one place where failures become them (with their HTTP status).

Nothing reaches a Handle REST client as an HTML page or a bare 500: registry errors map to their
responseCode, a database that cannot be reached is "server busy" (503, responseCode 3), and anything
unforeseen is responseCode 2.
"""

from __future__ import annotations

from typing import Any

import orjson

from registry import errors
from sdk.native.codes import ResponseCode

from ...pipeline import RecursionLimit, Referral

# One numbering for every dialect that speaks the Handle System's codes: the native protocol's.
SUCCESS = int(ResponseCode.SUCCESS)
ERROR = int(ResponseCode.ERROR)
SERVER_BUSY = int(ResponseCode.SERVER_TOO_BUSY)
PROTOCOL_ERROR = int(ResponseCode.PROTOCOL_ERROR)
OPERATION_NOT_SUPPORTED = int(ResponseCode.OPERATION_NOT_SUPPORTED)
HANDLE_NOT_FOUND = int(ResponseCode.HANDLE_NOT_FOUND)
HANDLE_ALREADY_EXISTS = int(ResponseCode.HANDLE_ALREADY_EXISTS)
INVALID_HANDLE = int(ResponseCode.INVALID_HANDLE)
VALUES_NOT_FOUND = int(ResponseCode.VALUES_NOT_FOUND)
VALUE_ALREADY_EXISTS = int(ResponseCode.VALUE_ALREADY_EXISTS)
INVALID_VALUE = int(ResponseCode.INVALID_VALUE)
SERVER_NOT_RESPONSIBLE = int(ResponseCode.SERVER_NOT_RESP)
INVALID_ADMIN = int(ResponseCode.INVALID_ADMIN)
INSUFFICIENT_PERMISSIONS = int(ResponseCode.INSUFFICIENT_PERMISSIONS)
AUTHENTICATION_NEEDED = int(ResponseCode.AUTHENTICATION_NEEDED)
AUTHENTICATION_FAILED = int(ResponseCode.AUTHENTICATION_FAILED)
RECURSION_COUNT_TOO_HIGH = int(ResponseCode.RECURSION_COUNT_TOO_HIGH)
SERVICE_REFERRAL = int(ResponseCode.SERVICE_REFERRAL)
PREFIX_REFERRAL = int(ResponseCode.PREFIX_REFERRAL)
# A referral's HTTP status: "multiple choices", the Handle.Net server's for 302 and 303.
REFERRAL_STATUS = 300

# (HTTP status, responseCode) per registry error class; the first match in the class's MRO wins.
_CODES: dict[type[errors.RegistryError], tuple[int, int]] = {
    errors.InvalidHandle: (400, INVALID_HANDLE),
    errors.InvalidValue: (400, INVALID_VALUE),
    errors.InvalidInput: (400, PROTOCOL_ERROR),
    errors.HandleNotFound: (404, HANDLE_NOT_FOUND),
    errors.HandleExists: (409, HANDLE_ALREADY_EXISTS),
    errors.ValueExists: (409, VALUE_ALREADY_EXISTS),
    errors.ValuesNotFound: (400, VALUES_NOT_FOUND),
    errors.AuthenticationFailed: (401, AUTHENTICATION_NEEDED),
    errors.InsufficientPermissions: (403, INSUFFICIENT_PERMISSIONS),
    errors.PermissionDenied: (403, INVALID_ADMIN),
    RecursionLimit: (508, RECURSION_COUNT_TOO_HIGH),  # HTTP's "loop detected" (RFC 5842)
    errors.NotResponsible: (400, SERVER_NOT_RESPONSIBLE),
    errors.Conflict: (409, HANDLE_ALREADY_EXISTS),
    errors.NodeNotInitialised: (503, SERVER_BUSY),
}

# The HTTP status of a responseCode when nothing more particular applies.
_STATUS = {SERVER_BUSY: 503, PROTOCOL_ERROR: 400, OPERATION_NOT_SUPPORTED: 405, ERROR: 500}

# A 401 carries this and a Handle session to answer (`auth.challenges`).
BASIC_CHALLENGE = 'Basic realm="handle"'

# Authentication refused by the throttle: HTTP 429, and the Handle System's "server too busy" (the code its
# clients take for "try again later"), with Retry-After.
THROTTLED_STATUS = 429


def status_of(exc: errors.RegistryError) -> tuple[int, int]:
    """The HTTP status and responseCode of a registry error."""
    for cls in type(exc).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return 500, ERROR


def error_body(code: int, handle: str | None = None, message: str | None = None) -> bytes:
    """`{"responseCode": code, "message": …, "handle": …}`: the Handle.Net server's order (the handle, when
    the request named one, goes last)."""
    body: dict[str, Any] = {"responseCode": code}
    if message is not None:
        body["message"] = message
    if handle is not None:
        body["handle"] = handle
    return orjson.dumps(body)


def failure(code: int, handle: str | None = None, message: str | None = None) -> tuple[int, bytes]:
    """The HTTP status and body of a failure that is not a registry error (busy, protocol, internal)."""
    return _STATUS.get(code, 400), error_body(code, handle, message)


# The Handle.Net server says no more than the code for these: `{"responseCode":100,"handle":…}`.
_BARE = (errors.HandleNotFound, errors.HandleExists)


def throttled(retry_after: int) -> tuple[int, bytes]:
    """The HTTP status and body of an authentication the throttle refused."""
    message = f"too many failed authentications; try again in {retry_after} s"
    return THROTTLED_STATUS, error_body(SERVER_BUSY, message=message)


def registry_failure(exc: errors.RegistryError, handle: str | None = None) -> tuple[int, bytes]:
    if isinstance(exc, Referral):
        return referral(exc, exc.handle if handle is None else handle)
    status, code = status_of(exc)
    bare = type(exc) in _BARE and exc.message == (type(exc).__doc__ or "").strip()
    return status, error_body(code, exc.handle if handle is None else handle, None if bare else exc.message)


def referral(exc: Referral, handle: str | None) -> tuple[int, bytes]:
    """A referral: the HS_SITE values of the node to ask instead, as a resolution of them would show them."""
    code = PREFIX_REFERRAL if exc.derived else SERVICE_REFERRAL
    head = orjson.dumps({"responseCode": code, "handle": handle})[:-1]
    return REFERRAL_STATUS, head + b',"values":' + exc.site.public_record() + b"}"
