"""SQL on the templates table."""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.templates import Template, parse_template

from .schema import handles, templates


async def read(conn: AsyncConnection, prefix: str, version: str) -> Template | None:
    stmt = select(templates.c.body).where(templates.c.prefix == prefix, templates.c.version == version)
    body = (await conn.execute(stmt)).scalar_one_or_none()
    return None if body is None else parse_template(orjson.loads(body))


async def read_all(conn: AsyncConnection, prefix: str) -> list[Template]:
    stmt = select(templates.c.body).where(templates.c.prefix == prefix).order_by(templates.c.version)
    return [parse_template(orjson.loads(body)) for body in (await conn.execute(stmt)).scalars()]


async def add(conn: AsyncConnection, template: Template, now: datetime) -> bool:
    """Insert `template`; False when its prefix already has that version."""
    taken = await read(conn, template.prefix, template.version)
    if taken is not None:
        return False
    body = orjson.dumps(template.to_json()).decode()
    await conn.execute(
        insert(templates).values(
            prefix=template.prefix, version=template.version, body=body, created_at=now, updated_at=now
        )
    )
    return True


async def replace(conn: AsyncConnection, template: Template, now: datetime) -> None:
    body = orjson.dumps(template.to_json()).decode()
    stmt = (
        update(templates)
        .where(templates.c.prefix == template.prefix, templates.c.version == template.version)
        .values(body=body, updated_at=now)
    )
    await conn.execute(stmt)


async def remove(conn: AsyncConnection, prefix: str, version: str) -> None:
    await conn.execute(delete(templates).where(templates.c.prefix == prefix, templates.c.version == version))


async def in_use(conn: AsyncConnection, prefix: str, version: str) -> bool:
    """Whether any identifier was registered with this template."""
    used = exists().where(handles.c.prefix == prefix, handles.c.template_version == version)
    return bool((await conn.execute(select(used))).scalar())
