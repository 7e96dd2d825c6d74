"""The node operator's operations, in the JSON shapes the administration API answers.

The HTTP routes (`routes.py`) call them for an authenticated node administrator; `idnode`'s commands on the
node's own database call them in process (`resolver.local`). Bodies are checked here, so that both get the
same refusals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from registry import (
    EnterpriseInput,
    InvalidInput,
    NotResponsible,
    Principal,
    Services,
    new_secret,
    normalise_prefix,
    parse_template,
    pubkeys,
)
from registry.accounts import DISABLED
from registry.audit import (
    DEFAULT_LIMIT,
    DENIED,
    FAILED,
    MAX_LIMIT,
    OK,
    THROTTLED,
    acting,
    parse_time,
)
from registry.enterprises import ACTIVE
from registry.values import KEY_INDEX, MAX_INDEX

Json = dict[str, Any]


def text(body: Json, key: str, *, required: bool = True) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise InvalidInput(f"{key} must be a{'' if required else 'n optional'} string")
    return value


async def create_enterprise(services: Services, admin: Principal, body: Json) -> Json:
    """Onboard an enterprise: its prefix (given, or the next free one) and administrator; a secret is made
    (and shown once) when none is given."""
    details = EnterpriseInput(
        text(body, "name"),
        text(body, "creditCode"),
        text(body, "industry", required=False),
        text(body, "contact", required=False),
    )
    enterprises = services.enterprises
    prefix = text(body, "prefix", required=False) or await enterprises.next_free_prefix()
    given = text(body, "secret", required=False)
    secret = given or new_secret()
    detail = f"{details.name} ({details.credit_code})"
    with acting("enterprise.create", target=prefix, prefix=_prefix_or_none(prefix), detail=detail):
        made = await enterprises.add(admin, details, prefix=prefix, secret=secret)
    answer: Json = {"enterprise": made.to_json(), "administrator": f"300:0.NA/{made.prefixes[0]}"}
    return answer | ({} if given else {"secret": secret})


async def list_enterprises(services: Services) -> Json:
    return {"enterprises": [e.to_json() for e in await services.enterprises.all()]}


async def show_enterprise(services: Services, prefix: str) -> Json:
    """One enterprise, named by any of its prefixes, with its SNMS users."""
    found = await services.enterprises.find(prefix)
    users = await services.accounts.users_of(found.id)
    return {**found.to_json(), "users": [{"username": u.username, "status": u.status} for u in users]}


async def set_enterprise_status(services: Services, admin: Principal, prefix: str, *, enabled: bool) -> Json:
    act = "enterprise.enable" if enabled else "enterprise.disable"
    with acting(act, target=_prefix_or_none(prefix) or prefix, prefix=_prefix_or_none(prefix)):
        await services.accounts.set_enterprise_status(admin, prefix, ACTIVE if enabled else DISABLED)
    return (await services.enterprises.find(prefix)).to_json()


async def allocate_prefix(services: Services, admin: Principal, owner: str, body: Json) -> Json:
    enterprises = services.enterprises
    wanted = text(body, "prefix", required=False) or await enterprises.next_free_prefix()
    detail = f"to the enterprise owning {owner}"
    with acting("prefix.allocate", target=wanted, prefix=_prefix_or_none(wanted), detail=detail):
        return (await enterprises.add_prefix(admin, owner_prefix=owner, prefix=wanted)).to_json()


async def set_secret(services: Services, admin: Principal, prefix: str, body: Json) -> Json:
    given = text(body, "secret", required=False)
    secret = given or new_secret()
    await services.enterprises.find(prefix)
    with acting("secret.set", target=_administrator(prefix), prefix=_prefix_or_none(prefix)):
        await services.accounts.set_admin_secret(admin, prefix, secret)
    answer: Json = {"administrator": f"300:0.NA/{normalise_prefix(prefix)}"}
    return answer | ({} if given else {"secret": secret})


async def revoke_secret(services: Services, admin: Principal, prefix: str) -> None:
    await services.enterprises.find(prefix)
    with acting("secret.revoke", target=_administrator(prefix), prefix=_prefix_or_none(prefix)):
        await services.accounts.revoke_admin_secret(admin, prefix)


async def add_key(services: Services, admin: Principal, prefix: str, body: Json) -> Json:
    """Put a public key (PEM) on the enterprise's prefix handle as HS_PUBKEY at `index` (300: in place of
    the secret key), an administrator who authenticates by challenge–response."""
    index = body.get("index", KEY_INDEX)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 < index <= MAX_INDEX:
        raise InvalidInput(f"index must be an integer from 1 to {MAX_INDEX}")
    key = pubkeys.from_pem(text(body, "publicKey").encode())
    await services.enterprises.find(prefix)
    made = await services.sessions.add_key(admin, prefix, key, index=index)
    return {"administrator": str(made), "key": key.to_jwk()}


async def create_user(services: Services, admin: Principal, prefix: str, body: Json) -> Json:
    username = text(body, "username")
    with acting("user.create", target=username, prefix=_prefix_or_none(prefix)):
        user = await services.accounts.add_user(
            admin, prefix=prefix, username=username, password=text(body, "password")
        )
    return {"username": user.username, "actsAs": f"300:0.NA/{user.acts_as}", "status": user.status}


async def set_user_status(services: Services, admin: Principal, username: str, *, enabled: bool) -> Json:
    status = ACTIVE if enabled else DISABLED
    with acting("user.enable" if enabled else "user.disable", target=username):
        await services.accounts.set_user_status(admin, username, status)
    return {"username": username, "status": status}


async def stats(services: Services) -> Json:
    counts = await services.reads.counts()
    prefixes = [{"prefix": c.prefix, "handles": c.handles, "templates": c.templates} for c in counts]
    return {"total": sum(c.handles for c in counts), "prefixes": prefixes}


async def load_template(services: Services, principal: Principal, body: Json) -> Json:
    template = parse_template(body)
    await services.templates.add(principal, template)
    return template.to_json()


async def templates(services: Services, prefix: str, version: str | None = None) -> list[Json]:
    return [t.to_json() for t in await services.templates.get(prefix, version)]


def _prefix_or_none(prefix: str) -> str | None:
    """`prefix` as the audit files it, if it is one (a malformed one is refused by the act itself)."""
    try:
        return normalise_prefix(prefix)
    except InvalidInput:
        return None


def _administrator(prefix: str) -> str:
    return f"300:0.NA/{_prefix_or_none(prefix) or prefix}"


MAX_FILTER = 320
AUDIT_FILTERS = ("prefix", "actor", "action", "outcome", "since", "until", "cursor", "limit")
OUTCOMES = (OK, DENIED, FAILED, THROTTLED)
# Filters the OpenAPI document gives a ^…$ pattern, which (read as Python reads it) also matches with one
# newline after the end: such a value is taken as the document allows it.
_PATTERNED = ("prefix", "actor", "action", "since", "until", "cursor")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _filters(params: Mapping[str, str | None]) -> dict[str, str]:
    given = {k: v for k, v in params.items() if v is not None}
    unknown = sorted(set(given) - set(AUDIT_FILTERS))
    if unknown:
        raise InvalidInput(f"unknown filters {unknown}: the audit filters by {', '.join(AUDIT_FILTERS)}")
    for key in _PATTERNED:
        if given.get(key, "").endswith("\n"):
            given[key] = given[key][:-1]
    for key, value in given.items():
        if not value or len(value) > MAX_FILTER or _CONTROL.search(value):
            raise InvalidInput(f"{key} is text of 1 to {MAX_FILTER} characters, without control characters")
    if given.get("outcome", OK) not in OUTCOMES:
        raise InvalidInput(f"outcome is one of {', '.join(OUTCOMES)}")
    limit = given.get("limit", str(DEFAULT_LIMIT))
    if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidInput(f"limit is a number from 1 to {MAX_LIMIT}")
    return given | {"limit": limit}


async def audit(services: Services, scope: Sequence[str] | None, params: Mapping[str, str | None]) -> Json:
    """The audit events the filters keep, newest first, within `scope` (None: the node administrator's
    view, everything), and the cursor of the next page."""
    given = _filters(params)
    now = services.audit.now()
    since, until = given.get("since"), given.get("until")
    page = await services.audit.query(
        scope=scope,
        prefix=given.get("prefix"),
        actor=given.get("actor"),
        action=given.get("action"),
        outcome=given.get("outcome"),
        since=parse_time(since, now) if since else None,
        until=parse_time(until, now) if until else None,
        cursor=given.get("cursor"),
        limit=int(given["limit"]),
    )
    return page.to_json()


async def add_child_node(services: Services, admin: Principal, body: Json) -> Json:
    """Allocate a node prefix to a secondary node (a top-level node's act): its prefix handle, administered by
    the secondary node with the given secret (one is made, and shown once, when none is given)."""
    if not services.place.top_level:
        raise NotResponsible("only a top-level node allocates node prefixes (idnode init --role top-level)")
    prefix = text(body, "prefix")
    given = text(body, "secret", required=False)
    secret = given or new_secret()
    with acting("node.add", target=prefix, prefix=_prefix_or_none(prefix), detail=text(body, "name")):
        made = await services.children.add(admin, prefix, name=text(body, "name"), secret=secret)
    return {"node": made.to_json()} | ({} if given else {"secret": secret})


async def list_child_nodes(services: Services) -> Json:
    return {"nodes": [child.to_json() for child in await services.children.all()]}


async def disable_child_node(services: Services, admin: Principal, prefix: str) -> Json:
    with acting("node.disable", target=prefix, prefix=_prefix_or_none(prefix)):
        return (await services.children.disable(admin, prefix)).to_json()
