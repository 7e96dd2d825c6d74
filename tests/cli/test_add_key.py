"""`idnode enterprise add-key` on the node's own database, then a write signed with that key."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import ACME
from tests.keys import answer, private_key, write_keys
from tests.resolver.conftest import set_up_node
from tests.support import NodeProcess, cli


def test_add_key_then_a_write_signed_with_it(tmp_path: Path) -> None:
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{tmp_path}/idnode.db"}
    set_up_node(env)
    private = private_key("RSA")
    public, _ = write_keys(private, tmp_path)

    added = cli(["enterprise", "add-key", "--prefix", ACME, "--public-key", str(public)], env)

    node = NodeProcess(env).start(tmp_path)
    try:
        with httpx.Client(base_url=node.url, timeout=10) as http:
            opened = http.post("/api/sessions").json()
            signed = answer(opened["sessionId"], opened["nonce"], f"300:0.NA/{ACME}", private)
            body = [{"index": 2000, "type": "serialNo", "data": "SN-7"}]
            written = http.put(f"/api/handles/{ACME}/SIGNED", json=body, headers={"Authorization": signed})
            by_secret = http.put(
                f"/api/handles/{ACME}/BASIC", json=body, auth=(f"300%3A0.NA/{ACME}", "acme-secret")
            )
    finally:
        node.stop()
    assert added.stdout.splitlines()[0].startswith("administrator: 300:0.NA/88.999.1")
    assert "replaced the secret" in added.stdout
    assert written.status_code == 201, written.text
    assert by_secret.status_code == 401  # index 300 holds the key now


def test_add_key_refuses_what_is_not_a_public_key_in_one_line(tmp_path: Path) -> None:
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{tmp_path}/idnode.db"}
    set_up_node(env)
    public, private_file = write_keys(private_key("Ed25519"), tmp_path)

    not_public = cli(
        ["enterprise", "add-key", "--prefix", ACME, "--public-key", str(private_file)], env, check=False
    )
    no_such = cli(
        ["enterprise", "add-key", "--prefix", "88.999.77", "--public-key", str(public)], env, check=False
    )

    assert not_public.returncode == 2
    assert not_public.stderr.strip() == "idnode: the file is not a PEM or DER public key"
    assert no_such.returncode == 2
    assert "Traceback" not in not_public.stderr + no_such.stderr
