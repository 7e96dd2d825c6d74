"""`idnode report …`: reporting upward, on the node's database.

On a top-level node, `list` shows the reports its secondary nodes sent (each once, however often it came),
`--node` and `--kind` narrowing them. On a secondary node, `flush` puts everything due now into the outbox —
the changes not reported yet, every enterprise and template, the identifiers, statistics and monitoring of
today so far — and sends the outbox to the parent; a parent that does not take them leaves them queued, for
the running node to send later (exit status 1).
"""

from __future__ import annotations

import json
import sys

import click

from .local import Operator, on_database

KINDS = ("config", "enterprises", "templates", "identifiers", "statistics", "monitoring", "events")


@click.group()
def report() -> None:
    """Reports to the parent (secondary) and from the secondary nodes (top-level)."""


@report.command("list")
@click.option("--node", help="Only this secondary node's reports, e.g. 88.901.")
@click.option("--kind", type=click.Choice(KINDS), help="Only reports of this kind.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, with the report's body.")
def list_reports(node: str | None, kind: str | None, as_json: bool) -> None:
    """The reports received from secondary nodes, oldest first (top-level nodes only)."""

    async def every(operator: Operator) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        after: str | None = None
        while True:
            page = await operator.reports(node=node, kind=kind, after=after)
            found += page["reports"]
            if page["next"] is None:
                return found
            after = str(page["next"])

    for shown in on_database(every):
        if as_json:
            click.echo(json.dumps(shown, ensure_ascii=False, sort_keys=True))
        else:
            click.echo(
                f"{shown['id']}\t{shown['node']}\t{shown['kind']}\t{shown['reportId']}\t{shown['received']}"
            )


@report.command("flush")
def flush() -> None:
    """Queue everything due now and send it to the parent (secondary nodes only)."""
    done = on_database(lambda operator: operator.flush_reports())
    click.echo(f"{done['queued']} reports queued, {done['sent']} sent, {done['remaining']} remaining")
    if done["failure"]:
        click.echo(f"idnode: not sent: {done['failure']}; the reports stay queued", err=True)
        sys.exit(1)
