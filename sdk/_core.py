"""The SDK's logic, with no I/O in it: every operation is a generator that yields the HTTP calls it needs
and receives their replies; the sync and async clients only send them (as dnspython's resolvers share one
`_Resolution`). Authentication, SNMS tokens and their refresh, value indexes from data templates, answers
into results and errors, and making a retried create safe all live here.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from . import _errors as errors
from ._models import (
    LINK_INDEXES,
    TEMPLATE_INDEX,
    HandleValue,
    Record,
    ScanField,
    ScanResult,
    Trace,
    WriteResult,
)
from ._trust import NodeTrust, SigningKey, VerifiedRecord, sign_record

T = TypeVar("T")
MAX_RESOLVE = 1_000
TOKEN_LIFETIME = 24 * 3600
TOKEN_MARGIN = 3600  # a token is renewed an hour before it expires
EXISTS, MISSING = "标识已存在", "标识不存在"

Values = Mapping[str, str] | Sequence[HandleValue]


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP call an operation needs. `safe`: it may be sent again after a timeout."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    safe: bool = True


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any
    attempt: int = 1  # how many times the call was sent


Op = Generator[Call, Reply, T]


def handle_path(handle: str) -> str:
    return "/api/handles/" + quote(handle, safe="/")


@dataclass(frozen=True, slots=True)
class Write:
    """A write, described so that it can wait in the outbox and be done later, in order."""

    op: str  # register, update, delete, link, register_many
    handle: str = ""
    values: Any = None  # a type → text mapping, or HandleValue JSON; link: the relation
    template_version: str | None = None
    extra: str = ""  # link: the parent
    items: tuple[Write, ...] = ()

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"op": self.op, "handle": self.handle, "values": self.values}
        body |= {"template_version": self.template_version, "extra": self.extra}
        return body | {"items": [item.to_json() for item in self.items]}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Write:
        items = tuple(cls.from_json(item) for item in body.get("items", ()))
        return cls(body["op"], body["handle"], body["values"], body["template_version"], body["extra"], items)


def values_json(values: Values) -> Any:
    """Values as the outbox keeps them."""
    if isinstance(values, Mapping):
        return dict(values)
    return [{"index": v.index, "type": v.type, "value": v.value, "format": v.format} for v in values]


def _values_back(stored: Any) -> Values:
    if isinstance(stored, dict):
        return stored
    return [HandleValue(v["index"], v["type"], v["value"], v["format"]) for v in stored]


class Core:
    """The state a client keeps (its credentials, token, the templates it has read) and its operations."""

    def __init__(
        self, *, username: str | None, secret: str | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._username = username
        self._secret = secret
        self._clock = clock
        self._token: str | None = None
        self._token_until = 0.0
        self._templates: dict[tuple[str, str], dict[str, int]] = {}

    # -- authentication -----------------------------------------------------------------------------------

    def _need_credentials(self) -> tuple[str, str]:
        if not self._username or not self._secret:
            raise errors.AuthenticationError("this needs a username and secret")
        return self._username, self._secret

    @property
    def snms_user(self) -> str:
        """The SNMS user name: `300:0.NA/88.118.8` logs in as `88.118.8`; other names as they are."""
        username, _ = self._need_credentials()
        head, _, handle = username.partition(":")
        if head.isdigit() and handle.upper().startswith("0.NA/"):
            return handle[5:]
        return username

    def basic(self) -> dict[str, str]:
        username, secret = self._need_credentials()
        raw = f"{quote(username, safe='/')}:{secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def _handle_rest(self, call: Call) -> Op[Reply]:
        """A Handle REST call with the client's credentials (Basic here; a key's session in `KeyCore`)."""
        reply = yield replace(call, headers=self.basic())
        return reply

    def _login(self) -> Op[str]:
        _, secret = self._need_credentials()
        reply = yield Call("POST", "/identity/token", body={"username": self.snms_user, "password": secret})
        envelope = _envelope(reply)
        if envelope["status"] != 1:
            raise errors.AuthenticationError(
                envelope.get("message") or "login refused", code=envelope["status"]
            )
        self._token = str(envelope["data"]["token"])
        self._token_until = self._clock() + TOKEN_LIFETIME - TOKEN_MARGIN
        return self._token

    def _snms(self, call: Call) -> Op[dict[str, Any]]:
        envelope, _ = yield from self._snms_sent(call)
        return envelope

    def _snms_sent(self, call: Call) -> Op[tuple[dict[str, Any], int]]:
        """An SNMS call with a valid token (logging in again when there is none or the node forgot it): its
        envelope, and how many times the last send went out."""
        for login in (1, 2):
            if self._token is None or self._clock() >= self._token_until:
                yield from self._login()
            headers = {"Authorization": f"Bearer {self._token}"}
            reply = yield Call(call.method, call.path, call.params, call.body, headers, call.safe)
            envelope = _envelope(reply)
            if envelope["status"] != -1 or login == 2:
                return envelope, reply.attempt
            self._token = None
        raise AssertionError("unreachable")

    # -- reading ------------------------------------------------------------------------------------------

    def resolve(
        self, handle: str, types: Sequence[str] = (), indexes: Sequence[int] = ()
    ) -> Op[Record | None]:
        params = tuple(("type", t) for t in types) + tuple(("index", str(i)) for i in indexes)
        reply = yield Call("GET", handle_path(handle), params)
        return _record_of(handle, reply.status, reply.body)

    def trace(
        self,
        handle: str,
        direction: str,
        depth: int | None,
        types: Sequence[str],
        *,
        authenticated: bool = False,
    ) -> Op[Trace]:
        """The genealogy of `handle` (`GET /api/trace/…`): anonymous, or as the client's principal."""
        params = (("direction", direction),) + ((("depth", str(depth)),) if depth is not None else ())
        call = Call(
            "GET", "/api/trace/" + quote(handle, safe="/"), params + tuple(("type", t) for t in types)
        )
        reply = (yield from self._handle_rest(call)) if authenticated else (yield call)
        _raise_for(reply.status, reply.body, handle)
        return Trace.from_json(reply.body)

    def fetch_values(self, handle: str) -> Op[list[dict[str, Any]] | None]:
        """The public values of `handle` as Handle REST JSON (None: not found), for checking signatures."""
        reply = yield Call("GET", handle_path(handle))
        if reply.status == 404:
            return None
        _raise_for(reply.status, reply.body, handle)
        return list(reply.body.get("values") or [])

    def resolve_signed(
        self, handle: str, types: Sequence[str], indexes: Sequence[int], trust: NodeTrust
    ) -> Op[tuple[Record | None, Any]]:
        """A `cert=true` resolution, its signature checked (`SignatureError` if it is missing or bad)."""
        params = tuple(("type", t) for t in types) + tuple(("index", str(i)) for i in indexes)
        reply = yield Call("GET", handle_path(handle), (*params, ("cert", "true")))
        if reply.status not in (200, 404):
            _raise_for(reply.status, reply.body, handle)
        yield from trust.answer(handle, reply.body, self.fetch_values)
        return _record_of(handle, reply.status, reply.body), reply.body

    def verify_record(self, handle: str, trust: NodeTrust) -> Op[VerifiedRecord]:
        """A signed resolution whose value signatures are checked as well."""
        record, body = yield from self.resolve_signed(handle, (), (), trust)
        if record is None:
            raise errors.NotFoundError(handle=handle)
        signed = yield from trust.record(handle, body["values"], self.fetch_values)
        return VerifiedRecord(record, signed)

    def sign(self, handle: str, key: SigningKey, index: int) -> Op[WriteResult]:
        """Sign the values anyone may read of `handle` with the enterprise's `key` (HS_SIGNATURE)."""
        values = yield from self.fetch_values(handle)
        if values is None:
            raise errors.NotFoundError(handle=handle)
        value = sign_record(handle, values, private_key=key, index=index)
        put = Call("PUT", handle_path(handle), (("index", str(index)),), {"values": [value]}, self.basic())
        reply = yield put
        _raise_for(reply.status, reply.body, handle)
        return WriteResult(handle, "updated")

    def resolve_many(self, handles: Sequence[str]) -> Op[list[Record | None]]:
        found: list[Record | None] = []
        for start in range(0, len(handles), MAX_RESOLVE):
            chunk = list(handles[start : start + MAX_RESOLVE])
            reply = yield Call("POST", "/api/resolve", body={"handles": chunk})
            _raise_for(reply.status, reply.body)
            found += [
                _record_of(h, 200 if r["responseCode"] != 100 else 404, r)
                for h, r in zip(chunk, reply.body["results"], strict=True)
            ]
        return found

    def scan(self, text: str) -> Op[ScanResult]:
        """What the node understands `text` (as a scanner delivered it) as, and the records it leads to."""
        reply = yield Call("POST", "/api/scan", body={"data": text})
        _raise_for(reply.status, reply.body)
        body = reply.body
        handles = tuple(body["handles"])
        return ScanResult(
            body["kind"],
            tuple(_scan_field(found) for found in body["fields"]),
            dict(body["keys"]),
            handles,
            tuple(
                _record_of(h, 200 if r["responseCode"] != 100 else 404, r)
                for h, r in zip(handles, body["records"], strict=True)
            ),
            body.get("note"),
        )

    def handles_page(self, prefix: str, page: int, page_size: int) -> Op[tuple[int, list[str]]]:
        """One page (zero-based) of the handles under `prefix`, and how many there are in all."""
        params = (("prefix", prefix), ("page", str(page)), ("pageSize", str(page_size)))
        reply = yield from self._handle_rest(Call("GET", "/api/handles", params))
        _raise_for(reply.status, reply.body)
        return int(reply.body["totalCount"]), list(reply.body["handles"])

    def template(self, prefix: str, version: str | None) -> Op[Any]:
        """The template of `prefix` at `version` (its SNMS JSON form), or all its versions."""
        params = (("prefix", prefix),) + ((("version", version),) if version else ())
        envelope = yield from self._snms(Call("GET", "/snms/api/v5/template", params))
        _raise_snms(envelope, None)
        return envelope["data"]

    def add_template(self, body: Mapping[str, Any]) -> Op[None]:
        envelope = yield from self._snms(Call("POST", "/snms/api/v5/template", body=dict(body), safe=False))
        _raise_snms(envelope, None)

    # -- values -------------------------------------------------------------------------------------------

    def _indexes(self, handle: str, template_version: str) -> Op[dict[str, int]]:
        prefix = handle.partition("/")[0]
        key = (prefix.upper(), template_version)
        if key not in self._templates:
            params = (("prefix", prefix), ("version", template_version))
            envelope = yield from self._snms(Call("GET", "/snms/api/v5/template", params))
            _raise_snms(envelope, handle)
            self._templates[key] = {item["idType"]: item["idIndex"] for item in envelope["data"]["items"]}
        return self._templates[key]

    def _resolved_values(
        self, handle: str, values: Values, template_version: str | None
    ) -> Op[list[HandleValue]]:
        """Values with indexes: as given, or from the template by type, else 1, 2, … in order."""
        if not isinstance(values, Mapping):
            return list(values)
        indexes = (yield from self._indexes(handle, template_version)) if template_version else {}
        resolved = []
        for position, (kind, text) in enumerate(values.items(), start=1):
            if template_version and kind not in indexes:
                raise errors.ValidationError(
                    f"template {template_version} has no item of type {kind}", handle=handle
                )
            resolved.append(HandleValue(indexes.get(kind, position), kind, text))
        return resolved

    @staticmethod
    def _snms_record(
        handle: str, values: Sequence[HandleValue], template_version: str | None
    ) -> dict[str, Any]:
        for value in values:
            if value.format != "string" or not isinstance(value.value, str):
                raise errors.ValidationError(
                    f"value {value.index} is not a string; SNMS takes only strings", handle=handle
                )
        body = [
            {"index": v.index, "type": v.type, "auth": "", "data": {"format": "string", "value": v.value}}
            for v in values
        ]
        return {"handle": handle, "templateVersion": template_version or "", "value": body}

    # -- writing ------------------------------------------------------------------------------------------

    def perform(self, write: Write) -> Op[list[WriteResult]]:
        """Do a write (as the outbox keeps it); the results of its records."""
        values = _values_back(write.values) if isinstance(write.values, dict | list) else {}
        if write.op == "register":
            return [(yield from self.register(write.handle, values, write.template_version))]
        if write.op == "update":
            return [(yield from self.update(write.handle, values, write.template_version))]
        if write.op == "delete":
            return [(yield from self.delete(write.handle))]
        if write.op == "link":
            return [(yield from self.link(write.extra, write.handle, relation=str(write.values)))]
        if write.op == "register_many":
            return (yield from self.register_chunk(list(write.items)))
        raise errors.RequestError(f"unknown write {write.op!r}")

    def register(self, handle: str, values: Values, template_version: str | None) -> Op[WriteResult]:
        resolved = yield from self._resolved_values(handle, values, template_version)
        body = self._snms_record(handle, resolved, template_version)
        envelope = yield from self._snms(Call("POST", "/identityv2/data", body=body))
        if envelope["status"] == -2 and envelope["message"] == EXISTS:
            yield from self._check_same(handle, body)
            return WriteResult(handle, "existed")
        _raise_snms(envelope, handle)
        return WriteResult(handle, "created")

    def register_chunk(self, writes: Sequence[Write]) -> Op[list[WriteResult]]:
        """One batchCreate for up to 2,000 records, each with its own result. A record whose values cannot be
        built (a type its template lacks, no such template) fails alone; a create that meets "exists" with
        the same values (a retry of an earlier success) counts as done."""
        results: list[WriteResult | None] = [None] * len(writes)
        sent: list[tuple[int, dict[str, Any]]] = []
        for n, write in enumerate(writes):
            try:
                values = _values_back(write.values)
                resolved = yield from self._resolved_values(write.handle, values, write.template_version)
                sent.append((n, self._snms_record(write.handle, resolved, write.template_version)))
            except (errors.ValidationError, errors.NotFoundError, errors.ForbiddenError) as exc:
                results[n] = WriteResult(write.handle, "failed", exc.message)
        if sent:
            bodies = [body for _, body in sent]
            envelope = yield from self._snms(Call("POST", "/identityv2/data/batchCreate", body=bodies))
            _raise_snms(envelope, None)
            outcomes = yield from self._settle_existing(bodies, [_item_result(i) for i in envelope["data"]])
            for (n, _), outcome in zip(sent, outcomes, strict=True):
                results[n] = outcome
        return [
            r if r is not None else WriteResult(writes[n].handle, "failed") for n, r in enumerate(results)
        ]

    def _settle_existing(
        self, bodies: Sequence[dict[str, Any]], results: list[WriteResult]
    ) -> Op[list[WriteResult]]:
        """Turn "exists" into `existed` where the stored record holds the same values."""
        existing = [n for n, r in enumerate(results) if r.status == "failed" and r.message == EXISTS]
        if existing:
            stored = yield from self.resolve_many([bodies[n]["handle"] for n in existing])
            for n, record in zip(existing, stored, strict=True):
                if record is not None and _same_content(record, bodies[n]):
                    results[n] = WriteResult(bodies[n]["handle"], "existed")
        return results

    def _check_same(self, handle: str, body: dict[str, Any]) -> Op[None]:
        record = yield from self.resolve(handle)
        if record is None or not _same_content(record, body):
            raise errors.ConflictError(f"{handle} exists with other values", handle=handle)

    def update(self, handle: str, values: Values, template_version: str | None) -> Op[WriteResult]:
        resolved = yield from self._resolved_values(handle, values, template_version)
        body = self._snms_record(handle, resolved, template_version)
        envelope = yield from self._snms(Call("PUT", "/identityv2/data", body=body))
        _raise_snms(envelope, handle)
        return WriteResult(handle, "updated")

    def delete(self, handle: str) -> Op[WriteResult]:
        call = Call("DELETE", "/identityv2/data", body={"handle": handle})
        envelope, attempt = yield from self._snms_sent(call)
        if envelope["status"] == -2 and envelope["message"] == MISSING and attempt > 1:
            return WriteResult(handle, "deleted")  # an earlier send did it; only its answer was lost
        _raise_snms(envelope, handle)
        return WriteResult(handle, "deleted")

    def link(self, parent: str, child: str, *, relation: str = "partOf") -> Op[WriteResult]:
        """Record on `child` that it is `relation` of `parent`: a value `LINK.<relation>` (system range)."""
        record = yield from self.resolve(child)
        if record is None:
            raise errors.NotFoundError(f"{child} does not exist", handle=child)
        kind = f"LINK.{relation}"
        if parent in record.links.get(relation, []):
            return WriteResult(child, "existed")
        used = {v.index for v in record.values}
        index = next((i for i in LINK_INDEXES if i not in used), None)
        if index is None:
            raise errors.ValidationError(f"{child} has no room for another link", handle=child)
        params = (("index", str(index)), ("overwrite", "false"))
        body = [{"index": index, "type": kind, "data": {"format": "string", "value": parent}}]
        reply = yield from self._handle_rest(Call("PUT", handle_path(child), params, body))
        _raise_for(reply.status, reply.body, child)
        return WriteResult(child, "linked")


# -- answers into records, results and errors ----------------------------------------------------------------


def _envelope(reply: Reply) -> dict[str, Any]:
    body = reply.body
    if isinstance(body, dict) and {"status", "message", "data"} <= set(body):
        return body
    _raise_for(reply.status, body)
    raise errors.RequestError(f"unexpected answer (HTTP {reply.status})", status=reply.status)


def _same_content(record: Record, body: Mapping[str, Any]) -> bool:
    wanted = sorted((v["index"], v["type"], v["data"]["value"]) for v in body["value"])
    if body.get("templateVersion"):
        wanted = sorted([(TEMPLATE_INDEX, "TEMPLATE", body["templateVersion"]), *wanted])
    indexes = {index for index, _, _ in wanted} | {i for i, _, _ in record.business()}
    have = sorted((v.index, v.type, v.text or "") for v in record.values if v.index in indexes)
    return have == wanted


def _item_result(item: Mapping[str, Any]) -> WriteResult:
    if item["code"] == 1:
        return WriteResult(item["handle"], "created")
    return WriteResult(item["handle"], "failed", str(item["msg"]))


def _scan_field(found: Mapping[str, str]) -> ScanField:
    scheme: Literal["ai", "di"] = "ai" if "ai" in found else "di"
    return ScanField(scheme, found[scheme], found["name"], found["value"])


def _record_of(handle: str, status: int, body: Any) -> Record | None:
    if status == 404 and isinstance(body, dict) and body.get("responseCode") == 100:
        return None
    _raise_for(status, body, handle)
    return Record.from_json(handle, body.get("values", []))


def _raise_for(status: int, body: Any, handle: str | None = None) -> None:
    """Turn a Handle REST error answer into the SDK's exception."""
    if 200 <= status < 300:
        return
    code = body.get("responseCode") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    kind: type[errors.SdkError]
    if status == 401:
        kind = errors.AuthenticationError
    elif status == 403:
        kind = errors.ForbiddenError
    elif status == 404:
        kind = errors.NotFoundError
    elif status == 409:
        kind = errors.ConflictError
    elif code == 102:
        kind = errors.InvalidHandleError
    elif code == 202:
        kind = errors.ValidationError
    elif status >= 500:
        kind = errors.ServiceUnavailable
    else:
        kind = errors.RequestError
    raise kind(message, handle=handle, status=status, code=code)


def _raise_snms(envelope: Mapping[str, Any], handle: str | None) -> None:
    status, message = envelope["status"], str(envelope.get("message") or "")
    if status == 1:
        return
    kind: type[errors.SdkError]
    if status == -1:
        kind = errors.AuthenticationError
    elif status == -3:
        kind = errors.ForbiddenError
    elif status == -4:
        kind = errors.ServiceUnavailable
    elif message == MISSING or message.startswith("模板不存在"):
        kind = errors.NotFoundError
    elif message == EXISTS:
        kind = errors.ConflictError
    elif message.startswith("标识格式错误"):
        kind = errors.InvalidHandleError
    else:
        kind = errors.ValidationError
    raise kind(message, handle=handle, code=status)
