"""The registry's services, wired together once for a node that has been set up.

A bundle, not a facade: every operation lives on the small service that owns it (`records` writes records,
`accounts` proves who is acting, `sessions` does so by public-key challenge–response, `enterprises`
onboards, `templates` keeps data templates, `reads` lists and counts, `signing` keeps the node's keys, `audit`
records who did what and answers who asks, `challenges` holds the native protocol's pending challenges and
`native_sessions` its sessions), and
they share one writer, one change feed and one clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .accounts import Accounts
from .audit import Audit
from .challenges import Challenges
from .changes import ChangeFeed
from .enterprise_ops import Enterprises
from .hierarchy import ChildNodes, Place, read_place
from .keys import NodeKeys
from .native_sessions import NativeSessions
from .node import NodeInfo, read_node
from .node_signing import NodeSigning
from .passwords import Passwords
from .reads import Reads
from .sessions import Sessions
from .store.engine import Store
from .template_ops import Templates
from .writer import Writer
from .writes import Records


@dataclass(frozen=True, slots=True)
class Services:
    store: Store
    node: NodeInfo
    feed: ChangeFeed
    writer: Writer
    records: Records
    reads: Reads
    accounts: Accounts
    enterprises: Enterprises
    templates: Templates
    sessions: Sessions
    signing: NodeSigning
    audit: Audit
    challenges: Challenges
    native_sessions: NativeSessions
    place: Place
    children: ChildNodes

    @classmethod
    async def open(
        cls,
        store: Store,
        *,
        passwords: Passwords | None = None,
        credential_key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Services:
        """The services of the node whose database `store` opens (`NodeNotInitialised` if there is none)."""
        node = await read_node(store)
        feed = ChangeFeed(store)
        audit = Audit(store, node, clock=clock)
        writer = Writer(store, node, feed, clock=clock, audit=audit)
        keys = NodeKeys(store, credential_key=credential_key)
        records = Records(writer, passwords or Passwords(), keys)
        reads = Reads(store, node)
        accounts = Accounts(records, keys)
        return cls(
            store, node, feed, writer, records, reads, accounts,
            Enterprises(records, accounts, reads), Templates(writer), Sessions(records, keys),
            NodeSigning(records, keys, clock=clock), audit, Challenges(store), NativeSessions(store, keys),
            await read_place(store, keys), ChildNodes(records),
        )  # fmt: skip
