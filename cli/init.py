"""`idnode init` and `idnode migrate`: create or upgrade the database and set the node up."""

from __future__ import annotations

import asyncio

import click

from .local import Settings, initialise, migrate, new_secret


@click.command()
@click.option("--node-prefix", required=True, help="The node's prefix, e.g. 88.118.")
@click.option("--admin-secret", help="The node administrator's secret (a random one is printed if absent).")
def init(node_prefix: str, admin_secret: str | None) -> None:
    """Create or migrate the database and set up the node and its administrator.

    Safe to run again: an initialised database is only migrated. The node tells handles apart by ASCII case
    only when IDNODE_CASE_SENSITIVE=yes (the Handle.Net server's default is no); that is fixed here.
    """
    settings = Settings.from_env()
    migrate(settings)
    secret = admin_secret or new_secret()
    result = asyncio.run(initialise(settings, node_prefix, secret))
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
