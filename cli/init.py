"""`idnode init` and `idnode migrate`: create or upgrade the database and set the node up."""

from __future__ import annotations

import click

from registry import init_node, new_secret
from registry.store.migrate import upgrade
from resolver import Settings

from .common import local_registry, run


@click.command()
@click.option("--node-prefix", required=True, help="The node's prefix, e.g. 88.118.")
@click.option("--admin-secret", help="The node administrator's secret (a random one is printed if absent).")
def init(node_prefix: str, admin_secret: str | None) -> None:
    """Create or migrate the database and set up the node and its administrator.

    Safe to run again: an initialised database is only migrated.
    """
    settings = Settings.from_env()
    upgrade(settings.database_url)
    secret = admin_secret or new_secret()

    async def setup() -> None:
        async with local_registry(settings) as registry:
            result = await init_node(registry, node_prefix, secret)
        if not result.created:
            click.echo(f"node {result.node_prefix} already initialised; schema is up to date")
            return
        click.echo(f"node {result.node_prefix} initialised")
        click.echo(f"administrator: {result.admin}")
        if admin_secret is None:
            click.echo(f"secret:        {secret}   (shown once; keep it)")

    run(setup())


@click.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    upgrade(Settings.from_env().database_url)
    click.echo("schema is up to date")
