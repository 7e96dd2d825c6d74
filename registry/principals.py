"""Principals: who is acting, named as the Handle System names administrators, `index:handle`."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from .errors import AuthenticationFailed, InvalidHandle
from .handle import Handle
from .naming import Naming
from .values import KEY_INDEX, Reference, decimal


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated administrator: the value `index` of `handle` holds its key."""

    handle: Handle
    index: int = KEY_INDEX
    # The SNMS user acting with the administrator's rights, for the journal; not part of the identity.
    user: str | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, username: str) -> Principal:
        """`300:0.NA/88.118.8` (the colon may be percent-encoded); a bare handle means index 300."""
        text = unquote(username)
        head, colon, rest = text.partition(":")
        index = KEY_INDEX
        if colon and head.isdigit():
            number = decimal(head)
            if number is None or number == 0:
                raise AuthenticationFailed(f"{head!r} is not a key index")
            index, text = number, rest
        try:
            return cls(Handle.parse(text), index)
        except InvalidHandle as exc:
            raise AuthenticationFailed(f"the user name is not index:handle ({exc.message})") from None

    def matches(self, ref: Reference, naming: Naming) -> bool:
        """True when an HS_ADMIN or HS_VLIST reference names this principal (index 0 names any index).

        Handles compare as the node tells them apart: by their keys."""
        if ref.index not in (0, self.index):
            return False
        try:
            return naming.key_of(ref.handle) == naming.key(self.handle)
        except InvalidHandle:
            return False

    def __str__(self) -> str:
        acting = f" (user {self.user})" if self.user and self.user != self.handle.suffix else ""
        return f"{self.index}:{self.handle}{acting}"


def split_basic_credentials(decoded: str) -> tuple[str, str]:
    """Split `user:secret` where the user is `300%3A0.NA/P` or, leniently, a raw `300:0.NA/P`."""
    user, colon, secret = decoded.partition(":")
    if not colon:
        raise AuthenticationFailed("Basic credentials are user:secret")
    if user.isdigit() and ":" in secret:
        # The index's colon was not percent-encoded: the user runs to the next colon.
        handle, _, secret = secret.partition(":")
        user = f"{user}:{handle}"
    return user, secret
