"""SNMS bearer tokens: `<payload>.<signature>`, HMAC-SHA256 with the node's token key, 24 hours.

Any process of the node checks them with the key in the database. A token ends before its time when its user
or enterprise is disabled (every request looks the user up again) and when the user's password is changed —
for an enterprise administrator, when the enterprise's secret is reset: the payload carries `pwd`, a keyed
fingerprint of the password hash the user had when the token was issued, and the token is good only while
the users row still holds that hash. No schema change, no list of revoked tokens; the fingerprint is an HMAC
under the token key, so it tells nothing about the hash without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import orjson

from .errors import AuthenticationFailed

LIFETIME = 24 * 3600
INVALID, EXPIRED, REVOKED = "令牌无效", "令牌已过期，请重新登录", "令牌已失效，请重新登录"


class ForgedToken(AuthenticationFailed):
    """The token is not one this node signed."""


@dataclass(frozen=True, slots=True)
class Claims:
    username: str
    binding: str  # the fingerprint of the user's password hash at issue


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def binding(key: bytes, password_hash: str) -> str:
    """The fingerprint of a password hash that a token carries."""
    return _b64(hmac.digest(key, b"token-binding\0" + password_hash.encode(), hashlib.sha256)[:16])


def still_bound(key: bytes, claims: Claims, password_hash: str) -> bool:
    """Whether the user still has the password hash the token was issued under."""
    return hmac.compare_digest(claims.binding, binding(key, password_hash))


def issue(key: bytes, username: str, *, password_hash: str, now: float, lifetime: int = LIFETIME) -> str:
    claims = {"sub": username, "exp": int(now) + lifetime, "pwd": binding(key, password_hash)}
    payload = _b64(orjson.dumps(claims))
    return f"{payload}.{_b64(hmac.digest(key, payload.encode(), hashlib.sha256))}"


def verify(key: bytes, token: str, *, now: float) -> Claims:
    """The claims of a token this node signed that has not expired; `ForgedToken` or `AuthenticationFailed`
    otherwise. (Whether the user may still act is the caller's to check.)"""
    payload, _, signature = token.strip().partition(".")
    try:
        expected = hmac.digest(key, payload.encode(), hashlib.sha256)
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise ForgedToken(INVALID)
        claims = orjson.loads(_unb64(payload))
        username, expires, bound = claims["sub"], claims["exp"], claims.get("pwd")
    except (ValueError, KeyError, TypeError, AttributeError, orjson.JSONDecodeError):
        raise ForgedToken(INVALID) from None
    if not isinstance(username, str) or not isinstance(expires, int) or expires <= now:
        raise AuthenticationFailed(EXPIRED)
    if not isinstance(bound, str):  # signed by a node that did not bind tokens yet: log in again
        raise AuthenticationFailed(REVOKED)
    return Claims(username, bound)
