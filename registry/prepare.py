"""A record's values as they are stored: checked as a whole, secret keys hashed (never kept in the clear)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from .errors import InvalidValue
from .passwords import HASH_MARK, Passwords
from .values import HandleValue, StringData

MAX_VALUES_PER_RECORD = 1_000
SECRET_PERMISSIONS = "1100"  # admin read and write, never public


async def prepare_values(values: Sequence[HandleValue], passwords: Passwords) -> list[HandleValue]:
    """Check a record's values and hash any plain secret key; the result is what gets stored."""
    if len(values) > MAX_VALUES_PER_RECORD:
        raise InvalidValue(f"a record holds at most {MAX_VALUES_PER_RECORD} values")
    if len({value.index for value in values}) != len(values):
        raise InvalidValue("two values of the record have the same index")
    return [await _protect(value, passwords) if value.is_secret else value for value in values]


async def _protect(value: HandleValue, passwords: Passwords) -> HandleValue:
    if not isinstance(value.data, StringData):
        raise InvalidValue("an HS_SECKEY value holds its secret as a string")
    secret = value.data.value
    if not secret.startswith(HASH_MARK):
        # The slow hash would stall every other request on the event loop.
        secret = await asyncio.to_thread(passwords.hash, secret)
    return replace(value, data=StringData(secret), permissions=SECRET_PERMISSIONS)
