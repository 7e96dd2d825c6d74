"""The Handle REST API of a running node: answers, filters, writes, and every error path."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import ACME_SECRET, OTHER_SECRET
from tests.resolver.conftest import ACME_USER, OTHER_USER

ACME_AUTH = (ACME_USER, ACME_SECRET)
OTHER_AUTH = (OTHER_USER, OTHER_SECRET)
PART_VALUES = [
    {"index": 1, "type": "URL", "data": "https://mes.example.com/p/1"},
    {"index": 2, "type": "URL.mobile", "data": {"format": "string", "value": "https://m.example.com/p/1"}},
    {"index": 2000, "type": "customerPartNo", "data": "DF-3502010-C0100"},
    {"index": 2001, "type": "batch", "data": "B20261122-07", "ttl": 3600},
]


def put(
    http: httpx.Client, handle: str, body: Any, *, auth: Any = ACME_AUTH, **params: Any
) -> httpx.Response:
    return http.put(f"/api/handles/{handle}", json=body, auth=auth, params=params)


def expect(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, Any] = response.json()
    assert (response.status_code, body["responseCode"]) == (status, code), body
    return body


@pytest.fixture
def part(http: httpx.Client, request: pytest.FixtureRequest) -> str:
    """A freshly registered part, named after the test."""
    handle = f"88.999.1/{request.node.name}"
    assert put(http, handle, PART_VALUES).status_code == 201  # created
    return handle


# -- resolving ---------------------------------------------------------------------------------------------


def test_a_record_resolves_in_the_exact_handle_rest_shape(http: httpx.Client, part: str) -> None:
    response = http.get(f"/api/handles/{part}")

    body = expect(response, 200, 1)
    assert list(body) == ["responseCode", "handle", "values"]
    assert body["handle"] == part
    first = body["values"][0]
    assert list(first) == ["index", "type", "data", "ttl", "timestamp"]
    assert first["data"] == {"format": "string", "value": "https://mes.example.com/p/1"}
    assert body["values"][3]["ttl"] == 3600


def test_the_handle_is_echoed_exactly_as_requested(http: httpx.Client) -> None:
    body = expect(http.get("/api/handles/0.na/88.999.1"), 200, 1)

    assert body["handle"] == "0.na/88.999.1"


def test_a_prefix_handle_shows_its_admin_but_never_its_secret_key(http: httpx.Client) -> None:
    body = expect(http.get("/api/handles/0.NA/88.999.1"), 200, 1)

    assert [v["type"] for v in body["values"]] == ["HS_ADMIN", "HS_VLIST"]
    assert "argon2" not in json.dumps(body)


def test_index_and_type_filters_keep_values_matching_any(http: httpx.Client, part: str) -> None:
    body = expect(http.get(f"/api/handles/{part}", params=[("index", "2000"), ("type", "batch")]), 200, 1)

    assert [v["index"] for v in body["values"]] == [2000, 2001]


def test_a_type_ending_in_a_dot_matches_its_subtypes(http: httpx.Client, part: str) -> None:
    body = expect(http.get(f"/api/handles/{part}", params={"type": "URL."}), 200, 1)

    assert [v["type"] for v in body["values"]] == ["URL", "URL.mobile"]


def test_filters_matching_nothing_answer_200_with_code_200_and_no_values(
    http: httpx.Client, part: str
) -> None:
    body = expect(http.get(f"/api/handles/{part}", params={"index": "77"}), 200, 200)

    assert body["values"] == []


def test_pretty_indents_the_answer(http: httpx.Client, part: str) -> None:
    response = http.get(f"/api/handles/{part}?pretty")

    assert response.text.startswith('{\n  "responseCode": 1')


def test_a_callback_wraps_the_answer_as_jsonp(http: httpx.Client, part: str) -> None:
    response = http.get(f"/api/handles/{part}", params={"callback": "show"})

    assert response.headers["content-type"].startswith("application/javascript")
    assert response.text.startswith('show({"responseCode":1')
    assert response.text.endswith(");")
    expect(http.get(f"/api/handles/{part}", params={"callback": "alert(1)//"}), 400, 4)
    expect(http.get(f"/api/handles/{part}", params={"callback": "bDÁúH"}), 400, 4)  # ASCII, as documented


def test_a_missing_handle_is_404_with_code_100(http: httpx.Client) -> None:
    body = expect(http.get("/api/handles/88.999.1/no-such-part"), 404, 100)

    assert body == {"responseCode": 100, "handle": "88.999.1/no-such-part"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/handles/88.999.1/",
        "/api/handles/88.999.1/A%01B",  # a control character
        "/api/handles/88.999.1/%FF%FE",  # not UTF-8
        "/api/handles/88..1/A",  # an empty prefix segment
        "/api/handles/88.999.1/" + "x" * 300,
    ],
)
def test_a_malformed_handle_is_400_with_code_102(http: httpx.Client, path: str) -> None:
    body = expect(http.get(path), 400, 102)

    assert body["message"]


def test_a_bad_index_parameter_is_400(http: httpx.Client, part: str) -> None:
    expect(http.get(f"/api/handles/{part}", params={"index": "one"}), 400, 4)


# -- writing -----------------------------------------------------------------------------------------------


def test_create_with_overwrite_false_is_201_then_409(http: httpx.Client) -> None:
    handle = "88.999.1/CREATE-ONCE"

    expect(put(http, handle, {"values": PART_VALUES}, overwrite="false"), 201, 1)
    expect(put(http, handle, {"values": PART_VALUES}, overwrite="false"), 409, 101)
    expect(put(http, handle, PART_VALUES[:1]), 200, 1)  # overwrite is the default: replaced

    assert len(expect(http.get(f"/api/handles/{handle}"), 200, 1)["values"]) == 1


def test_put_with_index_adds_and_replaces_only_those_values(http: httpx.Client, part: str) -> None:
    changed = [
        {"index": 2001, "type": "batch", "data": "B2"},
        {"index": 3, "type": "EMAIL", "data": "qa@x.cn"},
    ]

    expect(put(http, part, {"values": changed}, index=["2001", "3"]), 200, 1)  # 2001 was replaced

    values = {v["index"]: v["data"]["value"] for v in http.get(f"/api/handles/{part}").json()["values"]}
    assert values == {1: PART_VALUES[0]["data"], 2: "https://m.example.com/p/1", 3: "qa@x.cn",
                      2000: "DF-3502010-C0100", 2001: "B2"}  # fmt: skip


def test_put_with_index_must_match_the_body(http: httpx.Client, part: str) -> None:
    expect(put(http, part, [{"index": 5, "type": "X", "data": "y"}], index="6"), 400, 202)


def test_adding_a_taken_index_without_overwrite_is_409_with_code_201(http: httpx.Client, part: str) -> None:
    expect(
        put(http, part, [{"index": 1, "type": "URL", "data": "x"}], index="1", overwrite="false"), 409, 201
    )


def test_a_body_naming_another_handle_is_refused(http: httpx.Client, part: str) -> None:
    expect(put(http, part, {"handle": "88.999.1/SOMETHING-ELSE", "values": PART_VALUES}), 400, 4)


def test_delete_values_then_the_record(http: httpx.Client, part: str) -> None:
    expect(http.delete(f"/api/handles/{part}", params={"index": "2"}, auth=ACME_AUTH), 200, 1)
    expect(http.delete(f"/api/handles/{part}", params={"index": "2"}, auth=ACME_AUTH), 400, 200)
    assert 2 not in [v["index"] for v in http.get(f"/api/handles/{part}").json()["values"]]

    expect(http.delete(f"/api/handles/{part}", auth=ACME_AUTH), 200, 1)
    expect(http.get(f"/api/handles/{part}"), 404, 100)
    expect(http.delete(f"/api/handles/{part}", auth=ACME_AUTH), 404, 100)


def test_mint_new_suffix_creates_a_handle_the_node_names(http: httpx.Client) -> None:
    body = expect(put(http, "88.999.1/", PART_VALUES, mintNewSuffix="true"), 201, 1)

    assert body["handle"].startswith("88.999.1/")
    assert len(body["handle"]) > len("88.999.1/")
    expect(http.get(f"/api/handles/{body['handle']}"), 200, 1)


# -- refusals ----------------------------------------------------------------------------------------------


def test_writes_without_credentials_are_401_with_code_402_and_a_challenge(http: httpx.Client) -> None:
    response = http.put("/api/handles/88.999.1/X", json=PART_VALUES)

    expect(response, 401, 402)
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "authorization",
    [
        httpx.BasicAuth(ACME_USER, "wrong secret"),
        httpx.BasicAuth("300%3A0.NA/88.999.77", ACME_SECRET),
        httpx.BasicAuth("not a handle", ACME_SECRET),
    ],
)
def test_wrong_credentials_are_401(http: httpx.Client, authorization: httpx.BasicAuth) -> None:
    expect(http.put("/api/handles/88.999.1/X", json=PART_VALUES, auth=authorization), 401, 402)


@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Bearer abc", "Basic " + "QQ=="])
def test_malformed_authorization_headers_are_401(http: httpx.Client, header: str) -> None:
    response = http.put("/api/handles/88.999.1/X", json=PART_VALUES, headers={"Authorization": header})

    expect(response, 401, 402)


def test_another_enterprise_is_refused_under_a_prefix(http: httpx.Client, part: str) -> None:
    expect(put(http, part, PART_VALUES, auth=OTHER_AUTH), 403, 400)
    expect(put(http, "88.999.1/NEW-BY-OTHER", PART_VALUES, auth=OTHER_AUTH), 403, 400)
    expect(http.delete(f"/api/handles/{part}", auth=OTHER_AUTH), 403, 400)
    expect(http.get(f"/api/handles/{part}"), 200, 1)


def test_a_prefix_not_homed_here_is_400_with_code_301(http: httpx.Client) -> None:
    expect(put(http, "86.100.3/X", PART_VALUES), 400, 301)


def test_a_body_that_is_not_json_content_is_400(http: httpx.Client) -> None:
    response = http.put(
        "/api/handles/88.999.1/X", content=json.dumps(PART_VALUES), auth=ACME_AUTH,
        headers={"Content-Type": "text/plain"},
    )  # fmt: skip

    expect(response, 400, 4)


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"])
def test_bad_json_is_400(http: httpx.Client, body: bytes) -> None:
    response = http.put(
        "/api/handles/88.999.1/X", content=body, auth=ACME_AUTH, headers={"Content-Type": "application/json"}
    )

    expect(response, 400, 4)


@pytest.mark.parametrize(
    "body",
    [
        [{"index": 1, "type": "URL"}],  # no data
        [{"index": 0, "type": "URL", "data": "x"}],
        [{"index": 1, "type": "URL", "data": {"format": "base64", "value": "***"}}],
        [{"index": 1, "type": "URL", "data": "a"}, {"index": 1, "type": "URL", "data": "b"}],
        "just a string",
        [{"index": 1, "type": "URL", "data": "x", "permissions": "11"}],
    ],
)
def test_invalid_values_are_400_with_code_202(http: httpx.Client, body: Any) -> None:
    expect(put(http, "88.999.1/X", body), 400, 202)


def test_an_oversize_body_is_413(http: httpx.Client) -> None:
    huge = [{"index": i + 1, "type": "X", "data": "y" * 60_000} for i in range(20)]

    expect(put(http, "88.999.1/HUGE", huge), 413, 4)


def test_an_oversize_body_without_content_length_is_413(http: httpx.Client) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 50_000

    response = http.put(
        "/api/handles/88.999.1/HUGE",
        content=chunks(),
        auth=ACME_AUTH,
        headers={"Content-Type": "application/json"},
    )

    expect(response, 413, 4)


# -- listing and the rest of /api ---------------------------------------------------------------------------


def test_listing_needs_credentials_and_gives_a_string_total(http: httpx.Client, part: str) -> None:
    expect(http.get("/api/handles", params={"prefix": "88.999.1"}), 401, 402)

    body = expect(
        http.get("/api/handles", params={"prefix": "88.999.1", "pageSize": "500"}, auth=ACME_AUTH), 200, 1
    )

    assert part in body["handles"]
    assert body["totalCount"] == str(len(body["handles"]))
    count = expect(http.get("/api/handles?prefix=88.999.1&pageSize=0", auth=ACME_AUTH), 200, 1)
    assert (count["totalCount"], count["handles"]) == (body["totalCount"], [])


def test_listing_another_enterprise_prefix_is_refused(http: httpx.Client) -> None:
    expect(http.get("/api/handles", params={"prefix": "88.999.1"}, auth=OTHER_AUTH), 403, 400)
    expect(http.get("/api/handles", auth=ACME_AUTH), 400, 4)
    expect(http.get("/api/handles", params={"prefix": "88.999.1", "page": "-1"}, auth=ACME_AUTH), 400, 4)


def test_prefixes_are_listed(http: httpx.Client) -> None:
    assert expect(http.get("/api/prefixes"), 200, 1)["prefixes"] == ["88.999", "88.999.1", "88.999.2"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/nothing"), ("POST", "/api/handles/88.999.1/X")])
def test_anything_else_under_api_is_405_in_json(http: httpx.Client, method: str, path: str) -> None:
    expect(http.request(method, path), 405, 5)


def test_health_and_the_openapi_document(http: httpx.Client) -> None:
    health = http.get("/healthz").json()
    assert (health["status"], health["node"]) == ("ok", "88.999")
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/handles/{handle}", "/api/handles", "/api/prefixes"} <= set(paths)
