"""SNMS bearer tokens: `<payload>.<signature>`, HMAC-SHA256 with the node's token key, 24 hours.

Any process of the node checks them with the key in the database; disabling the user ends its tokens, as
every request looks the user up again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson

from .errors import AuthenticationFailed

LIFETIME = 24 * 3600


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: bytes, username: str, *, now: float, lifetime: int = LIFETIME) -> str:
    payload = _b64(orjson.dumps({"sub": username, "exp": int(now) + lifetime}))
    return f"{payload}.{_b64(hmac.digest(key, payload.encode(), hashlib.sha256))}"


def verify(key: bytes, token: str, *, now: float) -> str:
    """The username a valid, unexpired token names; `AuthenticationFailed` otherwise."""
    payload, _, signature = token.strip().partition(".")
    try:
        expected = hmac.digest(key, payload.encode(), hashlib.sha256)
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise AuthenticationFailed("令牌无效")
        claims = orjson.loads(_unb64(payload))
        username, expires = claims["sub"], claims["exp"]
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise AuthenticationFailed("令牌无效") from None
    if not isinstance(username, str) or not isinstance(expires, int) or expires <= now:
        raise AuthenticationFailed("令牌已过期，请重新登录")
    return username
