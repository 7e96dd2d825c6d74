"""Public-key sessions on a running node: `POST /api/sessions`, `Authorization: Handle …` challenge–response
against HS_PUBKEY values of each kind, and the refusals an attacker meets."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry import Principal, Services, Store
from registry.keys import NodeKeys
from registry.sessions import LIFETIME, Answer, Sessions
from tests.conftest import ACME, ACME_SECRET, ADMIN_SECRET, OTHER
from tests.keys import answer, private_key, public_pem, sign, write_keys
from tests.resolver.conftest import ACME_USER, ADMIN_USER, RunningNode, set_up_node
from tests.support import NodeProcess, cli

ADMIN_AUTH = (ADMIN_USER, ADMIN_SECRET)
# ACME's administrators by key (300 keeps its secret for Basic); OTHER's at 301.
KEYS = {"RSA": 301, "DSA": 302, "Ed25519": 303}
VALUES = [{"index": 2000, "type": "serialNo", "data": "SN-1"}]


def add_key(http: httpx.Client, prefix: str, private: Any, index: int) -> dict[str, Any]:
    body = {"publicKey": public_pem(private).decode(), "index": index}
    response = http.put(f"/api/admin/enterprises/{prefix}/key", json=body, auth=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture(scope="module")
def keyed(node: RunningNode) -> RunningNode:
    """The module's node, its enterprises holding public keys."""
    with httpx.Client(base_url=node.url, timeout=30) as http:
        for kind, index in KEYS.items():
            add_key(http, ACME, private_key(kind), index)
        add_key(http, OTHER, private_key("RSA", 5), 301)
    return node


@pytest.fixture
def http(keyed: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        yield client


def user(index: int, prefix: str = ACME) -> str:
    return f"{index}:0.NA/{prefix}"


def handle_challenge(response: httpx.Response) -> tuple[str, str]:
    """The session id and nonce of a 401's `WWW-Authenticate: Handle …`."""
    for value in response.headers.get_list("www-authenticate"):
        found = re.fullmatch(r'Handle sessionId="([^"]+)", nonce="([^"]+)"', value)
        if found:
            return found.group(1), found.group(2)
    raise AssertionError(f"no Handle challenge in {response.headers}")


def log_in(http: httpx.Client, who: str, private: Any) -> str:
    opened = http.post("/api/sessions")
    assert opened.status_code == 201, opened.text
    body = opened.json()
    signed = answer(body["sessionId"], body["nonce"], who, private)
    authenticated = http.put("/api/sessions/this", headers={"Authorization": signed})
    assert authenticated.status_code == 200, authenticated.text
    assert authenticated.json()["authenticated"] is True
    session: str = authenticated.json()["sessionId"]
    return session


def in_session(session: str) -> dict[str, str]:
    return {"Authorization": f'Handle sessionId="{session}"'}


def expect(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert (response.status_code, body.get("responseCode")) == (status, code), response.text
    return body


# -- logging in and writing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KEYS))
def test_a_session_of_each_kind_of_key_writes(http: httpx.Client, kind: str) -> None:
    session = log_in(http, user(KEYS[kind]), private_key(kind))

    written = http.put(f"/api/handles/{ACME}/KEY-{kind}", json=VALUES, headers=in_session(session))
    shown = http.get("/api/sessions/this", headers=in_session(session))

    expect(written, 201, 1)
    assert shown.json() == {
        "sessionId": session,
        "nonce": shown.json()["nonce"],
        "authenticated": True,
        "id": user(KEYS[kind]),
    }
    assert http.get(f"/api/handles/{ACME}/KEY-{kind}").json()["values"][0]["data"]["value"] == "SN-1"


def test_a_401_offers_both_challenges_and_its_nonce_signed_makes_the_write(http: httpx.Client) -> None:
    refused = http.put(f"/api/handles/{ACME}/CHALLENGED", json=VALUES)
    session, nonce = handle_challenge(refused)
    signed = answer(session, nonce, user(303), private_key("Ed25519"))

    written = http.put(f"/api/handles/{ACME}/CHALLENGED", json=VALUES, headers={"Authorization": signed})
    authenticated, _ = handle_challenge_of(written.headers["authentication-info"])
    deleted = http.delete(f"/api/handles/{ACME}/CHALLENGED", headers=in_session(authenticated))

    expect(refused, 401, 402)
    assert 'Basic realm="handle"' in refused.headers.get_list("www-authenticate")
    expect(written, 201, 1)
    expect(deleted, 200, 1)


def handle_challenge_of(header: str) -> tuple[str, str]:
    found = re.fullmatch(r'Handle sessionId="([^"]+)", nonce="([^"]+)"', header)
    assert found, header
    return found.group(1), found.group(2)


def test_sha1_signatures_are_taken_as_handle_net_clients_make_them(http: httpx.Client) -> None:
    body = http.post("/api/sessions").json()
    signed = answer(body["sessionId"], body["nonce"], user(301), private_key("RSA"), alg="SHA1")

    assert http.put("/api/sessions/this", headers={"Authorization": signed}).json()["authenticated"] is True


def test_a_session_lists_the_prefix_as_basic_does(http: httpx.Client) -> None:
    session = log_in(http, user(302), private_key("DSA"))

    listed = http.get("/api/handles", params={"prefix": ACME}, headers=in_session(session))

    assert listed.status_code == 200
    assert listed.json()["prefix"] == ACME


def test_basic_works_as_before_and_logs_a_session_in(http: httpx.Client) -> None:
    opened = http.post("/api/sessions", auth=(ACME_USER, ACME_SECRET))
    written = http.put(
        f"/api/handles/{ACME}/BY-BASIC-SESSION", json=VALUES, headers=in_session(opened.json()["sessionId"])
    )

    assert opened.status_code == 201
    assert opened.json()["authenticated"] is True
    assert opened.json()["id"] == user(300)
    expect(written, 201, 1)
    expect(http.put(f"/api/handles/{ACME}/BY-BASIC", json=VALUES, auth=(ACME_USER, ACME_SECRET)), 201, 1)


# -- what an attacker meets ---------------------------------------------------------------------------------


def test_a_wrong_signature_or_another_keys_is_401_and_writes_nothing(http: httpx.Client) -> None:
    opened = http.post("/api/sessions").json()
    session, nonce = opened["sessionId"], opened["nonce"]
    by_another_key = answer(session, nonce, user(301), private_key("RSA", 5))  # OTHER's key, as ACME
    good = answer(session, nonce, user(301), private_key("RSA"))
    flipped = re.sub(r'signature="(.)', lambda m: 'signature="' + ("B" if m.group(1) != "B" else "C"), good)

    for forged in (by_another_key, flipped, good.replace(user(301), user(302))):
        refused = http.put(f"/api/handles/{ACME}/FORGED", json=VALUES, headers={"Authorization": forged})
        expect(refused, 401, 402)
        assert handle_challenge(refused)[0] == session  # the same session, to answer again
    assert http.get(f"/api/handles/{ACME}/FORGED").status_code == 404
    expect(http.put("/api/sessions/this", headers={"Authorization": by_another_key}), 401, 402)


def test_an_answer_replayed_in_another_session_is_refused(http: httpx.Client) -> None:
    first, second = http.post("/api/sessions").json(), http.post("/api/sessions").json()
    signed = answer(first["sessionId"], first["nonce"], user(301), private_key("RSA"))
    replayed = signed.replace(first["sessionId"], second["sessionId"])

    expect(
        http.put(f"/api/handles/{ACME}/REPLAYED", json=VALUES, headers={"Authorization": replayed}), 401, 402
    )


def test_a_session_not_authenticated_forged_or_unknown_is_refused(http: httpx.Client) -> None:
    unauthenticated = http.post("/api/sessions").json()["sessionId"]
    session = log_in(http, user(301), private_key("RSA"))
    claims, _, mac = session.partition(".")
    # Claims of another principal under the old mac, and a mac of another length.
    forged_claims = claims[:-4] + ("AAAA" if not claims.endswith("AAAA") else "BBBB")

    for refused in (unauthenticated, f"{forged_claims}.{mac}", f"{claims}.{mac[:-3]}", "node0abc123"):
        expect(
            http.put(f"/api/handles/{ACME}/NO-SESSION", json=VALUES, headers=in_session(refused)), 401, 402
        )
    expect(http.get("/api/sessions/this", headers=in_session("node0abc123")), 403, 403)
    assert (
        http.get("/api/sessions/this", headers=in_session(unauthenticated)).json().get("authenticated")
        is None
    )


def test_an_expired_session_is_refused(keyed: RunningNode, http: httpx.Client) -> None:
    expired = asyncio.run(_expired_session(keyed.env["IDNODE_DATABASE_URL"]))

    expect(http.put(f"/api/handles/{ACME}/EXPIRED", json=VALUES, headers=in_session(expired)), 401, 402)
    expect(http.get("/api/sessions/this", headers=in_session(expired)), 403, 403)


async def _expired_session(url: str) -> str:
    """A session the node authenticated an hour and more ago (made with the node's key, in its database)."""
    store = Store.open(url, pool_size=1)
    try:
        services = await Services.open(store)
        then = time.time() - LIFETIME - 60
        sessions = Sessions(services.records, NodeKeys(store), clock=lambda: then)
        opened = await sessions.open()
        cnonce = os.urandom(16)
        signature = base64.b64encode(sign(private_key("RSA"), opened.nonce + cnonce)).decode()
        signed = Answer(user(301), "HS_PUBKEY", base64.b64encode(cnonce).decode(), "SHA256", signature)
        made = await sessions.answer(opened, signed)
        assert made.principal == Principal.parse(user(301))
        return made.id
    finally:
        await store.close()


def test_a_session_of_tenant_a_cannot_write_under_tenant_b(http: httpx.Client) -> None:
    session = log_in(http, user(301), private_key("RSA"))

    expect(http.put(f"/api/handles/{OTHER}/TAKEN", json=VALUES, headers=in_session(session)), 403, 400)
    expect(http.get("/api/handles", params={"prefix": OTHER}, headers=in_session(session)), 403, 400)
    assert http.get(f"/api/handles/{OTHER}/TAKEN").status_code == 404


def test_removing_the_key_ends_its_sessions_at_once(http: httpx.Client) -> None:
    private = private_key("Ed25519", 9)
    add_key(http, ACME, private, 309)
    session = log_in(http, user(309), private)
    expect(http.put(f"/api/handles/{ACME}/BEFORE-REMOVAL", json=VALUES, headers=in_session(session)), 201, 1)

    removed = http.delete(f"/api/handles/0.NA/{ACME}", params={"index": 309}, auth=ADMIN_AUTH)

    assert removed.status_code == 200, removed.text
    expect(http.put(f"/api/handles/{ACME}/AFTER-REMOVAL", json=VALUES, headers=in_session(session)), 401, 402)


def test_the_sessions_api_answers_as_handle_net_does(http: httpx.Client) -> None:
    opened = http.post("/api/sessions")
    session = log_in(http, user(301), private_key("RSA"))

    assert opened.headers["location"] == "/api/sessions/this"
    assert set(opened.json()) == {"sessionId", "nonce"}
    assert http.get("/api/sessions/this").json() == {"authenticated": False}
    assert http.delete("/api/sessions/this", headers=in_session(session)).status_code == 204
    expect(http.delete("/api/sessions/this"), 403, 403)
    expect(http.post("/api/sessions", headers=in_session(session)), 400, 4)
    expect(http.put("/api/sessions/this", headers={"Authorization": "Handle sessionId"}), 401, 402)


def test_the_cli_adds_a_key_and_sessions_work_across_two_workers(tmp_path: Path) -> None:
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{tmp_path}/idnode.db"}
    set_up_node(env)
    public, _ = write_keys(private_key("Ed25519"), tmp_path)
    added = cli(
        ["enterprise", "add-key", "--prefix", ACME, "--public-key", str(public), "--index", "301"], env
    )
    node = NodeProcess(env, workers=2).start(tmp_path)
    try:
        with httpx.Client(base_url=node.url, timeout=10) as http:
            session = log_in(http, user(301), private_key("Ed25519"))
        for n in range(30):
            # A new connection each time, so that the kernel spreads them over both workers.
            body = [{"index": 2000, "type": "serialNo", "data": f"SN-{n}"}]
            written = httpx.put(
                f"{node.url}/api/handles/{ACME}/W-{n}", json=body, headers=in_session(session)
            )
            assert written.status_code == 201, written.text
        pids: set[int] = set()
        for _ in range(300):
            pids.add(httpx.get(f"{node.url}/healthz").json()["pid"])
            if len(pids) == 2:
                break
    finally:
        node.stop()
    assert "administrator: 301:0.NA/88.999.1" in added.stdout
    assert len(pids) == 2, "both workers answered"


# -- the original session id, kept by the node -----------------------------------------------------------


def _pid_of(url: str) -> int:
    pid: int = httpx.get(f"{url}/healthz").json()["pid"]
    return pid


def test_the_original_session_id_alone_writes_in_both_workers_until_deleted(
    keyed: RunningNode, tmp_path: Path
) -> None:
    """As Handle.Net's clients do: answer the challenge of a 401 once, then send that session's id alone."""
    node = NodeProcess(keyed.env, workers=2).start(tmp_path)
    try:
        refused = httpx.put(f"{node.url}/api/handles/{ACME}/ORIGINAL-0", json=VALUES)
        session, nonce = handle_challenge(refused)
        signed = answer(session, nonce, user(301), private_key("RSA"))
        first = httpx.put(
            f"{node.url}/api/handles/{ACME}/ORIGINAL-0", json=VALUES, headers={"Authorization": signed}
        )
        written = [
            # A new connection each time, so that the kernel spreads them over both workers.
            httpx.put(f"{node.url}/api/handles/{ACME}/ORIGINAL-{n}", json=VALUES, headers=in_session(session))
            for n in range(1, 21)
        ]
        shown = httpx.get(f"{node.url}/api/sessions/this", headers=in_session(session)).json()
        pids = {_pid_of(node.url) for _ in range(100)}

        ended = httpx.delete(f"{node.url}/api/sessions/this", headers=in_session(session))
        after = [
            httpx.put(
                f"{node.url}/api/handles/{ACME}/AFTER-END-{n}", json=VALUES, headers=in_session(session)
            )
            for n in range(10)
        ]
        anonymous_read = httpx.get(f"{node.url}/api/handles/{ACME}/AFTER-END-0")
    finally:
        node.stop()

    expect(refused, 401, 402)
    expect(first, 201, 1)
    for response in written:
        expect(response, 201, 1)
    assert shown == {"sessionId": session, "nonce": nonce, "authenticated": True, "id": user(301)}
    assert len(pids) == 2, "both workers answered"
    assert ended.status_code == 204
    for response in after:
        expect(response, 401, 402)
    assert anonymous_read.status_code == 404


def test_a_session_logged_in_keeps_its_id_and_ends_when_deleted(http: httpx.Client) -> None:
    opened = http.post("/api/sessions").json()
    signed = answer(opened["sessionId"], opened["nonce"], user(302), private_key("DSA"))
    authenticated = http.put("/api/sessions/this", headers={"Authorization": signed}).json()
    original = in_session(opened["sessionId"])

    written = http.put(f"/api/handles/{ACME}/KEPT-ID", json=VALUES, headers=original)
    ended = http.delete("/api/sessions/this", headers=original)
    shown = http.get("/api/sessions/this", headers=original)

    assert authenticated["sessionId"] == opened["sessionId"]
    expect(written, 201, 1)
    assert ended.status_code == 204
    assert shown.json() == {"sessionId": opened["sessionId"], "nonce": opened["nonce"]}  # a challenge again
    expect(http.put(f"/api/handles/{ACME}/ENDED-ID", json=VALUES, headers=original), 401, 402)
