"""The CAICT variant's logins (the CAICT ID-SDK and the teleinfo idpointer SDK): an administrator logs in once
on a TCP connection and its later requests on that connection are done as it, without challenges.

- LOGIN_PUBKEY (2001, "OC_LOGIN_ID_SYSTEM"): the body is the user's handle and the index of its key. The
  server answers 402 with a challenge (opcode 2001, the request's digest, a nonce), the client answers that
  with a standard CHALLENGE_RESPONSE (HS_PUBKEY, or HS_SECKEY from idpointer), and the login's answer is
  opcode 2001, code 1. The idpointer SDK sends the message without its credential length: it ends after
  the body.
- LOGIN_PASSWORD (2000, CAICT's SDK only): laid out as a resolution request — the user name as the handle, no
  indexes, and the password, in clear, as the one type. No challenge: the answer is opcode 2000, code 1, and
  a body of the user name and a value count (0).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import wire
from .wire import Reader, WireError


@dataclass(frozen=True, slots=True)
class PubkeyLogin:
    handle: str
    index: int

    def encode(self) -> bytes:
        return wire.text(self.handle) + wire.i32(self.index)

    @classmethod
    def decode(cls, body: bytes) -> PubkeyLogin:
        reader = Reader(body)
        login = cls(reader.text("user handle"), reader.i32("key index"))
        reader.done("login body")
        return login


@dataclass(frozen=True, slots=True)
class PasswordLogin:
    username: str
    password: str

    def encode(self) -> bytes:
        return wire.text(self.username) + wire.ints([]) + wire.texts([self.password])

    @classmethod
    def decode(cls, body: bytes) -> PasswordLogin:
        reader = Reader(body)
        username = reader.text("user name")
        if reader.ints("index list"):
            raise WireError("a password login names no indexes")
        given = reader.texts("password")
        reader.done("login body")
        if len(given) != 1:
            raise WireError(f"a password login carries one password, not {len(given)}")
        return cls(username, given[0])


def login_answer(username: str) -> bytes:
    """The body of a successful login: the user name and no values (what the CAICT SDK reads)."""
    return wire.text(username) + wire.u32(0)
