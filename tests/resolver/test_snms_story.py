"""The SNMS story, end to end on a running node (SQLite and PostgreSQL): the node operator onboards a steel
enterprise, its administrator logs in through SNMS, creates the coil template, registers 2,000 coils in one
batch; a supplier reads them through Handle REST and SNMS; updates and deletions follow; another enterprise is
refused throughout; malformed requests are answered in the envelope, never with a server error."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_SECRET, OTHER_SECRET
from tests.resolver.conftest import ADMIN_USER, RunningNode

STEEL_PREFIX = "88.999.5"
STEEL_SECRET = "steel-admin-secret"
HEX_VALUE = {"index": 2000, "type": "heatNo", "data": {"format": "hex", "value": "00"}}


def coil(n: int, **overrides: str) -> dict[str, Any]:
    fields = {"heatNo": f"H26{n // 40:06d}", "coilNo": f"C{n:09d}", "grade": "Q355B GB/T 1591-2018",
              "thicknessMm": "3.75", "weightKg": "21450"} | overrides  # fmt: skip
    index = {"heatNo": 2000, "coilNo": 2002, "grade": 2003, "thicknessMm": 2004, "weightKg": 2006}
    value = [
        {"index": index[k], "type": k, "auth": "", "data": {"format": "string", "value": v}}
        for k, v in fields.items()
    ]
    return {"handle": f"{STEEL_PREFIX}/COIL-{n:07d}", "templateVersion": "1.0", "value": value}


class Snms:
    """An SNMS client as Chinese MES connectors call the API."""

    def __init__(self, http: httpx.Client, username: str, password: str, *, dated: bool = False) -> None:
        self.http = http
        path = "/identity/token/v1" if dated else "/identity/token"
        answer = http.post(path, json={"username": username, "password": password}).json()
        assert answer["status"] == 1, answer
        self.headers = {"Authorization": f"Bearer {answer['data']['token']}"}

    def call(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        response = self.http.request(method, path, json=body, params=params, headers=self.headers)
        assert response.status_code == 200, response.text  # SNMS answers everything in the envelope
        answer: dict[str, Any] = response.json()
        assert set(answer) == {"status", "message", "data"}
        return answer


@pytest.fixture(scope="module")
def steel(node: RunningNode) -> dict[str, Any]:
    """The node operator onboards the steel enterprise through the administration API."""
    with httpx.Client(base_url=node.url, auth=(ADMIN_USER, ADMIN_SECRET), timeout=60) as admin:
        made = admin.post(
            "/api/admin/enterprises",
            json={"name": "鄂州低碳冶金有限公司", "creditCode": "91350100M000100Y43", "industry": "C3130",
                  "prefix": STEEL_PREFIX, "secret": STEEL_SECRET},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        user = admin.post(
            f"/api/admin/enterprises/{STEEL_PREFIX}/users",
            json={"username": "mill-mes", "password": "pw-mes"},
        )
        assert user.status_code == 201, user.text
        return dict(made.json())


@pytest.fixture(scope="module")
def mill(node: RunningNode, steel: dict[str, Any]) -> Iterator[Snms]:
    """The steel enterprise's administrator, logged in through SNMS with the prefix as user name."""
    del steel
    with httpx.Client(base_url=node.url, timeout=60) as http:
        yield Snms(http, STEEL_PREFIX, STEEL_SECRET)


@pytest.fixture(scope="module")
def template(mill: Snms) -> dict[str, Any]:
    body = json.loads(
        resources.files("registry.template_data").joinpath("steel-coil.json").read_text("utf-8")
    )
    body["prefix"] = STEEL_PREFIX
    answer = mill.call("POST", "/snms/api/v5/template", body)
    assert answer["status"] == 1, answer
    return dict(body)


@pytest.fixture(scope="module")
def registered(mill: Snms, template: dict[str, Any]) -> list[str]:
    del template
    answer = mill.call("POST", "/identityv2/data/batchCreate", [coil(n) for n in range(2000)])
    assert answer["status"] == 1, answer
    assert [item["code"] for item in answer["data"]] == [1] * 2000
    return [item["handle"] for item in answer["data"]]


@pytest.fixture(scope="module")
def supplier(node: RunningNode, steel: dict[str, Any]) -> Iterator[Snms]:
    """Another enterprise (a supplier) logged in with its own account."""
    del steel
    with httpx.Client(base_url=node.url, timeout=60) as http:
        yield Snms(http, "88.999.2", OTHER_SECRET)


def test_the_template_reads_back_as_it_was_created(mill: Snms, template: dict[str, Any]) -> None:
    answer = mill.call("GET", "/snms/api/v5/template", prefix=STEEL_PREFIX, version="1.0")

    assert answer["status"] == 1
    assert [i["idType"] for i in answer["data"]["items"]] == [i["idType"] for i in template["items"]]
    assert mill.call("GET", "/snms/api/v3/template", prefix=STEEL_PREFIX)["data"][0]["version"] == "1.0"


def test_registered_coils_resolve_through_handle_rest_and_snms(
    http: httpx.Client, supplier: Snms, registered: list[str]
) -> None:
    rest = http.get(f"/api/handles/{registered[42]}").json()
    detail = supplier.call("GET", "/identityv2/data/detail", handle=registered[42])

    assert [(v["index"], v["type"]) for v in rest["values"]][:2] == [(1001, "TEMPLATE"), (2000, "heatNo")]
    assert detail["status"] == 1
    assert detail["data"]["templateVersion"] == "1.0"
    assert detail["data"]["prefix"] == STEEL_PREFIX
    assert [(v["index"], v["data"]["value"]) for v in detail["data"]["value"]] == [
        (v["index"], v["data"]["value"]) for v in rest["values"]
    ]


def test_a_record_made_through_handle_rest_reads_through_snms(
    http: httpx.Client, supplier: Snms, template: Any
) -> None:
    del template
    values = [{"index": 1001, "type": "TEMPLATE", "data": "1.0"}] + coil(9001)["value"]
    put = http.put(
        f"/api/handles/{STEEL_PREFIX}/COIL-REST",
        json=values,
        auth=(STEEL_PREFIX.join(["300%3A0.NA/", ""]), STEEL_SECRET),
    )

    assert put.status_code == 201, put.text  # a new handle
    detail = supplier.call("GET", "/identityv2/data/detail", handle=f"{STEEL_PREFIX}/COIL-REST")["data"]
    assert (detail["templateVersion"], len(detail["value"])) == ("1.0", 6)


def test_a_retried_create_answers_already_exists_and_leaves_one_record(
    mill: Snms, registered: list[str]
) -> None:
    again = mill.call("POST", "/identityv2/data", coil(7))
    in_batch = mill.call("POST", "/identityv2/data/batchCreate", [coil(7), coil(2001)])

    assert (again["status"], again["message"]) == (-2, "标识已存在")
    assert [(i["code"], i["msg"]) for i in in_batch["data"]] == [(-2, "标识已存在"), (1, "success")]
    assert registered[7] == f"{STEEL_PREFIX}/COIL-0000007"


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"value": []}, "缺少必填模板项 heatNo（炉号）"),
        ({"weightKg": "heavy"}, "weightKg（重量（kg））的值应为数字"),
        ({"heatNo": "H" * 21}, "heatNo（炉号）的值过长"),
        ({"templateVersion": "9.9"}, "没有版本为 9.9 的模板"),
    ],
)
def test_values_that_break_the_template_are_refused_naming_the_item(
    mill: Snms, template: Any, changed: dict[str, str], message: str
) -> None:
    del template
    body = coil(3000)
    if "value" in changed or "templateVersion" in changed:
        body |= changed
    else:
        body = coil(3000, **changed)

    answer = mill.call("POST", "/identityv2/data", body)

    assert answer["status"] == -2
    assert message.replace(" ", "") in answer["message"].replace(" ", "")


def test_updates_and_batch_deletes(http: httpx.Client, mill: Snms, registered: list[str]) -> None:
    update = mill.call("PUT", "/identityv2/data", coil(10, grade="Q235B GB/T 700-2006"))
    batch = mill.call("PUT", "/identityv2/data/batchUpdate", [coil(11, weightKg="20000"), coil(5555)])
    deleted = mill.call(
        "DELETE", "/identityv2/data/batchDelete", [*registered[100:110], f"{STEEL_PREFIX}/NEVER"]
    )

    assert update["status"] == 1
    assert "Q235B" in json.dumps(http.get(f"/api/handles/{registered[10]}").json())
    assert [i["code"] for i in batch["data"]] == [1, -2]
    assert [i["code"] for i in deleted["data"]] == [1] * 10 + [-2]
    assert http.get(f"/api/handles/{registered[105]}").status_code == 404


def test_another_enterprise_is_refused_with_minus_3_throughout(supplier: Snms, registered: list[str]) -> None:
    single = supplier.call("POST", "/identityv2/data", coil(4000))
    change = supplier.call("PUT", "/identityv2/data", coil(1))
    batch = supplier.call("DELETE", "/identityv2/data/batchDelete", registered[:3])
    gone = supplier.call("DELETE", "/identityv2/data", {"handle": registered[0]})
    template = supplier.call("DELETE", "/snms/api/v5/template", {"prefix": STEEL_PREFIX, "version": "1.0"})

    assert [single["status"], change["status"], gone["status"], template["status"]] == [-3, -3, -3, -3]
    assert [i["code"] for i in batch["data"]] == [-3, -3, -3]


def test_a_template_in_use_cannot_be_deleted_and_its_items_only_disabled(
    mill: Snms, template: dict[str, Any], registered: list[str]
) -> None:
    del registered
    removed = mill.call("DELETE", "/snms/api/v5/template", {"prefix": STEEL_PREFIX, "version": "1.0"})
    without_item = template | {"items": template["items"][:-1]}
    dropped = mill.call("PUT", "/snms/api/v5/template", without_item)
    disabled = [
        item | {"state": 0} if item["idType"] == "millCertUrl" else item for item in template["items"]
    ]
    switched_off = mill.call("PUT", "/snms/api/v5/template", template | {"items": disabled})

    assert (removed["status"], removed["message"].split("：")[0]) == (-2, "模板已被标识使用，不能删除")
    assert dropped["status"] == -2
    assert "只能停用" in dropped["message"]
    assert switched_off["status"] == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/identityv2/data", "not json"),
        ("POST", "/identityv2/data", {"handle": "no-slash", "value": []}),
        (
            "POST",
            "/identityv2/data",
            {"handle": f"{STEEL_PREFIX}/X", "value": [{"index": 1001, "type": "TEMPLATE"}]},
        ),
        (
            "POST",
            "/identityv2/data",
            {
                "handle": f"{STEEL_PREFIX}/X",
                "value": [{"index": 2000, "type": "heatNo", "data": {"format": "hex", "value": "00"}}],
            },
        ),
        ("POST", "/identityv2/data", [1, 2, 3]),
        ("POST", "/identityv2/data/batchCreate", {"not": "a list"}),
        ("POST", "/identityv2/data/batchCreate", [coil(n) for n in range(2001)]),
        ("DELETE", "/identityv2/data/batchDelete", [1, 2]),
        ("DELETE", "/identityv2/data", {"handle": 5}),
        ("POST", "/snms/api/v5/template", {"prefix": STEEL_PREFIX, "version": "2.0", "items": []}),
        (
            "POST",
            "/snms/api/v5/template",
            {"prefix": STEEL_PREFIX, "version": "2.0", "industryCategory": "Z", "items": [{}]},
        ),
        ("GET", "/identityv2/data/detail?handle=", None),
    ],
)
def test_malformed_requests_get_minus_2_with_a_message(mill: Snms, method: str, path: str, body: Any) -> None:
    content = body.encode() if isinstance(body, str) else None
    response = mill.http.request(
        method, path, json=None if content else body, content=content,
        headers=mill.headers | {"Content-Type": "application/json"},
    )  # fmt: skip

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == -2
    assert answer["message"]


def test_without_a_valid_token_the_answer_is_minus_1(http: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer forged.token"}, {"Authorization": "Basic abc"}):
        answer = http.get(
            "/identityv2/data/detail", params={"handle": f"{STEEL_PREFIX}/COIL-0000001"}, headers=headers
        ).json()
        assert (answer["status"], answer["message"]) == (-1, "未登录或登录已过期")


def test_wrong_passwords_are_minus_2_and_the_dated_login_works(http: httpx.Client, steel: Any) -> None:
    del steel
    wrong = http.post("/identity/token", json={"username": STEEL_PREFIX, "password": "nope"}).json()
    today = datetime.now(UTC).astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d")
    inner = hashlib.sha256(STEEL_SECRET.encode()).hexdigest()
    dated = hashlib.sha256((inner + today).encode()).hexdigest()

    assert (wrong["status"], wrong["message"]) == (-2, "用户名或密码错误")
    assert Snms(http, STEEL_PREFIX, dated, dated=True).call(
        "GET", "/identityv2/data/detail", handle=f"{STEEL_PREFIX}/COIL-0000001"
    )["status"] in (1, -2)


def test_disabling_a_user_ends_its_tokens_at_once(node: RunningNode, http: httpx.Client, steel: Any) -> None:
    del steel
    mes = Snms(http, "mill-mes", "pw-mes")
    assert mes.call("GET", "/identityv2/data/detail", handle=f"{STEEL_PREFIX}/COIL-0000001")["status"] in (
        1,
        -2,
    )

    with httpx.Client(base_url=node.url, auth=(ADMIN_USER, ADMIN_SECRET)) as admin:
        assert admin.post("/api/admin/users/mill-mes/disable").status_code == 200

    assert mes.call("GET", "/identityv2/data/detail", handle=f"{STEEL_PREFIX}/COIL-0000001")["status"] == -1
