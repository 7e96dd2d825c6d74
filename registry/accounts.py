"""Accounts: who may act, and how they prove it.

Handle REST clients authenticate against a prefix's HS_SECKEY value (Basic). SNMS clients log in with an
account: every enterprise has an administrator account named after its prefix (password: the prefix's
secret, the same one Handle REST clients send as `300:0.NA/<prefix>`), and the node operator adds further
users, each acting with the rights of its enterprise's administrator. Passwords are stored as argon2id hashes;
for the dated login (/identity/token/v1) a verifier — sha256 of the password, which that protocol needs — is
kept sealed with the node's credential key. Bearer tokens are signed with the node's token key.
"""

from __future__ import annotations

import asyncio
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
from .passwords import Passwords
from .principals import Principal
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

    def _clock(self) -> float:
        """The accounts' own clock if given one, else the writer's (tokens and writes agree on the time)."""
        return (self._own_clock or self._writer.clock)()

    @property
    def passwords(self) -> Passwords:
        return self._records.passwords

    # -- proving who one is -----------------------------------------------------------------------------

    async def authenticate(self, username: str, secret: str) -> Principal:
        """The principal (`300:0.NA/88.118.8`) whose HS_SECKEY matches `secret`, or `AuthenticationFailed`."""
        principal = Principal.parse(username)
        stored = await self._store.points.one(self._writer.node.naming.key(principal.handle))
        for value in decode_values(stored) if stored else ():
            if (
                value.index == principal.index
                and value.type == HS_SECKEY
                and isinstance(value.data, StringData)
                and await self.passwords.verify(value.data.value, secret)
            ):
                async with self._store.reader.connect() as conn:
                    if await enterprise_active(conn, principal.handle.governing_prefix):
                        return principal
                raise AuthenticationFailed(f"the enterprise of {principal} is disabled")
        raise AuthenticationFailed(f"authentication failed for {principal}")

    async def login(self, username: str, password: str, *, dated: bool = False) -> Principal:
        """The principal of a correct username and password (or, `dated`, the v1 hash of the password)."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthenticationFailed(WRONG)
        async with self._store.reader.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        if row is None:
            raise AuthenticationFailed(WRONG)
        if dated:
            verifier = unseal(await self._keys.credential_key(), row.verifier) if row.verifier else ""
            ok = any(
                hmac.compare_digest(password.lower(), candidate)
                for candidate in _dated(verifier, datetime.now(UTC))
            )
        else:
            ok = await self.passwords.verify(row.password_hash, password)
        if not ok:
            raise AuthenticationFailed(WRONG)
        return await self.acting_principal(username)

    async def issue_token(self, username: str) -> str:
        """A bearer token for `username`, good for 24 hours."""
        return tokens.issue(await self._keys.token_key(), username, now=self._clock())

    async def token_user(self, token: str) -> str:
        """The user a valid, unexpired bearer token names (its signature checked; not the user's status)."""
        return tokens.verify(await self._keys.token_key(), token, now=self._clock())

    async def token_principal(self, token: str) -> Principal:
        """Whom a bearer token's user acts as, if the token is valid and the user may still act."""
        return await self.acting_principal(await self.token_user(token))

    async def acting_principal(self, username: str) -> Principal:
        """Whom a logged-in user acts as, if the user and its enterprise may still act."""
        async with self._store.reader.connect() as conn:
            user = await _row(conn, username)
            if user is None or user.status != ACTIVE or not await enterprise_active(conn, user.acts_as):
                raise AuthenticationFailed("账号已停用或不存在")
        return Principal(Handle.for_prefix(user.acts_as), KEY_INDEX, user=username)

    # -- accounts ---------------------------------------------------------------------------------------

    async def account_row(
        self, *, username: str, enterprise_id: int, acts_as: str, password: str
    ) -> dict[str, object]:
        """The users row of a new account (hashing happens off the event loop)."""
        _check_password(password)
        password_hash = await asyncio.to_thread(self.passwords.hash, password)
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
        await self._keys.credential_key()  # made, if need be, first: on SQLite a process has one writer
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
