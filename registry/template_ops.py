"""Managing data templates: enterprises keep their own prefixes' templates; the node administrator any.

A prefix's templates are authorised as values of its prefix handle: adding one needs ADD_VALUE there,
changing one MODIFY_VALUE, deleting one REMOVE_VALUE.
An enterprise reads its own prefixes' templates only (the node publishes none as shared); the node
administrator reads all.

Once identifiers use a template it cannot be deleted, and its items can only be disabled (or renamed, or
their constraints changed), never removed or given another index or type.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from .audit import acting
from .authz import Authoriser
from .errors import Conflict, InvalidInput, RegistryError
from .handle import normalise_prefix
from .principals import Principal
from .store import template_rows
from .templates import Template
from .values import AdminPermission
from .writer import Writer

EXISTS = "模板已存在"
IN_USE = "模板已被标识使用，不能删除"


class TemplateNotFound(RegistryError):
    """模板不存在"""


def _journal_name(prefix: str, version: str) -> str:
    return f"template:{prefix}/{version}"


def _keeps_used_items(current: Template, changed: Template) -> None:
    for item in current.items:
        kept = changed.item(item.id_index)
        if kept is None or kept.id_type != item.id_type:
            raise InvalidInput(f"模板项 {item.label} 已被标识使用，只能停用，不能删除或修改类型")


def _acting(op: str, prefix: str, version: str) -> AbstractContextManager[None]:
    return acting(f"template.{op}", target=f"{prefix}/{version}", prefix=prefix)


class Templates:
    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    async def add(self, principal: Principal, template: Template) -> None:
        with _acting("create", template.prefix, template.version):
            async with self._writer.transaction(principal) as ctx:
                await ctx.authz.check_prefix(template.prefix, AdminPermission.ADD_VALUE)
                if not await template_rows.add(ctx.conn, template, ctx.now):
                    raise Conflict(f"{EXISTS}：{template.prefix} {template.version}")
                await ctx.record([(_journal_name(template.prefix, template.version), "create")])

    async def change(self, principal: Principal, template: Template) -> None:
        with _acting("update", template.prefix, template.version):
            async with self._writer.transaction(principal) as ctx:
                await ctx.authz.check_prefix(template.prefix, AdminPermission.MODIFY_VALUE)
                current = await template_rows.read(ctx.conn, template.prefix, template.version)
                if current is None:
                    raise TemplateNotFound(f"模板不存在：{template.prefix} {template.version}")
                if await template_rows.in_use(ctx.conn, template.prefix, template.version):
                    _keeps_used_items(current, template)
                await template_rows.replace(ctx.conn, template, ctx.now)
                await ctx.record([(_journal_name(template.prefix, template.version), "update")])

    async def remove(self, principal: Principal, prefix: str, version: str) -> None:
        prefix = normalise_prefix(prefix)
        with _acting("delete", prefix, version):
            async with self._writer.transaction(principal) as ctx:
                await ctx.authz.check_prefix(prefix, AdminPermission.REMOVE_VALUE)
                if await template_rows.read(ctx.conn, prefix, version) is None:
                    raise TemplateNotFound(f"模板不存在：{prefix} {version}")
                if await template_rows.in_use(ctx.conn, prefix, version):
                    raise Conflict(f"{IN_USE}：{prefix} {version}")
                await template_rows.remove(ctx.conn, prefix, version)
                await ctx.record([(_journal_name(prefix, version), "delete")])

    async def read(self, principal: Principal, prefix: str, version: str | None = None) -> list[Template]:
        """`get`, for a principal who may list the prefix (its own enterprise's; the node administrator:
        any), else `PermissionDenied` — whether or not the prefix has templates."""
        prefix = normalise_prefix(prefix)
        node = self._writer.node
        async with self._writer.store.reader.connect() as conn:
            await Authoriser(conn, node.prefix, node.naming, principal).check_prefix(
                prefix, AdminPermission.LIST_HANDLES
            )
        return await self.get(prefix, version)

    async def get(self, prefix: str, version: str | None = None) -> list[Template]:
        """The template of `prefix` at `version`, or all its versions (to anyone: callers check who asks)."""
        prefix = normalise_prefix(prefix)
        async with self._writer.store.reader.connect() as conn:
            if version is None:
                return await template_rows.read_all(conn, prefix)
            found = await template_rows.read(conn, prefix, version)
        if found is None:
            raise TemplateNotFound(f"模板不存在：{prefix} {version}")
        return [found]
