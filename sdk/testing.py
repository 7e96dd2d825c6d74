"""A fake node for testing MES code without a server: an in-memory transport for `NodeClient` and
`AsyncNodeClient`.

    node = FakeNode(users={"88.118.8": "secret"})
    node.add_template("88.118.8", "1.0", {"heatNo": 2000, "coilNo": 2002}, required=["heatNo"])
    client = NodeClient("http://node", username="300:0.NA/88.118.8", secret="secret", transport=node)

It answers the calls the SDK makes (Handle REST resolve, batch resolve, value writes and traces — without the
node's limits of size and visibility, and not checking links —; SNMS login, identifiers, batches and
templates) the way a node does, keeps records in `node.records`, lets a user write only under its own prefix,
and can be made unreachable (`node.unreachable = True`) or busy for the next calls (`node.fail_next(3)`) to
exercise retries and the outbox.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

Values = list[dict[str, Any]]
LINK_TYPES = ("madeFrom", "installedIn", "shippedIn")


@dataclass
class _Template:
    indexes: dict[str, int]
    required: set[str] = field(default_factory=set)


def _reply(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body), headers={"content-type": "application/json"})


def _snms(status: int = 1, message: str = "success", data: Any = None) -> httpx.Response:
    return _reply(200, {"status": status, "message": message, "data": data})


class FakeNode(httpx.BaseTransport, httpx.AsyncBaseTransport):
    def __init__(self, users: Mapping[str, str] | None = None) -> None:
        self.users = dict(users or {})  # SNMS user name (an enterprise prefix) → secret
        self.records: dict[str, Values] = {}
        self.templates: dict[tuple[str, str], _Template] = {}
        self.unreachable = False
        self.requests: list[tuple[str, str]] = []
        self._failures: list[int] = []
        self._tokens: dict[str, str] = {}

    # -- configuring ----------------------------------------------------------------------------------

    def add_template(
        self, prefix: str, version: str, indexes: Mapping[str, int], *, required: Iterable[str] = ()
    ) -> None:
        self.templates[(prefix.upper(), version)] = _Template(dict(indexes), set(required))

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` requests with `status`."""
        self._failures += [status] * count

    def value(self, handle: str, type: str) -> str | None:
        """The text of the first value of `type` in `handle`'s record."""
        return next((v["data"]["value"] for v in self.records.get(handle, []) if v["type"] == type), None)

    # -- the transport --------------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if self.unreachable:
            raise httpx.ConnectError("the fake node is unreachable", request=request)
        if self._failures:
            return _reply(self._failures.pop(0), {"responseCode": 3, "message": "busy"})
        body = orjson.loads(request.content) if request.content else None
        path = unquote(request.url.path)
        if path.startswith("/api/handles/"):
            return self._handles(request, path[len("/api/handles/") :], body)
        if path.startswith("/api/trace/") and request.method == "GET":
            return self._trace(request, path[len("/api/trace/") :])
        route = {
            ("POST", "/api/resolve"): self._resolve_many,
            ("POST", "/identity/token"): self._login,
            ("GET", "/snms/api/v5/template"): self._template,
            ("POST", "/identityv2/data"): self._create,
            ("PUT", "/identityv2/data"): self._update,
            ("DELETE", "/identityv2/data"): self._delete,
            ("POST", "/identityv2/data/batchCreate"): self._batch_create,
        }.get((request.method, path))
        if route is None:
            return _reply(
                405, {"responseCode": 5, "message": f"the fake node has no {request.method} {path}"}
            )
        return route(request, body)

    # -- Handle REST ----------------------------------------------------------------------------------

    @staticmethod
    def _normal(handle: str) -> str:
        prefix, _, suffix = handle.partition("/")
        return f"{prefix.upper()}/{suffix}"

    def _handles(self, request: httpx.Request, handle: str, body: Any) -> httpx.Response:
        name = self._normal(handle)
        if request.method == "GET":
            values = self.records.get(name)
            if values is None:
                return _reply(404, {"responseCode": 100, "handle": handle})
            types = request.url.params.get_list("type")
            indexes = [int(i) for i in request.url.params.get_list("index")]
            if types or indexes:
                values = [v for v in values if v["type"] in types or v["index"] in indexes]
            return _reply(200, {"responseCode": 1 if values else 200, "handle": handle, "values": values})
        if request.method == "PUT":
            return self._put_values(request, name, handle, body)
        return _reply(405, {"responseCode": 5, "message": "not in the fake node"})

    def _links(self) -> list[tuple[str, str, str, str, str]]:
        """(origin, product, source, target, relation) of every link value the records hold."""
        found = []
        for source, values in self.records.items():
            for v in values:
                kind, data = v["type"], v["data"]["value"]
                relation = kind[5:] if kind.startswith("LINK.") else kind if kind in LINK_TYPES else ""
                if relation and isinstance(data, str):
                    target = self._normal(data)
                    ends = (target, source) if relation == "madeFrom" else (source, target)
                    found.append((*ends, source, target, relation))
        return found

    def _trace(self, request: httpx.Request, handle: str) -> httpx.Response:
        """A trace as the node answers it, without its limits of size and visibility."""
        root = self._normal(handle)
        if root not in self.records:
            return _reply(404, {"responseCode": 100, "handle": handle})
        params = request.url.params
        direction, depth = params.get("direction", "both"), int(params.get("depth") or 10)
        if direction not in ("up", "down", "both") or not 1 <= depth <= 50:
            return _reply(400, {"responseCode": 4, "message": "direction is up, down or both; depth 1 to 50"})
        types = {t.removeprefix("LINK.") for text in params.get_list("type") for t in text.split(",") if t}
        links = [link for link in self._links() if not types or link[4] in types]
        depths, edges = {root: 0}, {}
        for way in ("up", "down") if direction == "both" else (direction,):
            frontier = [root]
            for level in range(1, depth + 1):
                reached = []
                for origin, product, source, target, relation in links:
                    near, far = (product, origin) if way == "up" else (origin, product)
                    if near in frontier:
                        edges[(source, target, relation)] = {"from": source, "to": target, "type": relation}
                        if far not in depths:
                            depths[far] = level
                            reached.append(far)
                frontier = reached
        nodes = []
        for name, level in depths.items():
            node: dict[str, Any] = {"handle": name, "depth": level, "values": {}}
            if name in self.records:
                node["values"] = {
                    v["type"]: v["data"]["value"]
                    for v in self.records[name]
                    if v["index"] >= 2000
                    and not v["type"].startswith("LINK.")
                    and v["type"] not in LINK_TYPES
                }
            else:
                node["stored"] = False
            nodes.append(node)
        body = {"responseCode": 1, "handle": handle, "direction": direction, "depth": depth}
        return _reply(200, body | {"nodes": nodes, "edges": list(edges.values()), "truncated": False})

    def _basic_user(self, request: httpx.Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return None
        user, _, secret = base64.b64decode(token).decode().partition(":")
        prefix = unquote(user).partition(":")[2].removeprefix("0.NA/")
        return prefix if self.users.get(prefix) == secret else None

    def _put_values(self, request: httpx.Request, name: str, handle: str, body: Any) -> httpx.Response:
        user = self._basic_user(request)
        if user is None:
            return _reply(401, {"responseCode": 402, "handle": handle, "message": "authentication needed"})
        if name.partition("/")[0] != user.upper():
            return _reply(403, {"responseCode": 400, "handle": handle, "message": "not your prefix"})
        if name not in self.records:
            return _reply(404, {"responseCode": 100, "handle": handle})
        taken = {v["index"] for v in self.records[name]}
        if request.url.params.get("overwrite") == "false" and taken & {v["index"] for v in body}:
            return _reply(409, {"responseCode": 201, "handle": handle, "message": "value exists"})
        self.records[name] = [v for v in self.records[name] if v["index"] not in {b["index"] for b in body}]
        self.records[name] = sorted(self.records[name] + body, key=lambda v: v["index"])
        return _reply(200, {"responseCode": 1, "handle": handle})

    def _resolve_many(self, _request: httpx.Request, body: Any) -> httpx.Response:
        results = []
        for handle in body["handles"]:
            values = self.records.get(self._normal(handle))
            found = {"responseCode": 1, "handle": handle, "values": values}
            results.append(found if values is not None else {"responseCode": 100, "handle": handle})
        return _reply(200, {"results": results})

    # -- SNMS -----------------------------------------------------------------------------------------

    def _login(self, _request: httpx.Request, body: Any) -> httpx.Response:
        if self.users.get(body.get("username")) != body.get("password"):
            return _snms(-2, "用户名或密码错误")
        token = f"fake-{len(self._tokens)}"
        self._tokens[token] = body["username"]
        return _snms(data={"token": token})

    def _user(self, request: httpx.Request) -> str | None:
        return self._tokens.get(request.headers.get("authorization", "").removeprefix("Bearer "))

    def _template(self, request: httpx.Request, _body: Any) -> httpx.Response:
        if self._user(request) is None:
            return _snms(-1, "未登录或登录已过期")
        key = (request.url.params.get("prefix", "").upper(), request.url.params.get("version", ""))
        template = self.templates.get(key)
        if template is None:
            return _snms(-2, "模板不存在")
        items = [
            {"idType": t, "idIndex": i, "required": t in template.required}
            for t, i in template.indexes.items()
        ]
        return _snms(data={"prefix": key[0], "version": key[1], "items": items})

    def _check(self, user: str, item: Any) -> tuple[int, str] | None:
        """Why the node would refuse this SNMS identifier, or None."""
        name = self._normal(item["handle"])
        if name.partition("/")[0] != user.upper():
            return -3, "无权限操作"
        version = item.get("templateVersion")
        if version:
            template = self.templates.get((name.partition("/")[0], version))
            if template is None:
                return -2, f"参数错误：没有版本为 {version} 的模板"
            sent = {v["type"]: v["index"] for v in item["value"]}
            wrong = [t for t, i in sent.items() if template.indexes.get(t) != i]
            if wrong:
                return -2, f"参数错误：模板中没有 {wrong[0]}"
            missing = template.required - sent.keys()
            if missing:
                return -2, f"参数错误：缺少必填模板项 {sorted(missing)[0]}"
        return None

    def _stored(self, item: Any) -> Values:
        values = [
            {"index": v["index"], "type": v["type"], "data": v["data"], "ttl": 86400} for v in item["value"]
        ]
        if item.get("templateVersion"):
            template = {"format": "string", "value": item["templateVersion"]}
            values.append({"index": 1001, "type": "TEMPLATE", "data": template, "ttl": 86400})
        return sorted(values, key=lambda v: v["index"])

    def _create_one(self, user: str, item: Any) -> tuple[int, str]:
        refused = self._check(user, item)
        if refused is not None:
            return refused
        name = self._normal(item["handle"])
        if name in self.records:
            return -2, "标识已存在"
        self.records[name] = self._stored(item)
        return 1, "success"

    def _create(self, request: httpx.Request, body: Any) -> httpx.Response:
        user = self._user(request)
        if user is None:
            return _snms(-1, "未登录或登录已过期")
        status, message = self._create_one(user, body)
        return _snms(status, message, True if status == 1 else None)

    def _batch_create(self, request: httpx.Request, body: Any) -> httpx.Response:
        user = self._user(request)
        if user is None:
            return _snms(-1, "未登录或登录已过期")
        if len(body) > 2000:
            return _snms(-2, "参数错误：单次最多 2000 条")
        results = []
        for item in body:
            code, message = self._create_one(user, item)
            results.append({"handle": item["handle"], "code": code, "msg": message})
        return _snms(data=results)

    def _update(self, request: httpx.Request, body: Any) -> httpx.Response:
        user = self._user(request)
        if user is None:
            return _snms(-1, "未登录或登录已过期")
        refused = self._check(user, body)
        if refused is not None:
            return _snms(*refused)
        name = self._normal(body["handle"])
        if name not in self.records:
            return _snms(-2, "标识不存在")
        fresh = self._stored(body)
        replaced = {v["index"] for v in fresh}
        kept = [v for v in self.records[name] if v["index"] < 2000 and v["index"] not in replaced | {1001}]
        self.records[name] = sorted(kept + fresh, key=lambda v: v["index"])
        return _snms(data=True)

    def _delete(self, request: httpx.Request, body: Any) -> httpx.Response:
        user = self._user(request)
        if user is None:
            return _snms(-1, "未登录或登录已过期")
        name = self._normal(body["handle"])
        if name.partition("/")[0] != user.upper():
            return _snms(-3, "无权限操作")
        if self.records.pop(name, None) is None:
            return _snms(-2, "标识不存在")
        return _snms(data=True)
