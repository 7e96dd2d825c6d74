"""A record's values as they are stored: checked as a whole, secret keys hashed (never kept in the clear) and,
for the native protocol, sealed with the credential key (`native_secrets.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .errors import InvalidValue
from .keys import NodeKeys
from .native_secrets import SealedSecret, seal_secret
from .passwords import HASH_MARK, Passwords
from .values import HandleValue, StringData

MAX_VALUES_PER_RECORD = 1_000
SECRET_PERMISSIONS = "1100"  # admin read and write, never public


async def prepare_values(
    values: Sequence[HandleValue], passwords: Passwords, keys: NodeKeys
) -> list[HandleValue]:
    """Check a record's values and hash any plain secret key, sealing it beside its hash (`SealedSecret`,
    which the write stores); the result is what gets stored. The credential key is asked for only when there
    is a plain secret: call this before the write transaction (making the key takes one of its own)."""
    if len(values) > MAX_VALUES_PER_RECORD:
        raise InvalidValue(f"a record holds at most {MAX_VALUES_PER_RECORD} values")
    if len({value.index for value in values}) != len(values):
        raise InvalidValue("two values of the record have the same index")
    return [await _protect(value, passwords, keys) if value.is_secret else value for value in values]


async def _protect(value: HandleValue, passwords: Passwords, keys: NodeKeys) -> HandleValue:
    data = value.data
    if not isinstance(data, StringData):
        raise InvalidValue("an HS_SECKEY value holds its secret as a string")
    if not isinstance(data, SealedSecret) and not data.value.startswith(HASH_MARK):
        hashed = await passwords.hashed(data.value)
        data = seal_secret(await keys.credential_key(), data.value, hashed)
    # A hash written as such is kept as it came: it has no native form (the secret is not known).
    return replace(value, data=data, permissions=SECRET_PERMISSIONS)
