"""Who reads which values of a record: the rule of every read path, over the canonical record.

The canonical record is the JSON array of a record's values as the store keeps them and the caches hold them
(secret keys already taken out), so the rule needs no database round trip and no parse into `HandleValue`s:

- anyone reads the **public** values (`publicly_readable`: public-read bit set, no `readers`);
- an authenticated reader also reads the values whose `readers` list its **enterprise**: the governing
  prefix of the principal's handle (`88.999.2` for `300:0.NA/88.999.2` and for `300:88.999.2/APP-1`) equals
  or lies under a listed prefix — whatever the value's permission bits say (`readers` is the grant). Readers
  name prefixes, not enterprises: an enterprise with several prefixes reads as the one it authenticates as,
  and the node's own prefix (`88.999`) shares a value with every authenticated enterprise of the node;
- the record's **owners** read every value whose admin-read bit is set, restricted ones included, and only
  they see a value's `readers` (a supplier is not told who else the chain leader shares a value with).

A principal owns a record when it is the prefix handle of the record's prefix or of a parent prefix (an
enterprise's administrator `0.NA/88.999.1` for `88.999.1/…`; the node administrator `0.NA/88.999` for every
record under the node), or when one of the record's HS_ADMIN values grants READ_VALUE and names it: its
handle and index (0: any), or any value of its own prefix handle (`200:0.NA/88.999.3`, a group that only
88.999.3's administrators can change, so they count as in it).

This is the read side of `authz.Authoriser`, kept to what one record says: HS_ADMIN values of prefix handles
naming other principals, and HS_VLIST groups elsewhere, which the write path follows through the database,
are not followed here. A reader they alone would admit sees the values shared with its enterprise and the
public ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidHandle
from .handle import Handle, is_under
from .naming import Naming
from .principals import Principal
from .values import DEFAULT_PERMISSIONS, HS_ADMIN, HS_SECKEY, AdminPermission, publicly_readable

READERS = "readers"
JsonValue = dict[str, Any]


def value_public(value: Mapping[str, Any]) -> bool:
    """`publicly_readable` of a value in its JSON form."""
    return publicly_readable(value["type"], value.get("permissions", DEFAULT_PERMISSIONS), value.get(READERS))


def _admin_readable(value: Mapping[str, Any]) -> bool:
    permissions: str = value.get("permissions", DEFAULT_PERMISSIONS)
    return value["type"] != HS_SECKEY and permissions[0] == "1"


def shares_with(value: Mapping[str, Any], enterprise: str) -> bool:
    """Whether `value`'s readers list `enterprise` or a prefix above it."""
    readers = value.get(READERS)
    if not readers or value["type"] == HS_SECKEY:
        return False
    return any(is_under(enterprise, prefix) for prefix in readers)


@dataclass(frozen=True, slots=True)
class Reader:
    """An authenticated reader: its principal, as the node tells handles apart (`naming`), on the node whose
    prefix is `node_prefix` (its administrator owns every record under it)."""

    principal: Principal
    naming: Naming
    node_prefix: str

    @property
    def enterprise(self) -> str:
        """The prefix it reads as: its handle's governing prefix."""
        return self.principal.handle.governing_prefix

    def owns(self, handle: Handle, values: Sequence[Mapping[str, Any]]) -> bool:
        """Whether it reads all of `handle`'s non-public values (`values`: the canonical record)."""
        mine = self.principal.handle
        # A prefix's administrator owns its own prefix's records, not a derived prefix's (which has its own
        # administrators, as registry/authz.py has it); the node's administrator owns every record.
        if mine.is_prefix_handle and (
            handle.governing_prefix == mine.suffix
            or (is_under(handle.governing_prefix, self.node_prefix) and mine.suffix == self.node_prefix)
        ):
            return True
        return any(self._granted_read(value) for value in values if value["type"] == HS_ADMIN)

    def _granted_read(self, value: Mapping[str, Any]) -> bool:
        data = value.get("data")
        admin = data.get("value") if isinstance(data, dict) else None
        if not isinstance(admin, dict):
            return False
        permissions, ref, index = admin.get("permissions"), admin.get("handle"), admin.get("index", 0)
        if not isinstance(permissions, str) or len(permissions) != 12 or not isinstance(ref, str):
            return False
        if not AdminPermission.granted(permissions, AdminPermission.READ_VALUE):
            return False
        try:
            named = self.naming.key_of(ref)
        except InvalidHandle:
            return False
        mine = self.principal.handle
        if named != self.naming.key(mine):
            return False
        return mine.is_prefix_handle or str(index) in ("0", str(self.principal.index))

    def view(self, handle: Handle, values: list[JsonValue]) -> list[JsonValue] | None:
        """The values of `handle`'s record (`values`, the canonical record) this reader may read, in their
        order; None when those are exactly the public ones, which every reader shares."""
        enterprise = self.enterprise
        if self.owns(handle, values):  # never less than its enterprise would be shown as a partner
            owned = [v for v in values if value_public(v) or _admin_readable(v) or shares_with(v, enterprise)]
            return None if all(value_public(v) for v in owned) else owned
        shown: list[JsonValue] = []
        shared = False
        for value in values:
            if value_public(value):
                shown.append(value)
            elif shares_with(value, enterprise):
                # Who else it is shared with is the owner's to know.
                shown.append({key: item for key, item in value.items() if key != READERS})
                shared = True
        return shown if shared else None


def public_values(values: list[JsonValue]) -> list[JsonValue]:
    """The values anyone may read."""
    return [value for value in values if value_public(value)]
