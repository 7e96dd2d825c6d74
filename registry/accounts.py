"""SNMS accounts: logins, tokens' users, enterprise status, and the administrator's secret.

Every enterprise has an administrator account named after its prefix (password: the prefix's secret, the
same one Handle REST clients send as `300:0.NA/<prefix>`); the node operator adds further users. A user acts
with the rights of its enterprise's administrator. Passwords are stored as argon2id hashes; for the dated
login (/identity/token/v1) a verifier — sha256 of the password, which that protocol needs — is kept sealed
with the node's credential key.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .enterprises import ACTIVE, enterprise_active, find_enterprise
from .errors import AuthenticationFailed, Conflict, HandleNotFound, InvalidInput, PermissionDenied
from .handle import Handle, normalise_prefix
from .keys import credential_key, seal, sha256_hex, unseal
from .principals import Principal
from .service import Registry, WriteContext
from .store.schema import enterprises, users
from .values import KEY_INDEX, HandleValue

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


async def account_row(
    registry: Registry, *, username: str, enterprise_id: int, acts_as: str, password: str
) -> dict[str, object]:
    """The users row of a new account (hashing happens off the event loop)."""
    _check_password(password)
    password_hash = await asyncio.to_thread(registry.passwords.hash, password)
    verifier = seal(await credential_key(registry), sha256_hex(password))
    return {
        "username": username,
        "enterprise_id": enterprise_id,
        "acts_as": acts_as,
        "password_hash": password_hash,
        "verifier": verifier,
        "status": ACTIVE,
        "created_at": registry.now(),
    }


def _require_node_admin(ctx: WriteContext) -> None:
    if not ctx.authz.is_node_admin:
        raise PermissionDenied("只有节点管理员可以管理企业和用户")


async def add_user(
    registry: Registry, principal: Principal, *, prefix: str, username: str, password: str
) -> User:
    """A further SNMS user of the enterprise owning `prefix`."""
    if not isinstance(username, str) or not 0 < len(username) <= MAX_USERNAME or not username.isprintable():
        raise InvalidInput(f"用户名须为 1 到 {MAX_USERNAME} 个可见字符")
    if _PREFIX_LIKE.match(username):
        raise InvalidInput("形如前缀的用户名留给企业管理员")
    prefix = normalise_prefix(prefix)
    async with registry.writing(principal) as ctx:
        _require_node_admin(ctx)
        owner = await find_enterprise(ctx.conn, prefix)
        if owner is None:
            raise HandleNotFound(f"没有企业拥有前缀 {prefix}")
        if await _row(ctx.conn, username) is not None:
            raise Conflict(f"用户名 {username} 已存在")
        admin_prefix = owner.prefixes[0]
        row = await account_row(
            registry, username=username, enterprise_id=owner.id, acts_as=admin_prefix, password=password
        )
        await ctx.conn.execute(insert(users).values(**row))
        await ctx.record([(f"user:{username}", "create")])
    return User(username, owner.id, admin_prefix, ACTIVE)


async def set_user_status(registry: Registry, principal: Principal, username: str, status: str) -> None:
    async with registry.writing(principal) as ctx:
        _require_node_admin(ctx)
        result = await ctx.conn.execute(
            update(users).where(users.c.username == username).values(status=status)
        )
        if not result.rowcount:
            raise HandleNotFound(f"用户 {username} 不存在")
        await ctx.record([(f"user:{username}", status)])


async def set_enterprise_status(registry: Registry, principal: Principal, prefix: str, status: str) -> None:
    """Disable (or enable again) the enterprise owning `prefix`: its logins and tokens stop working."""
    async with registry.writing(principal) as ctx:
        _require_node_admin(ctx)
        owner = await find_enterprise(ctx.conn, normalise_prefix(prefix))
        if owner is None:
            raise HandleNotFound(f"没有企业拥有前缀 {prefix}")
        await ctx.conn.execute(update(enterprises).where(enterprises.c.id == owner.id).values(status=status))
        await ctx.record([(f"enterprise:{owner.credit_code}", status)])


async def set_admin_secret(registry: Registry, principal: Principal, prefix: str, secret: str) -> None:
    """Give the enterprise administrator of `prefix` a new secret (Handle REST and SNMS alike)."""
    prefix = normalise_prefix(prefix)
    # Checked (and hashed) before anything changes, so a refused secret leaves the old one working everywhere.
    row = await account_row(registry, username=prefix, enterprise_id=0, acts_as=prefix, password=secret)
    key = [HandleValue.text(KEY_INDEX, "HS_SECKEY", secret)]
    await registry.put_values(principal, Handle.for_prefix(prefix), key)
    async with registry.store.writer.begin() as conn:
        fields = {k: row[k] for k in ("password_hash", "verifier")}
        await conn.execute(update(users).where(users.c.username == prefix).values(status=ACTIVE, **fields))


async def revoke_admin_secret(registry: Registry, principal: Principal, prefix: str) -> None:
    """Remove the administrator's secret: no Basic authentication nor SNMS login until a new one is set."""
    prefix = normalise_prefix(prefix)
    # The account first: only the node administrator may, and a refusal must come before any change.
    await set_user_status(registry, principal, prefix, DISABLED)
    await registry.delete_values(principal, Handle.for_prefix(prefix), [KEY_INDEX])


# -- logging in ------------------------------------------------------------------------------------------


def _dated(verifier: str, now: datetime) -> list[str]:
    days = [(now + timedelta(days=d)).astimezone(_CHINA).strftime("%Y-%m-%d") for d in (-1, 0, 1)]
    return [sha256_hex(verifier + day) for day in dict.fromkeys(days)]


async def login(registry: Registry, username: str, password: str, *, dated: bool = False) -> Principal:
    """The principal of a correct username and password (or, `dated`, the v1 hash of the password)."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise AuthenticationFailed(WRONG)
    async with registry.store.reader.connect() as conn:
        row = (await conn.execute(select(users).where(users.c.username == username))).first()
    if row is None:
        raise AuthenticationFailed(WRONG)
    if dated:
        verifier = unseal(await credential_key(registry), row.verifier) if row.verifier else ""
        ok = any(
            hmac.compare_digest(password.lower(), candidate)
            for candidate in _dated(verifier, datetime.now(UTC))
        )
    else:
        ok = await registry.passwords.verify(row.password_hash, password)
    if not ok:
        raise AuthenticationFailed(WRONG)
    return await acting_principal(registry, username)


async def acting_principal(registry: Registry, username: str) -> Principal:
    """Whom a logged-in user acts as, if the user and its enterprise may still act."""
    async with registry.store.reader.connect() as conn:
        user = await _row(conn, username)
        if user is None or user.status != ACTIVE or not await enterprise_active(conn, user.acts_as):
            raise AuthenticationFailed("账号已停用或不存在")
    return Principal(Handle.for_prefix(user.acts_as), KEY_INDEX, user=username)
