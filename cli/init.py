"""`idnode init` and `idnode migrate`: create or upgrade the database and set the node up."""

from __future__ import annotations

import asyncio

import click

from .local import Parent, Settings, initialise, migrate, new_secret

ROLES = ("secondary", "top-level")


@click.command()
@click.option("--node-prefix", required=True, help="The node's prefix, e.g. 88.118.")
@click.option("--admin-secret", help="The node administrator's secret (a random one is printed if absent).")
@click.option(
    "--role", type=click.Choice(ROLES), help="secondary (the default): enterprise prefixes under the node's; "
    "top-level: allocates node prefixes to secondary nodes and receives their reports. Fixed once set."
)  # fmt: skip
@click.option("--parent", "parent_url", help="A secondary node's parent: its HTTP URL.")
@click.option("--parent-secret", help="The secret the parent gave this node (`idnode node add` there).")
def init(
    node_prefix: str,
    admin_secret: str | None,
    role: str | None,
    parent_url: str | None,
    parent_secret: str | None,
) -> None:
    """Create or migrate the database and set up the node, its administrator and its place in the hierarchy.

    Safe to run again: an initialised database is only migrated (and given the --parent named). The node
    tells handles apart by ASCII case only when IDNODE_CASE_SENSITIVE=yes (the Handle.Net server's default is
    no); that is fixed here.
    """
    if (parent_url is None) != (parent_secret is None):
        raise click.UsageError("--parent and --parent-secret go together")
    parent = None if parent_url is None or parent_secret is None else Parent(parent_url, parent_secret)
    settings = Settings.from_env()
    migrate(settings)
    secret = admin_secret or new_secret()
    result = asyncio.run(initialise(settings, node_prefix, secret, role=role, parent=parent))
    if not result.created:
        click.echo(f"node {result.node_prefix} already initialised; schema is up to date")
        return
    click.echo(f"node {result.node_prefix} initialised")
    click.echo(f"administrator: {result.admin}")
    if admin_secret is None:
        click.echo(f"secret:        {secret}   (shown once; keep it)")


@click.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""
    migrate(Settings.from_env())
    click.echo("schema is up to date")
