"""`idnode audit`: who did what, when and from where — through a node (`--node`, or a profile) with the node
administrator's credentials (everything) or an enterprise administrator's (its own prefixes), or on the local
database (everything)."""

from __future__ import annotations

from typing import Any

import click

from .admin_client import AdminClient
from .connection import configured, connection_options
from .local import on_database

COLUMNS = ("at", "outcome", "action", "actor", "source", "prefix", "target", "count", "detail")


def _line(event: dict[str, Any]) -> str:
    return "\t".join("" if event[c] is None else str(event[c]) for c in COLUMNS)


@click.command("audit")
@click.option("--prefix", help="Events of this prefix and those derived from it.")
@click.option("--actor", help="Events of this principal (and its SNMS users), e.g. 300:0.NA/88.118.8.")
@click.option("--action", help="An action (handle.create) or a family of them (handle, enterprise, user…).")
@click.option("--outcome", type=click.Choice(["ok", "denied", "failed", "throttled"]))
@click.option("--since", help="At or after: 2026-12-01, 2026-12-01T08:00:00Z (UTC), or ago: 30m, 12h, 7d.")
@click.option("--until", help="Before: a time as for --since.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor", help="Where the page before stopped (printed after it).")
@connection_options
def audit(
    prefix: str | None, actor: str | None, action: str | None, outcome: str | None, since: str | None,
    until: str | None, limit: int, cursor: str | None, node: str | None, user: str | None,
    secret: str | None, profile: str,
) -> None:  # fmt: skip
    """Print audit events, newest first, one a line: at, outcome, action, actor, source, prefix, target,
    count, detail (tab-separated)."""
    filters = {"prefix": prefix, "actor": actor, "action": action, "outcome": outcome, "since": since,
               "until": until, "cursor": cursor, "limit": str(limit)}  # fmt: skip
    remote = configured(node, user, secret, profile)
    if remote is not None:
        if not remote.user or not remote.secret:
            raise click.UsageError(
                "a node needs --user and --secret (or IDNODE_USER, IDNODE_SECRET, a profile)"
            )
        client = AdminClient(remote.node, remote.user, remote.secret)
        try:
            page = client.call("GET", "/audit", params={k: v for k, v in filters.items() if v is not None})
        finally:
            client.close()
    else:
        page = on_database(lambda operator: operator.audit(filters))
    for event in page["events"]:
        click.echo(_line(event))
    if page["next"]:
        click.echo(f"more: add --cursor {page['next']}", err=True)
