"""Authorisation as the Handle System does it: HS_ADMIN values name who may do what, in twelve permissions.

A principal holds on a handle what the HS_ADMIN values naming it (directly, or through HS_VLIST groups) grant,
in the record itself and in the prefix handle `0.NA/<prefix>` of the handle's prefix — that prefix's own, not
a parent's: a derived prefix has its own administrators. The node administrator may do everything under the
node's prefix. Every write path asks this one authoriser:

- creating a handle needs ADD_HANDLE, granted in the prefix handle, which must exist: a handle can only be
  made under an allocated prefix (one whose prefix handle exists);
- creating a prefix handle `0.NA/88.999.1.5` (a derived prefix) needs ADD_DERIVED_PREFIX in the parent's
  prefix handle `0.NA/88.999.1`, deleting it DELETE_DERIVED_PREFIX there;
- deleting a handle needs DELETE_HANDLE;
- changing values needs, value by value, ADD_/MODIFY_/REMOVE_VALUE or, for the values that name
  administrators, ADD_/MODIFY_/REMOVE_ADMIN (`rights.py`); and an administrator value may grant only
  permissions its writer holds on the handle, so nobody raises their own rights or another's above theirs;
- listing a prefix needs LIST_HANDLES in its prefix handle; its data templates are values of the prefix handle
  (ADD_/MODIFY_/REMOVE_VALUE there);
- READ_VALUE lets an administrator read what is not public (`may_read`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from . import rights
from .codec import decode_values
from .errors import InsufficientPermissions, InvalidHandle, NotResponsible, PermissionDenied
from .handle import Handle, is_under
from .naming import Naming
from .principals import Principal
from .rights import NONE, Need
from .store import records
from .values import HS_ADMIN, HS_VLIST, AdminData, AdminPermission, HandleValue, Reference, VListData

P = AdminPermission
ALL: frozenset[AdminPermission] = frozenset(AdminPermission)
_MAX_GROUP_DEPTH = 3


class Authoriser:
    """Answers "may this principal do that?" within one transaction, remembering what it looked up."""

    def __init__(self, conn: AsyncConnection, node_prefix: str, naming: Naming, principal: Principal) -> None:
        self._conn = conn
        self._node_prefix = node_prefix
        self._naming = naming
        self._principal = principal
        self._records: dict[str, list[HandleValue]] = {}
        self._prefixes: dict[str, frozenset[AdminPermission]] = {}
        self._named: dict[Reference, bool] = {}
        self._node_admin = principal.handle == Handle.for_prefix(node_prefix)

    @property
    def is_node_admin(self) -> bool:
        return self._node_admin

    # -- the questions the write paths ask ----------------------------------------------------------------

    async def check_create(self, handle: Handle) -> None:
        """Raise unless the principal may create `handle`."""
        self._homed(handle.governing_prefix)
        if self.is_node_admin:
            return
        if handle.is_prefix_handle:
            await self._on_parent(handle, P.ADD_DERIVED_PREFIX)
            return
        prefix_handle = Handle.for_prefix(handle.prefix)
        if not await self._values(prefix_handle):
            raise PermissionDenied(
                f"prefix {handle.prefix} is not allocated: its prefix handle {prefix_handle} does not exist",
                handle=str(handle),
            )
        held = await self._prefix_permissions(handle.prefix)
        self._require(handle, held, [Need(P.ADD_HANDLE)], f"under {handle.prefix}")

    async def check_delete(self, handle: Handle, record: Sequence[HandleValue]) -> None:
        """Raise unless the principal may delete `handle`, whose values are `record`."""
        self._homed(handle.governing_prefix)
        if self.is_node_admin:
            return
        if handle.is_prefix_handle:
            await self._on_parent(handle, P.DELETE_DERIVED_PREFIX)
            return
        self._require(handle, await self.permissions(handle, record), [Need(P.DELETE_HANDLE)])

    async def check_change(
        self, handle: Handle, current: Sequence[HandleValue], new: Sequence[HandleValue]
    ) -> None:
        """Raise unless the principal may turn the values `current` of `handle` into `new`."""
        await self.check_needs(handle, current, rights.changing(current, new, self._is_self(handle)))

    async def check_adding(
        self, handle: Handle, current: Sequence[HandleValue], fresh: Sequence[HandleValue]
    ) -> None:
        """Raise unless the principal may add `fresh` to the values `current` of `handle` (as new values)."""
        await self.check_needs(handle, current, rights.adding(current, fresh, self._is_self(handle)))

    async def check_needs(
        self, handle: Handle, current: Sequence[HandleValue], needs: Sequence[Need]
    ) -> None:
        """Raise unless the principal holds every permission in `needs` on `handle` (values `current`)."""
        self._homed(handle.governing_prefix)
        if self.is_node_admin:
            return
        # The prefix's grants usually suffice: the record's own HS_ADMIN values are read only when not.
        held = NONE if handle.is_prefix_handle else await self._prefix_permissions(handle.prefix)
        if not held or _unmet(handle, held, needs) is not None:
            held |= await self._granted_by(current)
        if not held:  # even a write that changes nothing (a value sent again) is for administrators only
            raise PermissionDenied(f"{self._principal} may not change {handle}", handle=str(handle))
        self._require(handle, held, needs)

    async def check_prefix(self, prefix: str, permission: AdminPermission) -> None:
        """Raise unless the prefix handle of `prefix` grants the principal `permission` (listing,
        templates)."""
        self._homed(prefix)
        if self.is_node_admin:
            return
        handle = Handle.for_prefix(prefix)
        self._require(handle, await self._prefix_permissions(prefix), [Need(permission)], f"under {prefix}")

    async def may_read(self, handle: Handle, record: Sequence[HandleValue]) -> bool:
        """Whether the principal may read the values of `handle` that are not public (READ_VALUE)."""
        if not is_under(handle.governing_prefix, self._node_prefix):
            return False
        return P.READ_VALUE in await self.permissions(handle, record)

    async def permissions(self, handle: Handle, record: Sequence[HandleValue]) -> frozenset[AdminPermission]:
        """Everything the principal may do to `handle`, whose values are `record`."""
        if self.is_node_admin:
            return ALL
        held = await self._granted_by(record)
        if not handle.is_prefix_handle:
            held |= await self._prefix_permissions(handle.prefix)
        return held

    # -- how the answers are found ------------------------------------------------------------------------

    def _homed(self, prefix: str) -> None:
        if not is_under(prefix, self._node_prefix):
            raise NotResponsible(f"prefix {prefix} is not homed on this node")

    def _require(
        self, handle: Handle, held: frozenset[AdminPermission], needs: Sequence[Need], what: str = ""
    ) -> None:
        unmet = _unmet(handle, held, needs)
        if unmet is None:
            return
        need, beyond = unmet
        at = f" at index {need.index}" if need.index is not None else ""
        target = what or f"of {handle}"
        if beyond:
            labels = ", ".join(p.label for p in sorted(beyond))
            message = f"{self._principal} may not grant {labels}{at} {target}: it does not hold that itself"
        else:
            message = f"{self._principal} may not {need.permission.label}{at} {target}"
        error = InsufficientPermissions if held else PermissionDenied
        raise error(message, handle=str(handle))

    async def _on_parent(self, handle: Handle, permission: AdminPermission) -> None:
        """Creating or deleting the derived prefix `handle` names: a right on its parent's prefix handle."""
        prefix = handle.suffix
        parent = prefix.rpartition(".")[0]
        if not parent or not is_under(parent, self._node_prefix):
            raise PermissionDenied(
                "only the node administrator creates or deletes its prefix handle", handle=str(handle)
            )
        held = await self._prefix_permissions(parent)
        self._require(handle, held, [Need(permission)], f"under {parent} ({prefix})")

    async def _prefix_permissions(self, prefix: str) -> frozenset[AdminPermission]:
        if prefix not in self._prefixes:
            self._prefixes[prefix] = await self._granted_by(await self._values(Handle.for_prefix(prefix)))
        return self._prefixes[prefix]

    async def _granted_by(self, values: Sequence[HandleValue]) -> frozenset[AdminPermission]:
        """What the HS_ADMIN values among `values` that name the principal grant it."""
        held: frozenset[AdminPermission] = NONE
        for value in values:
            data = value.data
            if value.type == HS_ADMIN and isinstance(data, AdminData) and await self._names(data.ref):
                held |= AdminPermission.parse(data.permissions)
        return held

    async def _names(self, ref: Reference) -> bool:
        """Whether `ref` names the principal: its key, or a group holding it (groups nest a few deep)."""
        if ref not in self._named:
            self._named[ref] = await self._names_now(ref, 0)
        return self._named[ref]

    async def _names_now(self, ref: Reference, depth: int) -> bool:
        if self._principal.matches(ref, self._naming):
            return True
        if depth >= _MAX_GROUP_DEPTH:
            return False
        for value in await self._values(ref.handle):
            if value.type == HS_VLIST and ref.index in (0, value.index) and isinstance(value.data, VListData):
                for member in value.data.refs:
                    if await self._names_now(member, depth + 1):
                        return True
        return False

    def _is_self(self, handle: Handle) -> _SameHandle:
        return _SameHandle(self._naming, self._naming.key(handle))

    async def _values(self, name: Handle | str) -> list[HandleValue]:
        text = str(name)
        if text not in self._records:
            try:
                key = self._naming.key(name) if isinstance(name, Handle) else self._naming.key_of(name)
            except InvalidHandle:
                key = text
            stored = await records.read(self._conn, key)
            self._records[text] = decode_values(stored) if stored else []
        return self._records[text]


class _SameHandle:
    """Tells whether a reference's handle is the record's own (as the node tells handles apart)."""

    def __init__(self, naming: Naming, key: str) -> None:
        self._naming = naming
        self._key = key

    def __call__(self, text: str) -> bool:
        try:
            return self._naming.key_of(text) == self._key
        except InvalidHandle:
            return False


def _unmet(
    handle: Handle, held: frozenset[AdminPermission], needs: Sequence[Need]
) -> tuple[Need, frozenset[AdminPermission]] | None:
    """The first need `held` does not meet, with the grants beyond `held` when that is why."""
    meaningful = ALL if handle.is_prefix_handle else rights.RECORD_PERMISSIONS
    for need in needs:
        if need.permission not in held:
            return need, NONE
        beyond = (need.grants & meaningful) - held
        if beyond:
            return need, beyond
    return None
