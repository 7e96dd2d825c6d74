"""Trace queries end to end, on a running node (SQLite and PostgreSQL): a steel chain heat → slabs → coils →
parts → vehicles (and a shipment), registered over Handle REST and SNMS, traced up from a vehicle and down
from the heat, with depth limits, type filters, visibility, and bad input refused with clear errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sdk import NodeClient, NotFoundError, RequestError, Trace, TraceEdge
from tests.conftest import ACME, ACME_SECRET
from tests.resolver.conftest import ACME_USER, RunningNode
from tests.support import cli

ACME_AUTH = (ACME_USER, ACME_SECRET)
P = f"{ACME}/"
PRIVATE = "1100"  # admin read and write, no public read

# (suffix, its values beyond its number): each link is a value whose data is the target handle.
CHAIN: list[tuple[str, list[dict[str, Any]]]] = [
    ("HEAT-1", []),
    ("SLAB-1", [{"index": 2100, "type": "madeFrom", "data": P + "HEAT-1"}]),
    ("SLAB-2", [{"index": 2100, "type": "madeFrom", "data": P + "HEAT-1"}]),
    ("COIL-1", [{"index": 2100, "type": "madeFrom", "data": P + "SLAB-1"}]),
    ("COIL-2", [{"index": 2100, "type": "madeFrom", "data": P + "SLAB-1"}]),
    ("COIL-3", [{"index": 501, "type": "LINK.madeFrom", "data": P + "SLAB-2"}]),  # the SDK's spelling
    ("VIN-1", []),
    ("VIN-2", [{"index": 2001, "type": "buyer", "data": "Fleet Co", "permissions": PRIVATE}]),
    ("SHIP-1", []),
    ("PART-1", [{"index": 2100, "type": "madeFrom", "data": P + "COIL-1"}]),
    ("PART-2", [{"index": 2100, "type": "madeFrom", "data": P + "COIL-2"}]),
    ("PART-3", [{"index": 2100, "type": "madeFrom", "data": P + "COIL-3"}]),
    ("PART-4", [{"index": 2100, "type": "madeFrom", "data": P + "COIL-3"}]),
]
# Links added once the vehicles and the shipment exist: parts go into them.
INTO = [
    ("PART-1", 2101, "installedIn", "VIN-1", None),
    ("PART-1", 2102, "shippedIn", "SHIP-1", None),
    ("PART-2", 2101, "installedIn", "VIN-1", None),
    ("PART-3", 2101, "installedIn", "VIN-2", None),
    ("PART-4", 2101, "installedIn", "VIN-2", PRIVATE),  # a link anonymous callers are not shown
]


def put(http: httpx.Client, suffix: str, values: list[dict[str, Any]], **params: str) -> httpx.Response:
    return http.put(f"/api/handles/{P}{suffix}", json=values, params=params, auth=ACME_AUTH)


@pytest.fixture(scope="module")
def chain(node: RunningNode) -> None:
    with httpx.Client(base_url=node.url, timeout=30) as http:
        for suffix, extra in CHAIN:
            values = [
                {"index": 1, "type": "URL", "data": f"https://mes.acme.example/{suffix}"},
                {"index": 2000, "type": "no", "data": suffix},
                *extra,
            ]
            assert put(http, suffix, values).status_code == 201, suffix
        for source, index, relation, target, permissions in INTO:
            value: dict[str, Any] = {"index": index, "type": relation, "data": P + target}
            if permissions:
                value["permissions"] = permissions
            response = put(http, source, [value], index="various")
            assert response.status_code == 201, response.text


def trace(http: httpx.Client, handle: str, auth: Any = None, **params: Any) -> dict[str, Any]:
    response = http.get(f"/api/trace/{handle}", params=params, auth=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["responseCode"] == 1
    return body


def depths(body: dict[str, Any]) -> dict[str, int]:
    return {node["handle"].removeprefix(P): node["depth"] for node in body["nodes"]}


def edges(body: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["from"].removeprefix(P), e["to"].removeprefix(P), e["type"]) for e in body["edges"]}


def test_up_from_a_vehicle_reaches_its_parts_coils_slab_and_heat(http: httpx.Client, chain: None) -> None:
    body = trace(http, P + "VIN-1", direction="up")
    assert body["handle"] == P + "VIN-1"
    assert body["direction"] == "up"
    assert body["truncated"] is False
    assert depths(body) == {
        "VIN-1": 0, "PART-1": 1, "PART-2": 1, "COIL-1": 2, "COIL-2": 2, "SLAB-1": 3, "HEAT-1": 4,
    }  # fmt: skip
    # Edges are the links as declared: from the record holding the value to the handle it names.
    assert edges(body) == {
        ("PART-1", "VIN-1", "installedIn"),
        ("PART-2", "VIN-1", "installedIn"),
        ("PART-1", "COIL-1", "madeFrom"),
        ("PART-2", "COIL-2", "madeFrom"),
        ("COIL-1", "SLAB-1", "madeFrom"),
        ("COIL-2", "SLAB-1", "madeFrom"),
        ("SLAB-1", "HEAT-1", "madeFrom"),
    }
    heat = next(n for n in body["nodes"] if n["handle"] == P + "HEAT-1")
    assert heat["values"] == {"URL": "https://mes.acme.example/HEAT-1", "no": "HEAT-1"}


def test_down_from_the_heat_reaches_every_vehicle_and_the_shipment(http: httpx.Client, chain: None) -> None:
    body = trace(http, P + "HEAT-1", direction="down")
    assert depths(body) == {
        "HEAT-1": 0, "SLAB-1": 1, "SLAB-2": 1, "COIL-1": 2, "COIL-2": 2, "COIL-3": 2,
        "PART-1": 3, "PART-2": 3, "PART-3": 3, "PART-4": 3, "VIN-1": 4, "VIN-2": 4, "SHIP-1": 4,
    }  # fmt: skip
    assert ("COIL-3", "SLAB-2", "madeFrom") in edges(body)  # LINK.madeFrom is madeFrom
    assert ("PART-1", "SHIP-1", "shippedIn") in edges(body)
    # The private link of PART-4 to VIN-2 is not shown to an anonymous caller; its owner sees it.
    assert ("PART-4", "VIN-2", "installedIn") not in edges(body)
    owned = trace(http, P + "HEAT-1", ACME_AUTH, direction="down")
    assert ("PART-4", "VIN-2", "installedIn") in edges(owned)


def test_both_ways_from_a_coil(http: httpx.Client, chain: None) -> None:
    body = trace(http, P + "COIL-1")  # both by default
    assert body["direction"] == "both"
    assert depths(body) == {"COIL-1": 0, "SLAB-1": 1, "HEAT-1": 2, "PART-1": 1, "VIN-1": 2, "SHIP-1": 2}


def test_depth_and_type_limit_the_trace(http: httpx.Client, chain: None) -> None:
    shallow = trace(http, P + "HEAT-1", direction="down", depth=2)
    assert set(depths(shallow)) == {"HEAT-1", "SLAB-1", "SLAB-2", "COIL-1", "COIL-2", "COIL-3"}
    made = trace(http, P + "HEAT-1", direction="down", type="madeFrom")
    assert {"VIN-1", "VIN-2", "SHIP-1"}.isdisjoint(depths(made))
    assert {t for _, _, t in edges(made)} == {"madeFrom"}
    shipped = trace(http, P + "COIL-1", direction="down", type=["installedIn", "LINK.shippedIn"])
    assert depths(shipped) == {"COIL-1": 0}  # the parts are made from the coil: no madeFrom, no path
    into = trace(http, P + "PART-1", direction="down", type="installedIn,shippedIn")
    assert depths(into) == {"PART-1": 0, "VIN-1": 1, "SHIP-1": 1}


def test_values_the_caller_may_not_read_are_not_shown(http: httpx.Client, chain: None) -> None:
    anonymous = trace(http, P + "PART-3", direction="down")
    vin = next(n for n in anonymous["nodes"] if n["handle"] == P + "VIN-2")
    assert "buyer" not in vin["values"]
    owned = trace(http, P + "PART-3", ACME_AUTH, direction="down")
    vin = next(n for n in owned["nodes"] if n["handle"] == P + "VIN-2")
    assert vin["values"]["buyer"] == "Fleet Co"
    # Up from VIN-2, anonymous callers reach PART-3 only: PART-4's link to it is private.
    assert "PART-4" not in depths(trace(http, P + "VIN-2", direction="up"))
    assert "PART-4" in depths(trace(http, P + "VIN-2", ACME_AUTH, direction="up"))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"direction": "sideways"}, "direction is up, down or both"),
        ({"depth": "0"}, "depth is from 1 to 50"),
        ({"depth": "51"}, "depth is from 1 to 50"),
        ({"depth": "ten"}, "depth is a number of links"),
    ],
)
def test_bad_parameters_are_refused(
    http: httpx.Client, chain: None, params: dict[str, str], message: str
) -> None:
    response = http.get(f"/api/trace/{P}HEAT-1", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["responseCode"] == 4
    assert message in body["message"]


def test_an_unknown_or_invalid_root(http: httpx.Client, chain: None) -> None:
    response = http.get(f"/api/trace/{P}NOTHING")
    assert (response.status_code, response.json()) == (404, {"responseCode": 100, "handle": P + "NOTHING"})
    response = http.get(f"/api/trace/{P}BAD%01")  # a control character
    assert (response.status_code, response.json()["responseCode"]) == (400, 102)
    # As for GET, a name without a slash is a prefix, asked for as its prefix handle.
    assert http.get(f"/api/trace/{ACME}").json()["handle"] == f"0.NA/{ACME}"


def test_bad_links_are_refused_on_write_with_clear_errors(http: httpx.Client, chain: None) -> None:
    unknown = [{"index": 2100, "type": "madeFrom", "data": P + "SLAB-404"}]
    response = put(http, "COIL-9", unknown)
    assert response.status_code == 400
    assert response.json()["responseCode"] == 202
    assert "88.999.1/SLAB-404, which does not exist" in response.json()["message"]
    assert http.get(f"/api/handles/{P}COIL-9").status_code == 404

    cycle = [{"index": 2100, "type": "madeFrom", "data": P + "VIN-1"}]  # the heat made from a vehicle
    response = put(http, "HEAT-1", cycle, index="various")
    assert response.status_code == 400
    assert response.json()["responseCode"] == 202
    assert "would make a cycle" in response.json()["message"]


def test_an_snms_batch_fails_the_item_with_a_bad_link_alone(http: httpx.Client, chain: None) -> None:
    login = http.post("/identity/token", json={"username": ACME, "password": ACME_SECRET}).json()
    headers = {"Authorization": f"Bearer {login['data']['token']}"}

    def item(suffix: str, target: str) -> dict[str, Any]:
        data = {"format": "string", "value": P + target}
        return {"handle": P + suffix, "value": [{"index": 2100, "type": "madeFrom", "data": data}]}

    items = [item("COIL-7", "SLAB-2"), item("COIL-8", "SLAB-404")]
    answer = http.post("/identityv2/data/batchCreate", json=items, headers=headers).json()
    assert answer["status"] == 1, answer
    results = {r["handle"]: r for r in answer["data"]}
    assert results[P + "COIL-7"]["code"] == 1
    assert results[P + "COIL-8"]["code"] == -2
    assert "SLAB-404, which does not exist" in results[P + "COIL-8"]["msg"]
    assert "COIL-7" in depths(trace(http, P + "SLAB-2", direction="down", depth=1))


def test_the_openapi_document_describes_the_trace(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    operation = document["paths"]["/api/trace/{handle}"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"handle", "direction", "depth", "type"}
    assert "200" in operation["responses"]


def test_the_sdk_traces(node: RunningNode, chain: None) -> None:
    with NodeClient(node.url) as client:
        found = client.trace(P + "VIN-1", direction="up", depth=2, types=["installedIn", "LINK.madeFrom"])
        assert isinstance(found, Trace)
        assert {n.handle for n in found.nodes} == {
            P + "VIN-1",
            P + "PART-1",
            P + "PART-2",
            P + "COIL-1",
            P + "COIL-2",
        }
        assert TraceEdge(P + "PART-1", P + "COIL-1", "madeFrom") in found.edges
        part = found.node(P + "PART-1")
        assert part is not None
        assert part.values["no"] == "PART-1"
        assert P + "PART-4" not in {n.handle for n in client.trace(P + "VIN-2", direction="up").nodes}
        with pytest.raises(NotFoundError):
            client.trace(P + "NOTHING")
        with pytest.raises(RequestError, match="direction is up, down or both"):
            client.trace(P + "VIN-1", direction="sideways")
    with NodeClient(node.url, username=f"300:0.NA/{ACME}", secret=ACME_SECRET) as client:
        owned = client.trace(P + "VIN-2", direction="up", authenticated=True)
        assert P + "PART-4" in {n.handle for n in owned.nodes}


def test_the_cli_traces(node: RunningNode, chain: None) -> None:
    args = ["trace", P + "HEAT-1", "--direction", "down", "--depth", "1", "--node", node.url]
    table = cli(args, node.env).stdout
    assert f"{P}SLAB-1 --madeFrom--> {P}HEAT-1" in table
    body = json.loads(cli([*args, "--output", "json"], node.env).stdout)
    assert {n["handle"] for n in body["nodes"]} == {P + "HEAT-1", P + "SLAB-1", P + "SLAB-2"}
    missing = cli(["trace", P + "NOTHING", "--node", node.url], node.env, check=False)
    assert (missing.returncode, missing.stderr.strip()) == (1, f"{P}NOTHING: not found")
    auth = ["--user", f"300:0.NA/{ACME}", "--secret", ACME_SECRET]
    owned = cli(
        ["trace", P + "VIN-2", "--direction", "up", "--output", "json", *auth, "--node", node.url], node.env
    )
    assert P + "PART-4" in {n["handle"] for n in json.loads(owned.stdout)["nodes"]}
