"""Handles are validated once, the same way on every path of a running node (SQLite and PostgreSQL): bytes
that are not UTF-8, invisible and bidi characters are refused by Handle REST (GET, PUT, DELETE, the batch) and
SNMS alike; canonically equivalent spellings (NFC, NFD) and full-width look-alikes are the same record."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import ACME, ACME_SECRET
from tests.resolver.conftest import ACME_USER, RunningNode

ACME_AUTH = (ACME_USER, ACME_SECRET)
VALUES = [{"index": 2000, "type": "partNo", "data": "DF-3502010"}]
# Characters that make handles look alike or reorder what a reader sees.
INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "first-strong isolate": "\u2068",
    "byte order mark": "\ufeff",
}


def path(handle: str) -> str:
    return "/api/handles/" + quote(handle, safe="/")


def expect(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert (response.status_code, body["responseCode"]) == (status, code), body
    return body


@pytest.fixture(scope="module")
def snms_token(node: RunningNode) -> str:
    answer = httpx.post(f"{node.url}/identity/token", json={"username": ACME, "password": ACME_SECRET}).json()
    assert answer["status"] == 1, answer
    return str(answer["data"]["token"])


@pytest.fixture
def snms(node: RunningNode, snms_token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {snms_token}"}
    with httpx.Client(base_url=node.url, headers=headers, timeout=30) as client:
        yield client


def snms_record(handle: str) -> dict[str, Any]:
    return {"handle": handle, "value": [{"index": 2000, "type": "partNo", "data": {"value": "DF-1"}}]}


# -- bytes that are not UTF-8 --------------------------------------------------------------------------------


def test_a_path_that_is_not_utf8_is_refused_by_put_get_and_delete_alike(http: httpx.Client) -> None:
    raw = "/api/handles/88.999.1/NOT-UTF8-%FF%FE"

    answers = [http.put(raw, json=VALUES, auth=ACME_AUTH), http.get(raw), http.delete(raw, auth=ACME_AUTH)]

    assert [expect(answer, 400, 102)["message"] for answer in answers] == ["the handle is not UTF-8"] * 3
    assert all("\ufffd" not in answer.text for answer in answers)
    # Nothing was stored under the replacement character a lenient decoding would have made of it.
    expect(http.get(path("88.999.1/NOT-UTF8-\ufffd\ufffd")), 400, 102)


def test_a_snms_detail_query_that_is_not_utf8_is_a_bad_handle(snms: httpx.Client) -> None:
    answer = snms.get("/identityv2/data/detail?handle=88.999.1/NOT-UTF8-%FF").json()

    assert answer["status"] == -2
    assert answer["message"].startswith("标识格式错误")


# -- invisible and bidi characters ---------------------------------------------------------------------------


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_an_invisible_character_is_refused_on_every_handle_rest_path(
    http: httpx.Client, character: str
) -> None:
    handle = f"88.999.1/PART{character}0001"

    body = expect(http.put(path(handle), json=VALUES, auth=ACME_AUTH), 400, 102)
    assert f"U+{ord(character):04X}" in body["message"]
    expect(http.get(path(handle)), 400, 102)
    expect(http.delete(path(handle), auth=ACME_AUTH), 400, 102)
    batch = http.post("/api/resolve", json={"handles": [handle]}).json()
    assert batch["results"][0]["responseCode"] == 102


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_an_invisible_character_is_refused_by_snms(snms: httpx.Client, character: str) -> None:
    handle = f"88.999.1/SNMS{character}0001"

    created = snms.post("/identityv2/data", json=snms_record(handle)).json()
    batch = snms.post("/identityv2/data/batchCreate", json=[snms_record(handle)]).json()
    detail = snms.get("/identityv2/data/detail", params={"handle": handle}).json()

    assert (created["status"], detail["status"]) == (-2, -2)
    assert created["message"].startswith("标识格式错误")
    assert batch["status"] == 1
    assert batch["data"][0]["code"] == -2


# -- one record, however it is spelt -------------------------------------------------------------------------


def test_nfc_and_nfd_spellings_are_one_record(http: httpx.Client) -> None:
    composed = "88.999.1/Café-零件-Å"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed

    expect(http.put(path(decomposed), json=VALUES, auth=ACME_AUTH), 201, 1)

    expect(http.put(path(composed), json=VALUES, auth=ACME_AUTH, params={"overwrite": "false"}), 409, 101)
    assert expect(http.get(path(composed)), 200, 1)["values"][0]["data"]["value"] == "DF-3502010"
    results = http.post("/api/resolve", json={"handles": [composed, decomposed]}).json()["results"]
    assert [r["responseCode"] for r in results] == [1, 1]
    listed = http.get("/api/handles", params={"prefix": ACME, "pageSize": "1000"}, auth=ACME_AUTH).json()
    assert composed in listed["handles"]  # kept in NFC
    assert decomposed not in listed["handles"]


def test_a_full_width_look_alike_finds_the_record_and_cannot_be_created_beside_it(http: httpx.Client) -> None:
    expect(http.put(path("88.999.1/FW-0001"), json=VALUES, auth=ACME_AUTH), 201, 1)
    look_alike = "88.999.1/ＦＷ－０００１"  # as a Chinese input method types it

    expect(http.put(path(look_alike), json=VALUES, auth=ACME_AUTH, params={"overwrite": "false"}), 409, 101)
    assert expect(http.get(path(look_alike)), 200, 1)["handle"] == look_alike


def test_snms_tells_the_same_look_alikes_apart_as_handle_rest(http: httpx.Client, snms: httpx.Client) -> None:
    assert snms.post("/identityv2/data", json=snms_record("88.999.1/SNMS-Å")).json()["status"] == 1

    again = snms.post("/identityv2/data", json=snms_record(unicodedata.normalize("NFD", "88.999.1/SNMS-Å")))
    wide = snms.post("/identityv2/data", json=snms_record("88.999.1/ＳＮＭＳ-Å")).json()

    assert (again.json()["status"], wide["status"]) == (-2, -2)
    assert again.json()["message"] == wide["message"] == "标识已存在"
    expect(http.get(path(unicodedata.normalize("NFD", "88.999.1/SNMS-Å"))), 200, 1)
