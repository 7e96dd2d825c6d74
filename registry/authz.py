"""Authorisation as the Handle System does it: HS_ADMIN values name who may do what.

A principal may change a handle when an HS_ADMIN value with the needed permission names it, directly or
through an HS_VLIST group, either in the record itself or in the prefix handle (`0.NA/<prefix>`) of the
handle's prefix or one of its parents up to the node's prefix. The node administrator may do everything
under the node's prefix; only it creates or deletes prefix handles.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from .codec import decode_values
from .errors import InvalidHandle, NotResponsible, PermissionDenied
from .handle import Handle, is_under
from .naming import Naming
from .principals import Principal
from .store import records
from .values import (
    HS_ADMIN,
    HS_VLIST,
    AdminData,
    AdminPermission,
    HandleValue,
    Reference,
    VListData,
)

_MAX_GROUP_DEPTH = 3


class Operation(enum.Enum):
    CREATE = AdminPermission.ADD_HANDLE
    MODIFY = AdminPermission.MODIFY_VALUE
    DELETE = AdminPermission.DELETE_HANDLE
    LIST = AdminPermission.LIST_HANDLES


class Authoriser:
    """Answers "may this principal do that?" within one transaction, remembering what it looked up."""

    def __init__(self, conn: AsyncConnection, node_prefix: str, naming: Naming, principal: Principal) -> None:
        self._conn = conn
        self._node_prefix = node_prefix
        self._naming = naming
        self._principal = principal
        self._records: dict[str, list[HandleValue]] = {}
        self._prefix_grants: dict[tuple[str, Operation], bool] = {}

    @property
    def is_node_admin(self) -> bool:
        return self._principal.handle == Handle.for_prefix(self._node_prefix)

    async def check(self, handle: Handle, op: Operation, record: Sequence[HandleValue] | None = None) -> None:
        """Raise unless the principal may do `op` on `handle` (whose current values are `record`)."""
        prefix = handle.governing_prefix
        if not is_under(prefix, self._node_prefix):
            raise NotResponsible(f"prefix {prefix} is not homed on this node", handle=str(handle))
        if self.is_node_admin:
            return
        if handle.is_prefix_handle and op in (Operation.CREATE, Operation.DELETE):
            raise PermissionDenied("only the node administrator creates or deletes prefixes")
        if await self._prefix_grants_op(prefix, op):
            return
        if record is not None and await self._admins_grant(record, op):
            return
        raise PermissionDenied(f"{self._principal} may not change handles under {prefix}", handle=str(handle))

    async def check_prefix(self, prefix: str, op: Operation) -> None:
        """Raise unless the principal may do `op` on the prefix as a whole (listing, its templates)."""
        if not is_under(prefix, self._node_prefix):
            raise NotResponsible(f"prefix {prefix} is not homed on this node")
        if not self.is_node_admin and not await self._prefix_grants_op(prefix, op):
            raise PermissionDenied(f"{self._principal} may not {op.name.lower()} under {prefix}")

    async def _prefix_grants_op(self, prefix: str, op: Operation) -> bool:
        key = (prefix, op)
        if key not in self._prefix_grants:
            self._prefix_grants[key] = await self._walk_prefixes(prefix, op)
        return self._prefix_grants[key]

    async def _walk_prefixes(self, prefix: str, op: Operation) -> bool:
        while is_under(prefix, self._node_prefix) and prefix != self._node_prefix:
            if await self._admins_grant(await self._values(str(Handle.for_prefix(prefix))), op):
                return True
            prefix = prefix.rpartition(".")[0]
        return False

    async def _admins_grant(self, values: Sequence[HandleValue], op: Operation) -> bool:
        for value in values:
            data = value.data
            if (
                value.type == HS_ADMIN
                and isinstance(data, AdminData)
                and AdminPermission.granted(data.permissions, op.value)
                and await self._names_principal(data.ref, depth=0)
            ):
                return True
        return False

    async def _names_principal(self, ref: Reference, depth: int) -> bool:
        if self._principal.matches(ref, self._naming):
            return True
        if depth >= _MAX_GROUP_DEPTH:
            return False
        for value in await self._values(ref.handle):
            if value.type == HS_VLIST and ref.index in (0, value.index) and isinstance(value.data, VListData):
                for member in value.data.refs:
                    if await self._names_principal(member, depth + 1):
                        return True
        return False

    async def _values(self, name: str) -> list[HandleValue]:
        if name not in self._records:
            try:
                key = self._naming.key_of(name)
            except InvalidHandle:
                key = name
            stored = await records.read(self._conn, key)
            self._records[name] = decode_values(stored) if stored else []
        return self._records[name]
