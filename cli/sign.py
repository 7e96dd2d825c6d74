"""`idnode sign`: sign a record's values with the enterprise's key, through the SDK (an HS_SIGNATURE)."""

from __future__ import annotations

import click

from sdk import SigningKey

from .connection import connection, connection_options


@click.command()
@click.argument("handle")
@click.option(
    "--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False),
    help="The enterprise's RSA private key (PEM).",
)  # fmt: skip
@click.option("--issuer", help="How signatures name the key (default 301:0.NA/<the handle's prefix>).")
@click.option("--index", default=400, show_default=True, help="The index of the HS_SIGNATURE value.")
@connection_options
def sign(
    handle: str, key_file: str, issuer: str | None, index: int,
    node: str | None, user: str | None, secret: str | None, profile: str,
) -> None:  # fmt: skip
    """Sign what anyone may read of HANDLE with the enterprise's key (certified by the node with
    `idnode enterprise certify-key`); run it again after each change of the record."""
    named = issuer or f"301:0.NA/{handle.partition('/')[0]}"
    key = SigningKey.from_pem(key_file, issuer=named)
    with connection(node, user, secret, profile).client() as client:
        client.sign(handle, key, index=index)
    click.echo(f"{handle}: signed by {named} (HS_SIGNATURE at index {index})")
