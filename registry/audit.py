"""The audit trail: every write, refusal, authentication failure, throttling and administrative act — who,
what, when, from where, with what outcome; never a secret.

- Writes are recorded by the writer (`writer.py`) in their own transaction, so a row exists exactly when the
  change committed: one row per kind of change and prefix, so a batch of thousands is one row with its count
  and its first keys. Writes refused or failed inside a transaction are recorded after the rollback, in a
  short transaction of their own.
- What a write is called comes from its journal entries (`handle.create`, `user.disable`, `template.update`…)
  unless the code making it names the act (`acting("enterprise.create", …)`), as the administrative acts do.
- Where a request came from is not passed down through every call: the front end sets `source` for the
  request it serves (the peer address), the operator's local commands set it to `local:<OS user>`.
- Whoever sees an authentication failure or a throttled client calls `Audit.record`.

An enterprise reads the events concerning its own prefixes (and those derived from them); the node
administrator reads everything.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .enterprises import find_enterprise
from .errors import AuthenticationFailed, InvalidInput, PermissionDenied, RegistryError
from .handle import is_under, normalise_prefix
from .node import NodeInfo
from .principals import Principal
from .store import audit_log
from .store.audit_log import Filters, Row
from .store.engine import Store

log = logging.getLogger("idnode.audit")

OK, DENIED, FAILED, THROTTLED = "ok", "denied", "failed", "throttled"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1_000
FIRST_KEYS = 5  # the keys a row of many names; its count says how many there were
_LIMITS = {
    "action": 64,
    "outcome": 16,
    "actor": 320,
    "source": 255,
    "prefix": 64,
    "target": 2_000,
    "detail": 2_000,
}
_STATUS_ACTS = {"active": "enable", "disabled": "disable"}
_NAMED_KINDS = ("user", "enterprise", "template")

# Where the request being served came from: set by the front end (peer address) or the local commands.
source: ContextVar[str] = ContextVar("idnode_audit_source", default="")


@dataclass(frozen=True, slots=True)
class Act:
    """What the writes made inside `acting(…)` are called in the audit."""

    action: str
    target: str = ""
    prefix: str | None = None
    detail: str = ""


_act: ContextVar[Act | None] = ContextVar("idnode_audit_act", default=None)


@contextmanager
def acting(action: str, *, target: str = "", prefix: str | None = None, detail: str = "") -> Iterator[None]:
    """Name the writes made inside as one act (`enterprise.create`), refused or not."""
    token = _act.set(Act(action, target, prefix, detail))
    try:
        yield
    finally:
        _act.reset(token)


def current_act() -> Act | None:
    return _act.get()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: datetime
    action: str
    outcome: str
    actor: str | None
    source: str
    target: str
    prefix: str | None
    count: int
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "action": self.action,
            "outcome": self.outcome,
            "actor": self.actor,
            "source": self.source,
            "target": self.target,
            "prefix": self.prefix,
            "count": self.count,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Events, newest first, and the cursor of the page after them (None: there is none)."""

    events: list[AuditEvent]
    next: str | None

    def to_json(self) -> dict[str, Any]:
        return {"events": [e.to_json() for e in self.events], "next": self.next}


def _clean(text: str, limit: int) -> str:
    """`text` cut to `limit`, control characters escaped (no forged lines in whatever shows it)."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text[:limit]


def governing_prefix(name: str) -> str | None:
    """The prefix a handle (or its key) belongs to: `88.118.8` for `88.118.8/P-1` and `0.NA/88.118.8`."""
    prefix, slash, suffix = name.partition("/")
    if not slash:
        return None
    return suffix.upper() if prefix.upper() == "0.NA" else prefix.upper()


def _named(key: str, op: str) -> tuple[str, str, str | None]:
    """A journal entry as the audit names it: its action, target and prefix."""
    kind, colon, rest = key.partition(":")
    if colon and kind in _NAMED_KINDS:
        prefix = (rest.rpartition("/")[0] or None) if kind == "template" else None
        return f"{kind}.{_STATUS_ACTS.get(op, op)}", rest, prefix
    return f"handle.{op}", key, governing_prefix(key)


def _first(names: Sequence[str]) -> str:
    shown = ", ".join(names[:FIRST_KEYS])
    return shown + (", …" if len(names) > FIRST_KEYS else "")


def outcome_of(error: RegistryError) -> str:
    return DENIED if isinstance(error, PermissionDenied | AuthenticationFailed) else FAILED


# The times the audit is asked about, as a regular expression ECMA-262 (the OpenAPI document) and Python
# read alike: so long ago (`30m`, `12h`, `7d`), or a date or an instant from 1970 (days to the 28th: every
# month has them), in UTC unless an offset is given.
TIME_FORM = (
    "(?:[0-9]{1,5}[smhd]"
    "|(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9])?)?)"
)
_TIME = re.compile(TIME_FORM)
CURSOR_FORM = "[1-9][0-9]{0,17}"
_CURSOR = re.compile(CURSOR_FORM)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, now: datetime) -> datetime:
    """`2026-12-01`, `2026-12-01T08:00:00Z` (UTC unless an offset is given), or a time ago: `30m`, `12h`,
    `7d` (`TIME_FORM`); else `InvalidInput`."""
    if not _TIME.fullmatch(text):
        raise InvalidInput(f"{text!r} is not a time: 2026-12-01, 2026-12-01T08:00:00Z, 30m, 12h or 7d")
    if text[-1] in _UNITS:
        return now - timedelta(**{_UNITS[text[-1]]: int(text[:-1])})
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Audit:
    """Records events and answers queries of them; `clock` (epoch seconds) is replaceable for tests.

    `record` opens a transaction of its own: call it outside any write transaction (on SQLite a process has
    one writer connection)."""

    def __init__(self, store: Store, node: NodeInfo, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._node = node
        self._clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(int(self._clock()), UTC)

    def row(
        self,
        action: str,
        *,
        outcome: str,
        actor: str | None,
        target: str = "",
        prefix: str | None = None,
        detail: str = "",
        count: int = 1,
        at: datetime | None = None,
    ) -> Row:
        """An audit row as the table takes it, from where the current request came."""
        fields = {"action": action, "outcome": outcome, "source": source.get(), "target": target,
                  "detail": detail, "actor": actor, "prefix": prefix}  # fmt: skip
        row: Row = {k: v if v is None else _clean(v, _LIMITS[k]) for k, v in fields.items()}
        return row | {"at": at or self.now(), "count": count}

    async def record(
        self,
        action: str,
        *,
        outcome: str,
        actor: str | None = None,
        target: str = "",
        prefix: str | None = None,
        detail: str = "",
    ) -> None:
        """Record one event (never pass a secret in any field). A database that cannot take it is logged, not
        raised: the audit does not turn a refusal into a server error."""
        row = self.row(action, outcome=outcome, actor=actor, target=target, prefix=prefix, detail=detail)
        await self._append([row])

    async def _append(self, rows: Sequence[Row]) -> None:
        try:
            async with self._store.writer.begin() as conn:
                await audit_log.append(conn, rows)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("audit: %d event(s) not recorded (%s): %s", len(rows), exc, rows)

    # -- what the writer records -------------------------------------------------------------------------

    def write_rows(
        self,
        changes: Sequence[tuple[str, str]],
        refused: Sequence[tuple[str, RegistryError]],
        *,
        actor: str,
        at: datetime,
        act: Act | None,
    ) -> list[Row]:
        """The rows of a committed write transaction: its changes (one row per action and prefix, or one
        row for a named act) and the items of a batch it refused (one row per outcome and prefix)."""
        return [
            self.row(
                action,
                outcome=outcome,
                actor=actor,
                target=target,
                prefix=prefix,
                detail=detail,
                count=count,
                at=at,
            )
            for action, outcome, target, prefix, detail, count in [
                *_changed(changes, act),
                *_refused(refused, act),
            ]
        ]

    async def refusal(self, error: RegistryError, *, actor: str, act: Act | None) -> None:
        """Record a write refused (or failed) inside its transaction, once that has rolled back."""
        named = act or Act("handle.write" if error.handle else "write")
        target = named.target or error.handle or ""
        prefix = named.prefix or (governing_prefix(error.handle) if error.handle else None)
        await self.record(named.action, outcome=outcome_of(error), actor=actor, target=target, prefix=prefix,
                          detail=error.message)  # fmt: skip

    # -- reading it back ---------------------------------------------------------------------------------

    async def scope_of(self, principal: Principal) -> tuple[str, ...] | None:
        """The prefixes whose events `principal` may read: None (all) for the node administrator, its own for
        an enterprise administrator; anyone else may read none."""
        if principal.handle == self._node.admin.handle:
            return None
        if principal.handle.is_prefix_handle:
            async with self._store.reader.connect() as conn:
                owner = await find_enterprise(conn, principal.handle.suffix)
            if owner is not None:
                return owner.prefixes
        raise PermissionDenied(f"{principal} administers no enterprise of this node")

    async def query(
        self,
        *,
        scope: Sequence[str] | None = None,
        prefix: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> AuditPage:
        """Events newest first, kept by the filters and within `scope` (the prefixes the asker may see; None:
        all); `prefix` keeps those of the prefix and the prefixes derived from it."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit is from 1 to {MAX_LIMIT}")
        if prefix is not None:
            prefix = normalise_prefix(prefix)
            if scope is not None and not any(is_under(prefix, mine) for mine in scope):
                raise PermissionDenied(f"the events of {prefix} are not yours to read")
        filters = Filters(
            tuple(scope) if scope is not None else None, prefix, actor, action, outcome, since, until,
            _cursor(cursor),
        )  # fmt: skip
        async with self._store.reader.connect() as conn:
            rows = await audit_log.newest(conn, filters, limit + 1)
        events = [AuditEvent(**row) for row in rows[:limit]]
        return AuditPage(events, str(events[-1].id) if len(rows) > limit else None)

    async def prune(self, days: int) -> int:
        """Delete the events older than `days` days; how many went."""
        async with self._store.writer.begin() as conn:
            return await audit_log.prune(conn, self.now() - timedelta(days=days))


# An event of a write transaction: action, outcome, target, prefix, detail, count.
_Event = tuple[str, str, str, str | None, str, int]


def _changed(changes: Sequence[tuple[str, str]], act: Act | None) -> list[_Event]:
    if not changes:
        return []
    named = [_named(key, op) for key, op in changes]
    if act is not None:
        prefix = act.prefix or _only(prefix for _, _, prefix in named)
        target = act.target or _first([target for _, target, _ in named])
        return [(act.action, OK, target, prefix, act.detail, len(changes))]
    groups: dict[tuple[str, str | None], list[str]] = {}
    for action, target, prefix in named:
        groups.setdefault((action, prefix), []).append(target)
    return [
        (action, OK, _first(targets), prefix, "", len(targets))
        for (action, prefix), targets in groups.items()
    ]


def _refused(refused: Sequence[tuple[str, RegistryError]], act: Act | None) -> list[_Event]:
    groups: dict[tuple[str, str | None], list[tuple[str, RegistryError]]] = {}
    for name, error in refused:
        groups.setdefault((outcome_of(error), governing_prefix(name)), []).append((name, error))
    action = act.action if act is not None else "handle.write"
    return [
        (action, outcome, _first([name for name, _ in items]), prefix, items[0][1].message, len(items))
        for (outcome, prefix), items in groups.items()
    ]


def _only(prefixes: Iterable[str | None]) -> str | None:
    found = set(prefixes)
    return found.pop() if len(found) == 1 else None


def _cursor(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not _CURSOR.fullmatch(text):
        raise InvalidInput(f"{text!r} is not a cursor this node gave out")
    return int(text)
