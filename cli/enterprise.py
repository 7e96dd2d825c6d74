"""`idnode enterprise …`: onboard enterprises and give them prefixes and users — on the local database, or
through a running node's administration API with `--node`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, BinaryIO

import click

from .admin_client import AdminClient, node_options
from .local import on_database


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
    chosen = secret or secrets.token_urlsafe(18)
    body = {"name": name, "creditCode": credit_code, "industry": industry, "contact": contact}
    body |= {"prefix": prefix or "", "secret": chosen}
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        made = remote.call("POST", "/enterprises", body)["enterprise"]
    else:
        if not prefix:
            raise click.UsageError("--prefix is needed on the local database")
        made = on_database(lambda operator: operator.create_enterprise(body))["enterprise"]
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
        made = on_database(lambda operator: operator.allocate_prefix(owner, {"prefix": prefix}))
    click.echo(f"enterprise {made['id']} {made['name']} owns {', '.join(made['prefixes'])}")


@enterprise.command("list")
@node_options
def list_command(node: str | None, admin: str | None, admin_secret: str | None) -> None:
    """List the enterprises and their prefixes."""
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        found = remote.call("GET", "/enterprises")["enterprises"]
    else:
        found = on_database(lambda operator: operator.enterprises())
    for item in found:
        _show(item)


@enterprise.command("show")
@click.argument("prefix")
@node_options
def show(prefix: str, node: str | None, admin: str | None, admin_secret: str | None) -> None:
    """Show the enterprise owning PREFIX: its details, prefixes and SNMS users."""
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        found = remote.call("GET", f"/enterprises/{prefix}")
    else:
        found = on_database(lambda operator: operator.enterprise(prefix))
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
        on_database(lambda operator: operator.disable(prefix))
    click.echo(f"the enterprise owning {prefix} is disabled")


@enterprise.command("add-key")
@click.option("--prefix", required=True, help="The enterprise's prefix: the key goes on 0.NA/PREFIX.")
@click.option(
    "--public-key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A PEM file of an RSA, DSA or Ed25519 public key (openssl pkey -pubout).",
)
@click.option(
    "--index",
    default=300,
    show_default=True,
    type=click.IntRange(1, 2**31 - 1),
    help="Where the HS_PUBKEY value goes; 300 replaces the secret key.",
)
@node_options
def add_key_command(
    prefix: str, key_file: Path, index: int, node: str | None, admin: str | None, admin_secret: str | None
) -> None:
    """Give the enterprise owning PREFIX an administrator that proves itself with a private key: an
    HS_PUBKEY value at INDEX of its prefix handle (Authorization: Handle challenge–response)."""
    try:
        body = {"publicKey": key_file.read_bytes().decode("ascii"), "index": index}
    except UnicodeDecodeError:
        raise click.UsageError(f"{key_file} is not a PEM file") from None
    remote = _remote(node, admin, admin_secret)
    if remote is not None:
        made = remote.call("PUT", f"/enterprises/{prefix}/key", body)
    else:
        made = on_database(lambda operator: operator.add_key(prefix, body))
    click.echo(f"administrator: {made['administrator']}   (signs challenges with the private key)")
    if index == 300:
        click.echo(f"the key replaced the secret: Basic authentication as {made['administrator']} stops")


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
    account = {"username": username, "password": password}
    if remote is not None:
        remote.call("POST", f"/enterprises/{prefix}/users", account)
    else:
        on_database(lambda operator: operator.create_user(prefix, account))
    click.echo(f"user {username} of {prefix} created")


@enterprise.command("certify-key")
@click.option("--prefix", required=True, help="The enterprise's prefix.")
@click.option(
    "--key", "key_file", required=True, type=click.File("rb"), help="Its public key: JWK or RSA PEM."
)
@click.option(
    "--index", default=301, show_default=True, help="The index its key is named by (INDEX:0.NA/PREFIX)."
)
def certify_key(prefix: str, key_file: BinaryIO, index: int) -> None:
    """Vouch with the node's key for an enterprise's signing key (an HS_CERT in 0.NA/PREFIX), so that the
    HS_SIGNATURE values it makes verify (on the local database)."""
    raw = key_file.read()
    done = on_database(lambda operator: operator.certify_key(prefix, raw, index))
    click.echo(f"certified key {done['kid']} as {done['subject']} (HS_CERT at index {done['index']})")
