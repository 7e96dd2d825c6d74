"""Where Handle REST clients notice a difference from the Handle.Net server 9, idnode answers as it does:
case-insensitive handles, 201 for every create, HEAD, CORS, minting with a stem, "not homed here", gzip."""

from __future__ import annotations

import gzip
import re
from typing import Any

import httpx
import pytest

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import ACME_USER

AUTH = (ACME_USER, ACME_SECRET)
VALUES = [{"index": 1, "type": "URL", "data": "https://mes.example.com/p/9"}]


def put(http: httpx.Client, handle: str, **params: str) -> httpx.Response:
    return http.put(f"/api/handles/{handle}", json=VALUES, auth=AUTH, params=params)


def code(response: httpx.Response) -> tuple[int, int]:
    body: dict[str, Any] = response.json()
    return response.status_code, body["responseCode"]


def test_ascii_case_does_not_tell_handles_apart_and_the_request_is_echoed(http: httpx.Client) -> None:
    assert code(put(http, "88.999.1/Case-Part-1")) == (201, 1)

    lower = http.get("/api/handles/88.999.1/case-part-1")
    again = put(http, "88.999.1/CASE-PART-1", overwrite="false")
    listed = http.get("/api/handles", params={"prefix": "88.999.1", "pageSize": "10000"}, auth=AUTH).json()

    assert code(lower) == (200, 1)
    assert lower.json()["handle"] == "88.999.1/case-part-1"
    assert again.json() == {"responseCode": 101, "handle": "88.999.1/CASE-PART-1"}
    assert again.status_code == 409
    assert "88.999.1/Case-Part-1" in listed["handles"]  # kept as it was first written
    assert "88.999.1/CASE-PART-1" not in listed["handles"]


def test_only_ascii_letters_fold(http: httpx.Client) -> None:
    assert code(put(http, "88.999.1/straße")) == (201, 1)

    assert code(http.get("/api/handles/88.999.1/STRASSE")) == (404, 100)
    assert code(http.get("/api/handles/88.999.1/STRAßE")) == (200, 1)


def test_every_create_answers_201_and_a_replacement_200(http: httpx.Client) -> None:
    assert code(put(http, "88.999.1/FRESH-201")) == (201, 1)
    assert code(put(http, "88.999.1/FRESH-201")) == (200, 1)
    added = http.put(
        "/api/handles/88.999.1/FRESH-201",
        json=[{"index": 7, "type": "X", "data": "y"}],
        auth=AUTH,
        params={"index": "7"},
    )
    replaced = http.put(
        "/api/handles/88.999.1/FRESH-201",
        json=[{"index": 7, "type": "X", "data": "z"}],
        auth=AUTH,
        params={"index": "7"},
    )

    assert (added.status_code, replaced.status_code) == (201, 200)


def test_head_answers_with_the_get_headers_and_no_body(http: httpx.Client) -> None:
    put(http, "88.999.1/HEADED")
    get = http.get("/api/handles/88.999.1/HEADED")
    head = http.head("/api/handles/88.999.1/HEADED")
    missing = http.head("/api/handles/88.999.1/NO-HEAD")

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]
    assert missing.status_code == 404


def test_a_cors_preflight_is_answered_and_answers_carry_the_origin(http: httpx.Client) -> None:
    asked = {
        "Origin": "https://mes.example.com",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    preflight = http.options("/api/handles/88.999.1/CORS-1", headers=asked)
    refused = http.options(
        "/api/handles/88.999.1/CORS-1", headers=asked | {"Access-Control-Request-Method": "PATCH"}
    )
    written = http.put(
        "/api/handles/88.999.1/CORS-1", json=VALUES, auth=AUTH, headers={"Origin": "https://mes.example.com"}
    )

    assert preflight.status_code == 200
    assert preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == "https://mes.example.com"
    assert set(preflight.headers["access-control-allow-methods"].split(",")) >= {"GET", "PUT", "DELETE"}
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert preflight.headers["access-control-max-age"] == "86400"
    assert "access-control-allow-credentials" not in preflight.headers
    assert "access-control-allow-origin" not in refused.headers
    assert written.status_code == 201
    assert written.headers["access-control-allow-origin"] == "https://mes.example.com"
    assert "Origin" in written.headers.get_list("vary")


def test_mint_new_suffix_keeps_a_stem_and_adds_a_lowercase_uuid(http: httpx.Client) -> None:
    minted = put(http, "88.999.1/SUF-", mintNewSuffix="true")

    assert minted.status_code == 201
    handle = minted.json()["handle"]
    assert re.fullmatch(
        r"88\.999\.1/SUF-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", handle
    )
    assert code(http.get(f"/api/handles/{handle}")) == (200, 1)


@pytest.mark.parametrize("path", ["86.100.3/X", "88.999.77/X", "no-slash-here"])
def test_a_handle_whose_prefix_does_not_live_here_is_400_with_code_301(http: httpx.Client, path: str) -> None:
    response = http.get(f"/api/handles/{path}")

    assert response.json() == {
        "responseCode": 301,
        "message": "That prefix doesn't live here",
        "handle": path,
    }
    assert response.status_code == 400


def test_a_prefix_without_slash_is_its_prefix_handle(http: httpx.Client) -> None:
    response = http.get("/api/handles/88.999.1")

    assert code(response) == (200, 1)
    assert response.json()["handle"] == "88.999.1"
    assert [v["type"] for v in response.json()["values"]] == ["HS_ADMIN", "HS_VLIST"]


def test_answers_are_gzipped_for_clients_that_ask(http: httpx.Client) -> None:
    put(http, "88.999.1/ZIPPED")
    plain = http.get("/api/handles/88.999.1/ZIPPED", headers={"Accept-Encoding": "identity"})
    with httpx.stream(
        "GET", http.base_url.join("/api/handles/88.999.1/ZIPPED"), headers={"Accept-Encoding": "gzip"}
    ) as zipped:
        raw = b"".join(zipped.iter_raw())  # what came over the wire, not decoded
        encoding = zipped.headers.get("content-encoding")

    assert encoding == "gzip"
    assert gzip.decompress(raw) == plain.content
    assert "Accept-Encoding" in plain.headers.get_list("vary")
    assert plain.headers.get("content-encoding") is None


@pytest.mark.parametrize("accept", ["gzip;q=abc", "gzip;q=", "gzip;;;", "*;q=0.5"])
def test_an_odd_accept_encoding_still_gets_a_gzipped_answer(http: httpx.Client, accept: str) -> None:
    put(http, "88.999.1/ODD-ACCEPT")
    with httpx.stream(
        "GET", http.base_url.join("/api/handles/88.999.1/ODD-ACCEPT"), headers={"Accept-Encoding": accept}
    ) as answer:
        raw = b"".join(answer.iter_raw())

    assert answer.status_code == 200
    assert answer.headers.get("content-encoding") == "gzip"
    assert b"ODD-ACCEPT" in gzip.decompress(raw)
