"""POST /api/scan on a running node: each kind of scanned text understood, the records of the handles it
names, and what it cannot understand refused clearly."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from resolver.frontends.handle_rest.scan import NO_LOOKUP_BY_KEYS
from sdk import AsyncNodeClient, NodeClient, RequestError, ScanField, ScanResult
from tests.conftest import ACME, ACME_SECRET
from tests.resolver.conftest import ACME_USER, RunningNode

PART = f"{ACME}/SCAN-PART-1"
VDA_4994 = (
    "[)>\x1e06\x1dP4711-0815-A\x1dQ120\x1d1JUN081466849000123457\x1d1T2026W49\x1dV81466849\x1d"
    "16K4711000123\x1e\x04"
)


def scan(http: httpx.Client, text: str, *, as_json: bool = False) -> httpx.Response:
    if as_json:
        return http.post("/api/scan", json={"data": text})
    return http.post("/api/scan", content=text.encode(), headers={"content-type": "text/plain"})


@pytest.fixture
def part(http: httpx.Client) -> str:
    body = [{"index": 2000, "type": "serialNo", "data": "SCAN-PART-1"}]
    created = http.put(f"/api/handles/{PART}", json=body, auth=(ACME_USER, ACME_SECRET))
    assert created.status_code in (200, 201)  # created, or replaced by a later test
    return PART


def test_a_plain_handle_leads_to_its_record_as_get_answers_it(http: httpx.Client, part: str) -> None:
    answer = scan(http, part + "\r\n")

    assert answer.status_code == 200
    body = answer.json()
    assert body["kind"] == "handle"
    assert body["handles"] == [part]
    assert body["records"] == [http.get(f"/api/handles/{part}").json()]
    assert body["records"][0]["values"][0]["data"]["value"] == "SCAN-PART-1"


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("path", ["/api/handles/{}", "/{}"])
def test_a_node_url_from_a_qr_code_leads_to_its_record(
    http: httpx.Client, part: str, path: str, as_json: bool
) -> None:
    body = scan(http, f"https://node.example.com{path.format(part)}", as_json=as_json).json()

    assert body["kind"] == "node_url"
    assert body["handles"] == [part]
    assert body["records"][0]["responseCode"] == 1


def test_a_handle_that_is_not_there_is_answered_as_not_found(http: httpx.Client) -> None:
    body = scan(http, f"{ACME}/NOT-THERE").json()

    assert body["records"] == [{"responseCode": 100, "handle": f"{ACME}/NOT-THERE"}]


def test_a_vda_4994_label_is_named_and_its_keys_reported_without_records(http: httpx.Client) -> None:
    body = scan(http, VDA_4994).json()

    assert body["kind"] == "iso15434"
    assert body["fields"][0] == {"di": "P", "name": "part number (customer)", "value": "4711-0815-A"}
    assert [f["di"] for f in body["fields"]] == ["P", "Q", "1J", "1T", "V", "16K"]
    assert body["keys"] == {
        "partNumber": "4711-0815-A",
        "licensePlate": "UN081466849000123457",
        "lot": "2026W49",
        "supplier": "81466849",
    }
    assert body["handles"] == []
    assert body["records"] == []
    assert "alternate keys" in body["note"]


def test_a_gs1_digital_link_and_an_element_string_are_understood(http: httpx.Client) -> None:
    link = scan(http, "https://id.gs1.org/01/09506000134352/10/ABC123/21/XYZ?17=271231").json()
    element_string = scan(http, "]C1010950600013435210ABC123\x1d21XYZ").json()

    assert link["kind"] == "gs1_digital_link"
    assert element_string["kind"] == "gs1"
    keys = {"gtin": "09506000134352", "lot": "ABC123", "serial": "XYZ"}
    assert link["keys"] == element_string["keys"] == keys
    assert link["fields"][0] == {"ai": "01", "name": "GTIN", "value": "09506000134352"}
    assert link["fields"][-1] == {"ai": "17", "name": "USE BY or EXPIRY", "value": "271231"}


def test_a_gs1_label_carrying_a_handle_of_the_node_leads_to_its_record(http: httpx.Client, part: str) -> None:
    body = scan(http, f"(01)09506000134352(10)L26(91){part}").json()

    assert body["handles"] == [part]
    assert body["records"][0]["responseCode"] == 1
    assert "note" not in body


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("hello world", "not an ISO/IEC 15434 message"),
        ("[)>\x1e06\x1dP4711\x1dQ12", "truncated: format 06 envelope not closed by RS (at position 16)"),
        ("(01)09506000134353(10)ABC", "check digit wrong in AI (01) GTIN"),
        ("(01)09506000134352(7777)1", "Unknown GS1 Application Identifier '7777'"),
        ("", "empty"),
    ],
)
def test_what_it_cannot_understand_is_400_with_code_4_saying_why(
    http: httpx.Client, text: str, said: str
) -> None:
    answer = scan(http, text)

    assert answer.status_code == 400
    assert answer.json()["responseCode"] == 4
    assert said in answer.json()["message"]


@pytest.mark.parametrize(
    ("content", "media"),
    [(b'{"text": "x"}', "application/json"), (b"x", "application/xml"), (b"\xff\xfe", "text/plain")],
)
def test_a_body_of_another_form_is_400(http: httpx.Client, content: bytes, media: str) -> None:
    answer = http.post("/api/scan", content=content, headers={"content-type": media})

    assert answer.status_code == 400
    assert answer.json()["responseCode"] == 4


def test_the_sdk_scans_with_both_clients(node: RunningNode, part: str) -> None:
    with NodeClient(node.url) as client:
        found = client.scan(f"https://node.example.com/{part}")
        label = client.scan(VDA_4994)
        with pytest.raises(RequestError) as refused:
            client.scan("(01)09506000134353")

    assert (found.kind, found.handles) == ("node_url", (part,))
    assert found.records[0] is not None
    assert found.records[0].get("serialNo") == "SCAN-PART-1"
    assert label.field("1J") == "UN081466849000123457"
    assert label.fields[0] == ScanField("di", "P", "part number (customer)", "4711-0815-A")
    assert label.keys["licensePlate"] == "UN081466849000123457"
    assert (label.records, label.note) == ((), NO_LOOKUP_BY_KEYS)
    assert refused.value.code == 4
    assert "check digit wrong in AI (01) GTIN" in str(refused.value)

    async def scan_async() -> tuple[ScanResult, ScanResult]:
        async with AsyncNodeClient(node.url) as client:
            return await client.scan(part), await client.scan(f"{ACME}/NOT-THERE")

    there, missing = asyncio.run(scan_async())
    assert there.records[0] is not None
    assert there.records[0].get("serialNo") == "SCAN-PART-1"
    assert missing.records == (None,)
