"""Sessions: the challenge–response against HS_PUBKEY values, session ids the node keeps once authenticated,
and adding keys."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest

from registry import (
    AuthenticationFailed,
    PermissionDenied,
    Principal,
    Services,
    Session,
    VListData,
    decode_values,
    pubkeys,
)
from registry.keys import NodeKeys
from registry.sessions import CHALLENGE_LIFETIME, LIFETIME, Answer, Sessions
from tests.conftest import ACME, OTHER
from tests.keys import KINDS, private_key, sign

ACME_KEY = f"301:0.NA/{ACME}"


def answer_for(session: Session, user: str, private: Any) -> Answer:
    cnonce = os.urandom(16)
    signature = base64.b64encode(sign(private, session.nonce + cnonce)).decode()
    return Answer(user, "HS_PUBKEY", base64.b64encode(cnonce).decode(), "SHA256", signature)


async def with_key(services: Services, kind: str, *, prefix: str = ACME, index: int = 301, n: int = 0) -> Any:
    private = private_key(kind, n)
    key = pubkeys.from_crypto(private.public_key())
    await services.sessions.add_key(services.node.admin, prefix, key, index=index)
    return private


@pytest.mark.parametrize("kind", KINDS)
async def test_a_signed_nonce_authenticates_the_session_as_the_keys_administrator(
    services: Services, kind: str
) -> None:
    private = await with_key(services, kind)
    opened = await services.sessions.open()

    authenticated = await services.sessions.answer(opened, answer_for(opened, ACME_KEY, private))

    assert authenticated.principal == Principal.parse(ACME_KEY)
    assert authenticated.id == opened.id  # the id the client has goes on working
    assert authenticated.nonce == opened.nonce
    resumed = await services.sessions.read(opened.id)
    assert await services.sessions.principal(resumed) == Principal.parse(ACME_KEY)


async def test_an_ended_session_names_no_one(services: Services) -> None:
    private = await with_key(services, "Ed25519")
    opened = await services.sessions.open()
    await services.sessions.answer(opened, answer_for(opened, ACME_KEY, private))

    await services.sessions.end(await services.sessions.read(opened.id))

    with pytest.raises(AuthenticationFailed, match="not authenticated"):
        await services.sessions.principal(await services.sessions.read(opened.id))


async def test_a_wrong_signature_or_another_keys_is_refused(services: Services) -> None:
    await with_key(services, "RSA")
    session = await services.sessions.open()
    stranger = private_key("RSA", 1)
    good = answer_for(session, ACME_KEY, private_key("RSA"))
    flipped = base64.b64decode(good.signature)
    flipped = flipped[:-1] + bytes([flipped[-1] ^ 1])

    for refused in (
        answer_for(session, ACME_KEY, stranger),
        Answer(good.id, good.type, good.cnonce, good.alg, base64.b64encode(flipped).decode()),
        Answer(good.id, good.type, base64.b64encode(b"another cnonce!!").decode(), good.alg, good.signature),
        Answer(good.id, "HS_SECKEY", good.cnonce, good.alg, good.signature),
        Answer(good.id, good.type, good.cnonce, "MD5", good.signature),
        Answer(f"300:0.NA/{ACME}", good.type, good.cnonce, good.alg, good.signature),  # a secret key there
    ):
        with pytest.raises(AuthenticationFailed):
            await services.sessions.answer(session, refused)


async def test_an_answer_to_one_sessions_nonce_does_not_open_another(services: Services) -> None:
    private = await with_key(services, "Ed25519")
    first, second = await services.sessions.open(), await services.sessions.open()

    with pytest.raises(AuthenticationFailed):
        await services.sessions.answer(second, answer_for(first, ACME_KEY, private))


async def test_session_ids_are_checked_and_expire(services: Services) -> None:
    private = await with_key(services, "RSA")
    now = [1_800_000_000.0]
    sessions = Sessions(services.records, NodeKeys(services.store), clock=lambda: now[0])
    opened = await sessions.open()
    authenticated = await sessions.answer(opened, answer_for(opened, ACME_KEY, private))
    claims, _, mac = authenticated.id.partition(".")

    for forged in (f"{claims}.{mac[:-2]}AA", f"{claims[:-2]}AA.{mac}", "", "x" * 5000, "..", opened.id + "x"):
        with pytest.raises(AuthenticationFailed):
            await sessions.read(forged)
    now[0] += CHALLENGE_LIFETIME + 1  # the challenge's time is up, the authenticated session's is not
    assert (await sessions.read(opened.id)).principal == Principal.parse(ACME_KEY)
    now[0] += LIFETIME - CHALLENGE_LIFETIME
    with pytest.raises(AuthenticationFailed):
        await sessions.read(authenticated.id)


async def test_an_unauthenticated_session_names_no_one(services: Services) -> None:
    session = await services.sessions.read((await services.sessions.open()).id)

    with pytest.raises(AuthenticationFailed):
        await services.sessions.principal(session)


async def test_replacing_or_removing_the_key_ends_its_sessions(services: Services) -> None:
    private = await with_key(services, "RSA")
    opened = await services.sessions.open()
    session = await services.sessions.answer(opened, answer_for(opened, ACME_KEY, private))

    await with_key(services, "RSA", n=1)  # another key at the same index
    with pytest.raises(AuthenticationFailed):
        await services.sessions.principal(session)


async def test_a_disabled_enterprises_key_authenticates_no_one(services: Services) -> None:
    private = await with_key(services, "Ed25519")
    opened = await services.sessions.open()
    session = await services.sessions.answer(opened, answer_for(opened, ACME_KEY, private))

    await services.accounts.set_enterprise_status(services.node.admin, ACME, "disabled")

    with pytest.raises(AuthenticationFailed):
        await services.sessions.principal(session)
    with pytest.raises(AuthenticationFailed):
        await services.sessions.answer(opened, answer_for(opened, ACME_KEY, private))


async def test_a_key_at_another_index_joins_the_admin_group_once(services: Services) -> None:
    await with_key(services, "RSA", index=301)
    await with_key(services, "RSA", index=301, n=1)

    stored = await services.store.points.one(services.node.naming.key(Principal.parse(ACME_KEY).handle))
    assert stored is not None

    values = {v.index: v for v in decode_values(stored)}
    group = values[200].data
    assert isinstance(group, VListData)
    assert [ref.index for ref in group.refs] == [300, 301]
    assert values[301].type == "HS_PUBKEY"
    assert values[300].type == "HS_SECKEY"  # Basic at 300 still works


async def test_only_those_who_may_change_the_prefix_handle_add_keys(services: Services) -> None:
    key = pubkeys.from_crypto(private_key("Ed25519").public_key())
    other = Principal.parse(f"300:0.NA/{OTHER}")

    with pytest.raises(PermissionDenied):
        await services.sessions.add_key(other, ACME, key, index=301)
