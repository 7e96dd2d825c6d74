"""`idnode enterprise …`: onboard enterprises and give them prefixes and users — on the local database, or
through a running node's administration API with `--node`."""

from __future__ import annotations

from typing import Any

import click

from registry import EnterpriseInput, add_enterprise, add_prefix, new_secret, node_admin
from registry.accounts import DISABLED, add_user, set_enterprise_status
from registry.enterprises import find_enterprise, list_enterprises

from .admin_client import AdminClient, node_options
from .common import local_registry, run


def _show(item: dict[str, Any]) -> None:
    prefixes = ",".join(item["prefixes"])
    click.echo(f"{item['id']}\t{item['creditCode']}\t{prefixes}\t{item['status']}\t{item['name']}")


def _remote(node: str | None, admin: str | None, secret: str | None) -> AdminClient | None:
    return AdminClient(node, admin, secret) if node else None


@click.group()
def enterprise() -> None:
    """Manage the enterprises of the node."""


@enterprise.command("add")
@click.option("--prefix", help="The enterprise's prefix under the node's (default: the next free one).")
@click.option("--name", required=True, help="The enterprise's registered name.")
@click.option("--credit-code", required=True, help="Unified social credit code (18 characters).")
@click.option("--industry", default="", help="GB/T 4754 industry code, e.g. C3670.")
@click.option("--contact", default="", help="A contact person, e-mail or telephone.")
@click.option("--secret", help="The enterprise administrator's secret (a random one is printed if absent).")
@node_options
def add(
    prefix: str | None, name: str, credit_code: str, industry: str, contact: str, secret: str | None,
    node: str | None, admin: str | None, admin_secret: str | None,
) -> None:  # fmt: skip
    """Create an enterprise, its prefix handle 0.NA/PREFIX and its administrator 300:0.NA/PREFIX."""
    chosen = secret or new_secret()
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        body = {"name": name, "creditCode": credit_code, "industry": industry, "contact": contact}
        made = remote.call("POST", "/enterprises", body | {"prefix": prefix or "", "secret": chosen})[
            "enterprise"
        ]
    else:
        if not prefix:
            raise click.UsageError("--prefix is needed on the local database")

        async def create() -> dict[str, Any]:
            async with local_registry() as registry:
                details = EnterpriseInput(name, credit_code, industry, contact)
                return (await add_enterprise(registry, details, prefix=prefix, secret=chosen)).to_json()

        made = run(create())
    click.echo(
        f"enterprise {made['id']} {made['name']} ({made['creditCode']}) owns {', '.join(made['prefixes'])}"
    )
    click.echo(f"administrator: 300:0.NA/{made['prefixes'][0]}   (SNMS user name: {made['prefixes'][0]})")
    if secret is None:
        click.echo(f"secret:        {chosen}   (shown once; keep it)")


@enterprise.command("add-prefix")
@click.option("--owner", required=True, help="A prefix the enterprise owns already.")
@click.option("--prefix", help="The further prefix to allocate (default on a node: the next free one).")
@node_options
def add_prefix_command(
    owner: str, prefix: str | None, node: str | None, admin: str | None, admin_secret: str | None
) -> None:
    """Allocate a further prefix to an enterprise, administered like its first one."""
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        made = remote.call("POST", f"/enterprises/{owner}/prefixes", {"prefix": prefix or ""})
    else:
        if not prefix:
            raise click.UsageError("--prefix is needed on the local database")

        async def allocate() -> dict[str, Any]:
            async with local_registry() as registry:
                return (await add_prefix(registry, owner_prefix=owner, prefix=prefix)).to_json()

        made = run(allocate())
    click.echo(f"enterprise {made['id']} {made['name']} owns {', '.join(made['prefixes'])}")


@enterprise.command("list")
@node_options
def list_command(node: str | None, admin: str | None, admin_secret: str | None) -> None:
    """List the enterprises and their prefixes."""
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        found = remote.call("GET", "/enterprises")["enterprises"]
    else:

        async def read() -> list[dict[str, Any]]:
            async with local_registry() as registry, registry.store.reader.connect() as conn:
                return [e.to_json() for e in await list_enterprises(conn)]

        found = run(read())
    for item in found:
        _show(item)


@enterprise.command("show")
@click.argument("prefix")
@node_options
def show(prefix: str, node: str | None, admin: str | None, admin_secret: str | None) -> None:
    """Show the enterprise owning PREFIX: its details, prefixes and (through a node) its SNMS users."""
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        found = remote.call("GET", f"/enterprises/{prefix}")
    else:

        async def read() -> dict[str, Any]:
            async with local_registry() as registry, registry.store.reader.connect() as conn:
                made = await find_enterprise(conn, prefix.upper())
                if made is None:
                    raise click.ClickException(f"no enterprise owns {prefix}")
                return made.to_json()

        found = run(read())
    for key in ("id", "name", "creditCode", "industry", "contact", "status"):
        click.echo(f"{key:<11}{found[key]}")
    click.echo(f"{'prefixes':<11}{', '.join(found['prefixes'])}")
    for user in found.get("users", []):
        click.echo(f"{'user':<11}{user['username']} ({user['status']})")


@enterprise.command("disable")
@click.argument("prefix")
@node_options
def disable(prefix: str, node: str | None, admin: str | None, admin_secret: str | None) -> None:
    """Disable the enterprise owning PREFIX: its administrator and users can no longer log in."""
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        remote.call("POST", f"/enterprises/{prefix}/disable")
    else:

        async def switch_off() -> None:
            async with local_registry() as registry:
                await set_enterprise_status(registry, await node_admin(registry), prefix, DISABLED)

        run(switch_off())
    click.echo(f"the enterprise owning {prefix} is disabled")


@enterprise.command("add-user")
@click.argument("prefix")
@click.option("--username", required=True)
@click.option("--password", required=True, prompt=True, hide_input=True)
@node_options
def add_user_command(
    prefix: str, username: str, password: str, node: str | None, admin: str | None, admin_secret: str | None
) -> None:
    """Create an SNMS user of the enterprise owning PREFIX (it acts with the administrator's rights)."""
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        remote.call("POST", f"/enterprises/{prefix}/users", {"username": username, "password": password})
    else:

        async def create() -> None:
            async with local_registry() as registry:
                principal = await node_admin(registry)
                await add_user(registry, principal, prefix=prefix, username=username, password=password)

        run(create())
    click.echo(f"user {username} of {prefix} created")
