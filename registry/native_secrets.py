"""The secrets of HS_SECKEY values in the form the native Handle protocol needs, sealed.

The native protocol's secret-key challenge–response has the client answer with an HMAC (or PBKDF2-HMAC-SHA1,
salt and iterations of the client's choosing) keyed by the secret itself: to check it the node needs the
secret, which the argon2id hash a value holds cannot give. So when a value is written with a plain secret,
the secret is also kept sealed with the node's credential key (`keys.py`), in the `native_secrets` table
beside the record — never in the record's values, which caches, answers, the audit and exports carry. A copy
of the database alone opens nothing when the key is IDNODE_CREDENTIAL_KEY (as for the SNMS dated-login
verifiers); each sealed secret is bound to its value's hash (authenticated with it), and good only while the
value holds that very hash.

A value written as a hash (or stored before there were sealed secrets) has no native form until its secret
is set again; it still serves Basic authentication and the SNMS logins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from .errors import AuthenticationFailed
from .keys import seal, unseal
from .store import secret_rows
from .store.secret_rows import SecretRow
from .values import HandleValue, StringData

# (record key, its values as they are stored now, whether it held an HS_SECKEY value before this write)
Change = tuple[str, Sequence[HandleValue], bool]


@dataclass(frozen=True, slots=True)
class SealedSecret(StringData):
    """A secret key as a write stores it: `value` its argon2id hash (what the record holds), `sealed` the
    secret sealed with the credential key (what `native_secrets` holds). Only in memory, from preparing the
    value until the write stores both; decoded values hold the hash alone (`StringData`)."""

    sealed: str = field(repr=False)


def seal_secret(key: bytes, secret: str, hashed: str) -> SealedSecret:
    """The value data of a secret whose argon2id hash is `hashed`, with the secret sealed with `key`."""
    return SealedSecret(hashed, seal(key, secret, context=hashed.encode()))


def open_secret(key: bytes, row: SecretRow) -> str:
    """The secret a row seals, or `AuthenticationFailed` (another credential key, a damaged row)."""
    try:
        return unseal(key, row.sealed, context=row.hash.encode())
    except (AuthenticationFailed, ValueError):
        raise AuthenticationFailed(
            "the sealed secret cannot be opened with this node's credential key (IDNODE_CREDENTIAL_KEY "
            "changed?): set the secret again"
        ) from None


def holds_secret(values: Iterable[HandleValue]) -> bool:
    return any(value.is_secret for value in values)


async def keep_sealed(conn: AsyncConnection, changes: Iterable[Change]) -> None:
    """Make the sealed secrets of each written record those of its HS_SECKEY values as now stored, in the
    write's transaction: a value prepared from a plain secret has its secret sealed beside it; a value kept
    as it was keeps its own; any other — replaced by a hash, removed — has none. A record that held no secret
    key and gets no plain one is not looked at (a deleted record's rows go with it: the foreign key)."""
    fresh: list[SecretRow] = []
    kept: dict[str, dict[int, str]] = {}
    for key, values, held in changes:
        secrets = {v.index: v.data for v in values if v.is_secret and isinstance(v.data, StringData)}
        sealed = [
            SecretRow(key, i, d.value, d.sealed) for i, d in secrets.items() if isinstance(d, SealedSecret)
        ]
        if held or sealed:
            kept[key] = {i: d.value for i, d in secrets.items() if not isinstance(d, SealedSecret)}
            fresh += sealed
    if not kept:
        return
    rows = await secret_rows.held(conn, list(kept))
    await secret_rows.drop(conn, [(key, i) for key, i, hashed in rows if kept[key].get(i) != hashed])
    await secret_rows.add(conn, fresh)
