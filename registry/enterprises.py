"""Enterprises and the prefixes they own, and the prefix handles that name their administrators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .credit_code import validate_credit_code
from .errors import Conflict, InvalidEnterprise
from .handle import Handle, is_under
from .store.schema import enterprises, prefixes
from .values import (
    ADMIN_INDEX,
    HS_ADMIN,
    HS_SECKEY,
    HS_VLIST,
    KEY_INDEX,
    VLIST_INDEX,
    AdminData,
    HandleValue,
    Reference,
    StringData,
    VListData,
)

ACTIVE = "active"
# What an enterprise administrator may do with its prefix: everything but creating and deleting derived
# prefixes, which the node administrator allocates (and reports upward); it may grant that right later.
ENTERPRISE_ADMIN_PERMISSIONS = "111111110011"


@dataclass(frozen=True, slots=True)
class EnterpriseInput:
    name: str
    credit_code: str
    industry: str = ""
    contact: str = ""

    def validated(self) -> EnterpriseInput:
        name = self.name.strip()
        if not name or len(name) > 200:
            raise InvalidEnterprise("an enterprise's name has 1 to 200 characters")
        if len(self.industry) > 16 or len(self.contact) > 200:
            raise InvalidEnterprise("industry is at most 16 characters, contact at most 200")
        return EnterpriseInput(name, validate_credit_code(self.credit_code), self.industry, self.contact)


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: int
    name: str
    credit_code: str
    industry: str
    contact: str
    status: str
    prefixes: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "creditCode": self.credit_code,
            "industry": self.industry,
            "contact": self.contact,
            "status": self.status,
            "prefixes": list(self.prefixes),
        }


def prefix_handle_values(
    prefix: str, secret: str, permissions: str = ENTERPRISE_ADMIN_PERMISSIONS
) -> list[HandleValue]:
    """The values of `0.NA/<prefix>` for a prefix with its own administrator: a public HS_ADMIN naming the
    admin group at index 200 with `permissions`, the group (HS_VLIST) holding the key at 300, and that key
    (HS_SECKEY; the registry stores its hash, and the secret sealed for the native protocol
    beside the record: `native_secrets.py`)."""
    own = str(Handle.for_prefix(prefix))
    return [
        HandleValue(ADMIN_INDEX, HS_ADMIN, AdminData(own, VLIST_INDEX, permissions)),
        HandleValue(VLIST_INDEX, HS_VLIST, VListData((Reference(own, KEY_INDEX),))),
        HandleValue(KEY_INDEX, HS_SECKEY, StringData(secret), permissions="1100"),
    ]


def derived_prefix_values(admins: AdminData) -> list[HandleValue]:
    """The values of a further prefix of an enterprise: the same administrators as its first prefix."""
    return [HandleValue(ADMIN_INDEX, HS_ADMIN, admins)]


async def insert_enterprise(conn: AsyncConnection, details: EnterpriseInput, now: datetime) -> int:
    taken = select(enterprises.c.id).where(enterprises.c.credit_code == details.credit_code)
    if (await conn.execute(taken)).first() is not None:
        raise Conflict(f"an enterprise with credit code {details.credit_code} exists already")
    stmt = insert(enterprises).values(
        name=details.name,
        credit_code=details.credit_code,
        industry=details.industry,
        contact=details.contact,
        status=ACTIVE,
        created_at=now,
    )
    result = await conn.execute(stmt.returning(enterprises.c.id))
    return int(result.scalar_one())


async def insert_prefix(conn: AsyncConnection, prefix: str, enterprise_id: int | None, now: datetime) -> None:
    taken = select(prefixes.c.prefix).where(prefixes.c.prefix == prefix)
    if (await conn.execute(taken)).first() is not None:
        raise Conflict(f"prefix {prefix} is allocated already")
    await conn.execute(insert(prefixes).values(prefix=prefix, enterprise_id=enterprise_id, created_at=now))


async def lock_allocations(conn: AsyncConnection, node_prefix: str) -> None:
    """Make allocations of this transaction wait for each other's (SQLite writers wait already at BEGIN)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            select(prefixes.c.prefix).where(prefixes.c.prefix == node_prefix).with_for_update()
        )


async def refuse_nested(conn: AsyncConnection, prefix: str, owner_id: int | None) -> None:
    """Raise `Conflict` when `prefix` lies inside or around a prefix of an enterprise other than `owner_id`:
    the owner of a prefix would otherwise administer the other's handles, or they its."""
    parts = prefix.split(".")
    ancestors = [".".join(parts[:n]) for n in range(1, len(parts))]
    below = func.substr(prefixes.c.prefix, 1, len(prefix) + 1) == prefix + "."
    stmt = select(prefixes.c.prefix).where(
        prefixes.c.enterprise_id.is_not(None), or_(prefixes.c.prefix.in_(ancestors), below)
    )
    if owner_id is not None:
        stmt = stmt.where(prefixes.c.enterprise_id != owner_id)
    other = (await conn.execute(stmt.order_by(prefixes.c.prefix).limit(1))).scalar_one_or_none()
    if other is not None:
        where = "inside" if is_under(prefix, other) else "around"
        raise Conflict(f"prefix {prefix} lies {where} prefix {other}, which another enterprise owns")


async def enterprise_active(conn: AsyncConnection, prefix: str) -> bool:
    """Whether the enterprise owning `prefix` may act (the node's own prefix has no enterprise: yes)."""
    stmt = (
        select(enterprises.c.status)
        .join(prefixes, prefixes.c.enterprise_id == enterprises.c.id)
        .where(prefixes.c.prefix == prefix)
    )
    status = (await conn.execute(stmt)).scalar_one_or_none()
    return status is None or status == ACTIVE


async def find_enterprise(conn: AsyncConnection, prefix: str) -> Enterprise | None:
    """The enterprise that owns `prefix`."""
    owner = select(prefixes.c.enterprise_id).where(prefixes.c.prefix == prefix).scalar_subquery()
    row = (await conn.execute(select(enterprises).where(enterprises.c.id == owner))).first()
    if row is None:
        return None
    owned = select(prefixes.c.prefix).where(prefixes.c.enterprise_id == row.id).order_by(prefixes.c.prefix)
    names = tuple((await conn.execute(owned)).scalars().all())
    return Enterprise(row.id, row.name, row.credit_code, row.industry, row.contact, row.status, names)


async def list_enterprises(conn: AsyncConnection) -> list[Enterprise]:
    rows = (await conn.execute(select(enterprises).order_by(enterprises.c.id))).all()
    owned = (await conn.execute(select(prefixes.c.enterprise_id, prefixes.c.prefix))).all()
    by_owner: dict[int, list[str]] = {}
    for owner, prefix in owned:
        if owner is not None:
            by_owner.setdefault(owner, []).append(prefix)
    return [
        Enterprise(
            r.id,
            r.name,
            r.credit_code,
            r.industry,
            r.contact,
            r.status,
            tuple(sorted(by_owner.get(r.id, []))),
        )
        for r in rows
    ]
