"""Accounts: who may act, and how they prove it.

Handle REST clients authenticate against a prefix's HS_SECKEY value (Basic). SNMS clients log in with an
account: every enterprise has an administrator account named after its prefix (password: the prefix's
secret, the same one Handle REST clients send as `300:0.NA/<prefix>`), and the node operator adds further
users, each acting with the rights of its enterprise's administrator. Passwords are stored as argon2id hashes;
for the dated login (/identity/token/v1) a verifier — sha256 of the password, which that protocol needs — is
kept sealed with the node's credential key. Bearer tokens are signed with the node's token key.

The native Handle protocol's secret-key challenge–response needs the secret itself: `native_secret` opens
the one sealed beside an HS_SECKEY value written with a plain secret (`native_secrets.py`).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tokens
from .codec import decode_values
from .enterprises import ACTIVE, enterprise_active, find_enterprise
from .errors import AuthenticationFailed, Conflict, HandleNotFound, InvalidInput, PermissionDenied
from .handle import Handle, normalise_prefix
from .keys import NodeKeys, seal, sha256_hex, unseal
from .native_secrets import open_secret, seal_secret
from .passwords import Passwords
from .principals import Principal
from .store import records as handle_rows
from .store import secret_rows
from .store.engine import Store
from .store.schema import enterprises, users
from .values import HS_SECKEY, KEY_INDEX, HandleValue, StringData
from .writer import WriteContext
from .writes import Records

DISABLED = "disabled"
MAX_USERNAME, MAX_PASSWORD = 50, 64
_PREFIX_LIKE = re.compile(r"[0-9.]+\Z")
# The dated login hashes "today" as the client sees it; Chinese clients live at UTC+8, and clocks drift.
_CHINA = timezone(timedelta(hours=8))
WRONG = "用户名或密码错误"


@dataclass(frozen=True, slots=True)
class User:
    username: str
    enterprise_id: int
    acts_as: str
    status: str


async def _row(conn: AsyncConnection, username: str) -> User | None:
    stmt = select(users.c.username, users.c.enterprise_id, users.c.acts_as, users.c.status).where(
        users.c.username == username
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else User(row.username, row.enterprise_id, row.acts_as, row.status)


def _check_password(password: str) -> None:
    if not isinstance(password, str) or not 0 < len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"密码须为 1 到 {MAX_PASSWORD} 个字符")


def _check_username(username: str) -> None:
    if not isinstance(username, str) or not 0 < len(username) <= MAX_USERNAME or not username.isprintable():
        raise InvalidInput(f"用户名须为 1 到 {MAX_USERNAME} 个可见字符")
    if _PREFIX_LIKE.match(username):
        raise InvalidInput("形如前缀的用户名留给企业管理员")


def _require_node_admin(ctx: WriteContext) -> None:
    if not ctx.authz.is_node_admin:
        raise PermissionDenied("只有节点管理员可以管理企业和用户")


def _secret_keys(stored: str | bytes | None, index: int) -> list[str]:
    """The hashes held by the record's HS_SECKEY values at `index` (stored JSON)."""
    return [
        value.data.value
        for value in (decode_values(stored) if stored else ())
        if value.index == index and value.type == HS_SECKEY and isinstance(value.data, StringData)
    ]


def _dated(verifier: str, now: datetime) -> list[str]:
    days = [(now + timedelta(days=d)).astimezone(_CHINA).strftime("%Y-%m-%d") for d in (-1, 0, 1)]
    return [sha256_hex(verifier + day) for day in dict.fromkeys(days)]


class Accounts:
    """Authentication, SNMS accounts and their tokens, and enterprise and user status."""

    def __init__(self, records: Records, keys: NodeKeys, *, clock: Callable[[], float] | None = None) -> None:
        self._records = records
        self._writer = records.writer
        self._store: Store = records.writer.store
        self._keys = keys
        self._own_clock = clock
        self._dummy: secret_rows.SecretRow | None = None

    def _clock(self) -> float:
        """The accounts' own clock if given one, else the writer's (tokens and writes agree on the time)."""
        return (self._own_clock or self._writer.clock)()

    @property
    def passwords(self) -> Passwords:
        return self._records.passwords

    # -- proving who one is -----------------------------------------------------------------------------

    async def authenticate(self, username: str, secret: str) -> Principal:
        """The principal (`300:0.NA/88.118.8`) whose HS_SECKEY matches `secret`, or `AuthenticationFailed`.

        A principal without such a key costs the same slow check as a wrong secret, so that the time taken
        does not tell which principals exist."""
        principal = Principal.parse(username)
        stored = await self._store.points.one(self._writer.node.naming.key(principal.handle))
        keys = _secret_keys(stored, principal.index)
        if not keys:
            await self.passwords.verify_nothing(secret)
        for key in keys:
            if await self.passwords.verify(key, secret):
                async with self._store.reader.connect() as conn:
                    if await enterprise_active(conn, principal.handle.governing_prefix):
                        return principal
                raise AuthenticationFailed(f"the enterprise of {principal} is disabled")
        raise AuthenticationFailed(f"authentication failed for {principal}")

    async def native_secret(self, principal: Principal) -> bytes | None:
        """The secret of the HS_SECKEY value at `principal` (`300:0.NA/88.118.8`), UTF-8 encoded and unsealed,
        for the native protocol's challenge–response (the front end computes the MAC the client must have
        sent); None when there is no such value, or it has no sealed form — stored as a hash only, or before
        secrets were sealed: until the secret is set again. `AuthenticationFailed` when the principal's
        enterprise is disabled, or the sealed secret cannot be opened with this node's credential key.

        Every principal costs the same reads and one unsealing (a dummy's when there is nothing to open), so
        that the time taken does not tell which principals exist; the front end refuses a client alike
        whether this answered None, refused, or the client's answer was wrong."""
        key = self._writer.node.naming.key(principal.handle)
        credential = await self._keys.credential_key()
        async with self._store.reader.connect() as conn:
            stored = await handle_rows.read(conn, key)
            row = await secret_rows.find(conn, key, principal.index)
            active = await enterprise_active(conn, principal.handle.governing_prefix)
        hashes = _secret_keys(stored, principal.index)
        sealed = row if row is not None and row.hash in hashes else None  # beside the very hash it holds
        unreadable: AuthenticationFailed | None = None
        try:
            secret = open_secret(credential, sealed or self._dummy_row(credential))
        except AuthenticationFailed as exc:
            secret, unreadable = "", exc
        if sealed is None:
            return None
        if not active:
            raise AuthenticationFailed(f"the enterprise of {principal} is disabled")
        if unreadable is not None:
            raise unreadable
        return secret.encode()

    def _dummy_row(self, credential: bytes) -> secret_rows.SecretRow:
        """A row sealed with this node's key, opened when there is nothing to open (as long to open)."""
        if self._dummy is None:
            dummy = seal_secret(credential, "x" * 24, "$argon2id$dummy")
            self._dummy = secret_rows.SecretRow("", 0, dummy.value, dummy.sealed)
        return self._dummy

    async def login(self, username: str, password: str, *, dated: bool = False) -> Principal:
        """The principal of a correct username and password (or, `dated`, the v1 hash of the password)."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthenticationFailed(WRONG)
        async with self._store.reader.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        # An unknown user costs what a known one does (the same checks, against nothing), so that the time
        # taken does not tell which user names exist.
        if dated:
            sealed = row.verifier if row is not None else None
            verifier = unseal(await self._keys.credential_key(), sealed) if sealed else ""
            # As bytes: compare_digest refuses str with non-ASCII characters, which a client may send.
            sent = password.lower().encode()
            ok = any(hmac.compare_digest(sent, c.encode()) for c in _dated(verifier, datetime.now(UTC)))
        elif row is not None:
            ok = await self.passwords.verify(row.password_hash, password)
        else:
            ok = await self.passwords.verify_nothing(password)
        if row is None or not ok:
            raise AuthenticationFailed(WRONG)
        return await self.acting_principal(username)

    async def issue_token(self, username: str) -> str:
        """A bearer token for `username`, good for 24 hours or until the user's password changes."""
        async with self._store.reader.connect() as conn:
            stmt = select(users.c.password_hash).where(users.c.username == username)
            password_hash = (await conn.execute(stmt)).scalar()
        if password_hash is None:
            raise AuthenticationFailed("账号已停用或不存在")
        key = await self._keys.token_key()
        return tokens.issue(key, username, password_hash=password_hash, now=self._clock())

    async def token_user(self, token: str) -> str:
        """The user a valid, unexpired bearer token names (its signature checked; not the user's status nor
        password: that takes the database, `token_principal`)."""
        return tokens.verify(await self._keys.token_key(), token, now=self._clock()).username

    async def token_principal(self, token: str) -> Principal:
        """Whom a bearer token's user acts as, if the token is valid, the user may still act and has the
        password the token was issued under."""
        key = await self._keys.token_key()
        claims = tokens.verify(key, token, now=self._clock())
        acts_as, password_hash = await self._acting(claims.username)
        if not tokens.still_bound(key, claims, password_hash):
            raise AuthenticationFailed(tokens.REVOKED)
        return Principal(Handle.for_prefix(acts_as), KEY_INDEX, user=claims.username)

    async def acting_principal(self, username: str) -> Principal:
        """Whom a logged-in user acts as, if the user and its enterprise may still act."""
        acts_as, _ = await self._acting(username)
        return Principal(Handle.for_prefix(acts_as), KEY_INDEX, user=username)

    async def _acting(self, username: str) -> tuple[str, str]:
        """Whom a user acts as and its password hash, if the user and its enterprise may still act."""
        columns = (users.c.acts_as, users.c.status, users.c.password_hash)
        stmt = select(*columns).where(users.c.username == username)
        async with self._store.reader.connect() as conn:
            row = (await conn.execute(stmt)).first()
            if row is None or row.status != ACTIVE or not await enterprise_active(conn, row.acts_as):
                raise AuthenticationFailed("账号已停用或不存在")
        return str(row.acts_as), str(row.password_hash)

    # -- accounts ---------------------------------------------------------------------------------------

    async def account_row(
        self, *, username: str, enterprise_id: int, acts_as: str, password: str
    ) -> dict[str, object]:
        """The users row of a new account (hashing happens off the event loop)."""
        _check_password(password)
        password_hash = await self.passwords.hashed(password)
        verifier = seal(await self._keys.credential_key(), sha256_hex(password))
        return {
            "username": username,
            "enterprise_id": enterprise_id,
            "acts_as": acts_as,
            "password_hash": password_hash,
            "verifier": verifier,
            "status": ACTIVE,
            "created_at": self._writer.now(),
        }

    async def add_user(self, principal: Principal, *, prefix: str, username: str, password: str) -> User:
        """A further SNMS user of the enterprise owning `prefix`."""
        _check_username(username)
        prefix = normalise_prefix(prefix)
        # The key may have to be made first, in a transaction of its own: made inside the one below, SQLite
        # would wait on its own write lock.
        await self._keys.credential_key()
        async with self._writer.transaction(principal) as ctx:
            _require_node_admin(ctx)
            owner = await find_enterprise(ctx.conn, prefix)
            if owner is None:
                raise HandleNotFound(f"没有企业拥有前缀 {prefix}")
            if await _row(ctx.conn, username) is not None:
                raise Conflict(f"用户名 {username} 已存在")
            admin_prefix = owner.prefixes[0]
            row = await self.account_row(
                username=username, enterprise_id=owner.id, acts_as=admin_prefix, password=password
            )
            await ctx.conn.execute(insert(users).values(**row))
            await ctx.record([(f"user:{username}", "create")])
        return User(username, owner.id, admin_prefix, ACTIVE)

    async def users_of(self, enterprise_id: int) -> list[User]:
        """The SNMS accounts of an enterprise, its administrator's first."""
        stmt = (
            select(users.c.username, users.c.enterprise_id, users.c.acts_as, users.c.status)
            .where(users.c.enterprise_id == enterprise_id)
            .order_by(users.c.id)
        )
        async with self._store.reader.connect() as conn:
            return [User(r.username, r.enterprise_id, r.acts_as, r.status) for r in await conn.execute(stmt)]

    async def set_user_status(self, principal: Principal, username: str, status: str) -> None:
        async with self._writer.transaction(principal) as ctx:
            _require_node_admin(ctx)
            result = await ctx.conn.execute(
                update(users).where(users.c.username == username).values(status=status)
            )
            if not result.rowcount:
                raise HandleNotFound(f"用户 {username} 不存在")
            await ctx.record([(f"user:{username}", status)])

    async def set_enterprise_status(self, principal: Principal, prefix: str, status: str) -> None:
        """Disable (or enable again) the enterprise owning `prefix`: its logins and tokens stop working."""
        async with self._writer.transaction(principal) as ctx:
            _require_node_admin(ctx)
            owner = await find_enterprise(ctx.conn, normalise_prefix(prefix))
            if owner is None:
                raise HandleNotFound(f"没有企业拥有前缀 {prefix}")
            stmt = update(enterprises).where(enterprises.c.id == owner.id).values(status=status)
            await ctx.conn.execute(stmt)
            await ctx.record([(f"enterprise:{owner.credit_code}", status)])

    async def set_admin_secret(self, principal: Principal, prefix: str, secret: str) -> None:
        """Give the enterprise administrator of `prefix` a new secret (Handle REST and SNMS alike)."""
        prefix = normalise_prefix(prefix)
        # Checked (and hashed) before anything changes, so a refused secret leaves the old one working.
        row = await self.account_row(username=prefix, enterprise_id=0, acts_as=prefix, password=secret)
        key = [HandleValue.text(KEY_INDEX, HS_SECKEY, secret)]
        await self._records.put_values(principal, Handle.for_prefix(prefix), key)
        async with self._store.writer.begin() as conn:
            fields = {k: row[k] for k in ("password_hash", "verifier")}
            stmt = update(users).where(users.c.username == prefix).values(status=ACTIVE, **fields)
            await conn.execute(stmt)

    async def revoke_admin_secret(self, principal: Principal, prefix: str) -> None:
        """Remove the administrator's secret: no Basic authentication nor SNMS login until one is set."""
        prefix = normalise_prefix(prefix)
        # The account first: only the node administrator may, and a refusal must come before any change.
        await self.set_user_status(principal, prefix, DISABLED)
        await self._records.delete_values(principal, Handle.for_prefix(prefix), [KEY_INDEX])
