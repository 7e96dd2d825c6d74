"""`idnode enterprise …`: onboard enterprises and give them prefixes (on the local database)."""

from __future__ import annotations

import click

from registry import EnterpriseInput, add_enterprise, add_prefix, new_secret
from registry.enterprises import list_enterprises

from .common import local_registry, run


@click.group()
def enterprise() -> None:
    """Manage the enterprises of the node."""


@enterprise.command("add")
@click.option("--prefix", required=True, help="The enterprise's prefix under the node's, e.g. 88.118.8.")
@click.option("--name", required=True, help="The enterprise's registered name.")
@click.option("--credit-code", required=True, help="Unified social credit code (18 characters).")
@click.option("--industry", default="", help="GB/T 4754 industry code, e.g. C3670.")
@click.option("--contact", default="", help="A contact person, e-mail or telephone.")
@click.option("--secret", help="The enterprise administrator's secret (a random one is printed if absent).")
def add(prefix: str, name: str, credit_code: str, industry: str, contact: str, secret: str | None) -> None:
    """Create an enterprise, its prefix handle 0.NA/PREFIX and its administrator 300:0.NA/PREFIX."""
    chosen = secret or new_secret()

    async def create() -> None:
        async with local_registry() as registry:
            details = EnterpriseInput(name, credit_code, industry, contact)
            made = await add_enterprise(registry, details, prefix=prefix, secret=chosen)
        click.echo(f"enterprise {made.id} {made.name} ({made.credit_code}) owns {', '.join(made.prefixes)}")
        click.echo(f"administrator: 300:0.NA/{made.prefixes[0]}")
        if secret is None:
            click.echo(f"secret:        {chosen}   (shown once; keep it)")

    run(create())


@enterprise.command("add-prefix")
@click.option("--owner", required=True, help="A prefix the enterprise owns already.")
@click.option("--prefix", required=True, help="The further prefix to allocate to it.")
def add_prefix_command(owner: str, prefix: str) -> None:
    """Allocate a further prefix to an enterprise, administered like its first one."""

    async def allocate() -> None:
        async with local_registry() as registry:
            made = await add_prefix(registry, owner_prefix=owner, prefix=prefix)
        click.echo(f"enterprise {made.id} {made.name} owns {', '.join(made.prefixes)}")

    run(allocate())


@enterprise.command("list")
def list_command() -> None:
    """List the enterprises and their prefixes."""

    async def show() -> None:
        async with local_registry() as registry, registry.store.reader.connect() as conn:
            found = await list_enterprises(conn)
        for item in found:
            click.echo(
                f"{item.id}\t{item.credit_code}\t{','.join(item.prefixes)}\t{item.status}\t{item.name}"
            )

    run(show())
