"""The SDK with a private key file against a real node: it answers the node's challenge, keeps the session,
and writes over Handle REST; the key was put on the enterprise by `idnode enterprise add-key --node`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sdk import AsyncNodeClient, AuthenticationError, HandleValue, NodeClient, Retries
from tests.conftest import ACME_SECRET, ADMIN_SECRET
from tests.keys import private_key, write_keys
from tests.resolver.conftest import set_up_node
from tests.support import NodeProcess, cli

PREFIX = "88.999.1"
QUICK = Retries(attempts=2, base=0.01, cap=0.02)
COIL = {"heatNo": "H26001", "coilNo": "C0001", "grade": "Q355B", "thicknessMm": "3.75"}


@dataclass
class KeyedNode:
    url: str
    ed25519_key: Path  # the private key of 301:0.NA/88.999.1
    rsa_key: Path  # of 302, encrypted with b"pass phrase"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedNode]:
    folder = tmp_path_factory.mktemp("keyed")
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{folder}/idnode.db"}
    set_up_node(env)
    cli(["template", "load", "steel-coil", "--prefix", PREFIX], env)
    node = NodeProcess(env).start(folder)
    remote = {"IDNODE_NODE": node.url, "IDNODE_ADMIN": "300:0.NA/88.999", "IDNODE_ADMIN_SECRET": ADMIN_SECRET}
    files = {}
    try:
        for kind, index, password in (("Ed25519", 301, None), ("RSA", 302, b"pass phrase")):
            kind_folder = folder / kind
            kind_folder.mkdir()
            public, private = write_keys(private_key(kind), kind_folder, password=password)
            args = [
                "enterprise",
                "add-key",
                "--prefix",
                PREFIX,
                "--public-key",
                str(public),
                "--index",
                str(index),
            ]
            cli(args, env | remote)
            files[kind] = private
        yield KeyedNode(node.url, files["Ed25519"], files["RSA"])
    finally:
        node.stop()


def test_a_client_with_a_key_file_registers_updates_links_and_deletes(keyed: KeyedNode) -> None:
    values = [HandleValue(2000, "serialNo", "SN-1"), HandleValue(1, "URL", "https://mes.example.com/1")]
    with NodeClient(
        keyed.url, username=f"0.NA/{PREFIX}", key_index=301, private_key=keyed.ed25519_key, retries=QUICK
    ) as mes:
        made = mes.register(f"{PREFIX}/KEYED-1", values)
        again = mes.register(f"{PREFIX}/KEYED-1", values)
        changed = mes.update(f"{PREFIX}/KEYED-1", [HandleValue(2001, "batchNo", "B7")])
        mes.register(f"{PREFIX}/KEYED-PARENT", [HandleValue(1, "URL", "https://mes.example.com/p")])
        linked = mes.link(f"{PREFIX}/KEYED-PARENT", f"{PREFIX}/KEYED-1")  # a link names a record that exists
        record = mes.resolve(f"{PREFIX}/KEYED-1")
        counted = mes.count(PREFIX)
        gone = mes.delete(f"{PREFIX}/KEYED-1")
        after = mes.resolve(f"{PREFIX}/KEYED-1")

    assert [made.status, again.status, changed.status, linked.status, gone.status] == [
        "created", "existed", "updated", "linked", "deleted",
    ]  # fmt: skip
    assert record is not None
    assert record.as_dict() == {
        "URL": "https://mes.example.com/1",
        "batchNo": "B7",
        "LINK.partOf": f"{PREFIX}/KEYED-PARENT",
    }
    assert counted >= 1
    assert after is None


class Recording(httpx.HTTPTransport):
    """A real transport that notes what it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        return super().handle_request(request)


def test_the_session_is_opened_once_and_kept_across_calls(keyed: KeyedNode) -> None:
    wire = Recording()
    with NodeClient(
        keyed.url, username=f"301:0.NA/{PREFIX}", private_key=keyed.ed25519_key, transport=wire
    ) as mes:
        for n in range(3):
            mes.register(f"{PREFIX}/SESSION-{n}", [HandleValue(2000, "serialNo", f"S{n}")])

    assert wire.seen.count("POST /api/sessions") == 1
    assert wire.seen.count("PUT /api/sessions/this") == 1
    assert wire.seen.count("PUT /api/handles/88.999.1/SESSION-2") == 1


async def test_the_async_client_with_an_encrypted_key_and_a_template_registers_a_batch(
    keyed: KeyedNode,
) -> None:
    client = AsyncNodeClient(
        keyed.url,
        username=f"302:0.NA/{PREFIX}",
        secret=ACME_SECRET,  # to read the template's indexes over SNMS
        private_key=keyed.rsa_key,
        key_password="pass phrase",
        retries=QUICK,
    )
    try:
        batch = await client.register_many(
            ((f"{PREFIX}/COIL-K{n}", COIL | {"coilNo": f"C{n}"}) for n in range(5)), template_version="1.0"
        )
        record = await client.resolve(f"{PREFIX}/COIL-K3")
    finally:
        await client.aclose()

    assert batch.count("created") == 5
    assert record is not None
    assert record.template_version == "1.0"
    assert record.get("coilNo") == "C3"


def test_a_key_the_node_does_not_hold_is_refused(keyed: KeyedNode, tmp_path: Path) -> None:
    _, stranger = write_keys(private_key("Ed25519", 7), tmp_path)
    with NodeClient(keyed.url, username=f"301:0.NA/{PREFIX}", private_key=stranger, retries=QUICK) as mes:
        with pytest.raises(AuthenticationError):
            mes.register(f"{PREFIX}/STRANGER", [HandleValue(2000, "serialNo", "X")])
        with pytest.raises(AuthenticationError, match="SNMS"):
            mes.register(f"{PREFIX}/STRANGER", COIL, template_version="1.0")  # no secret for the template
    assert httpx.get(f"{keyed.url}/api/handles/{PREFIX}/STRANGER").status_code == 404
