"""What a change to a record needs, value by value, in the Handle System's HS_ADMIN permissions.

Adding a value needs ADD_VALUE, replacing one MODIFY_VALUE, removing one REMOVE_VALUE. For the values that
make the record's administrators — its HS_ADMIN values, and the groups (HS_VLIST) and keys (HS_SECKEY,
HS_PUBKEY) of the record itself that those name — it is ADD_ADMIN, MODIFY_ADMIN and REMOVE_ADMIN: whoever may
put a member into a group that an HS_ADMIN names, or replace a key it names, chooses an administrator. A value
sent again unchanged needs nothing. A new or changed administrator value also says what it will grant, so
that the authoriser lets nobody grant more than they hold themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .values import (
    HS_ADMIN,
    HS_PUBKEY,
    HS_SECKEY,
    HS_VLIST,
    AdminData,
    AdminPermission,
    HandleValue,
    Reference,
    VListData,
)

P = AdminPermission
NONE: frozenset[AdminPermission] = frozenset()
# The values through which an HS_ADMIN names administrators inside its own record.
_NAMING_TYPES = frozenset({HS_VLIST, HS_SECKEY, HS_PUBKEY})
# The permissions that mean something on a handle that is not a prefix handle; the others (creating handles,
# derived prefixes, listing) are about a prefix, so granting them on an ordinary record grants nothing.
RECORD_PERMISSIONS = frozenset(
    {P.DELETE_HANDLE, P.MODIFY_VALUE, P.REMOVE_VALUE, P.ADD_VALUE}
    | {P.MODIFY_ADMIN, P.REMOVE_ADMIN, P.ADD_ADMIN, P.READ_VALUE}
)


@dataclass(frozen=True, slots=True)
class Need:
    """One permission a change needs, for the value at `index`; `grants` is what that value will grant."""

    permission: AdminPermission
    index: int | None = None
    grants: frozenset[AdminPermission] = NONE


def _grants(value: HandleValue) -> frozenset[AdminPermission]:
    data = value.data
    return AdminPermission.parse(data.permissions) if isinstance(data, AdminData) else NONE


def admin_values(values: Sequence[HandleValue], is_self: Callable[[str], bool]) -> dict[int, frozenset[P]]:
    """The indexes of the record's administrator values, each with what its holder is granted: every HS_ADMIN
    value, and the groups and keys of this record (`is_self` tells its name) that they name, through groups
    too."""
    by_index = {value.index: value for value in values}
    found: dict[int, frozenset[P]] = {}
    todo: list[tuple[Reference, frozenset[P]]] = []
    for value in values:
        if value.type == HS_ADMIN:
            found[value.index] = _grants(value)
            if isinstance(value.data, AdminData):
                todo.append((value.data.ref, found[value.index]))
    while todo:
        ref, grants = todo.pop()
        if not is_self(ref.handle):
            continue
        # Index 0 names any value of the handle (any key, any group), as in the authoriser's matching.
        named = list(values) if ref.index == 0 else [by_index[ref.index]] if ref.index in by_index else []
        for value in named:
            known = found.get(value.index)
            if value.type not in _NAMING_TYPES or (known is not None and grants <= known):
                continue  # not a group or key, or seen with these grants already (groups may form cycles)
            found[value.index] = (known or NONE) | grants
            if isinstance(value.data, VListData):
                todo.extend((member, grants) for member in value.data.refs)
    return found


def same(old: HandleValue, new: HandleValue) -> bool:
    """Whether `new` only repeats `old` (its timestamp aside)."""
    return replace(old, timestamp=0) == replace(new, timestamp=0)


def changing(
    current: Sequence[HandleValue], new: Sequence[HandleValue], is_self: Callable[[str], bool]
) -> list[Need]:
    """What turning the record's values `current` into `new` needs, index by index."""
    admins_before = admin_values(current, is_self)
    admins_after = admin_values(new, is_self)
    before = {value.index: value for value in current}
    needs: list[Need] = []
    for value in new:
        index, old = value.index, before.get(value.index)
        after, grants = index in admins_after, admins_after.get(index, NONE)
        if old is None:
            needs.append(Need(P.ADD_ADMIN if after else P.ADD_VALUE, index, grants))
        elif not same(old, value):
            was = index in admins_before
            if was or after:
                needs.append(Need(P.MODIFY_ADMIN, index, grants))
            if not (was and after):  # an ordinary value before or after: a value changes too
                needs.append(Need(P.MODIFY_VALUE, index))
    kept = {value.index for value in new}
    for old in current:
        if old.index not in kept:
            needs.append(Need(P.REMOVE_ADMIN if old.index in admins_before else P.REMOVE_VALUE, old.index))
    return needs


def adding(
    current: Sequence[HandleValue], fresh: Sequence[HandleValue], is_self: Callable[[str], bool]
) -> list[Need]:
    """What adding `fresh` to the record needs, as if none of their indexes were taken."""
    taken = {value.index for value in fresh}
    rest = [value for value in current if value.index not in taken]
    return changing(rest, [*rest, *fresh], is_self)
