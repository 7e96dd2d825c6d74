"""SNMS identifiers: detail, create, update, delete, and their batches of up to 2,000.

An SNMS record is a template version (stored as the TEMPLATE value at index 1001) and business values
(index ≥ 2000, string data); it is the same record the Handle REST API serves. The detail read goes through
the resolution pipeline like every other read: cached, served stale while the database is down, counted.

A value may be shared with listed enterprises only: `"readers": ["88.999.2"]` in its value object (idnode's
extension, named as in Handle REST; SNMS's own `auth` is a reserved permission code that clients fill with
`""` or `"1"`, so it is left as it is). The detail shows the token's enterprise what the record shares with
it (`registry.visibility`); the record's owners see the readers too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Query, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from registry import (
    Handle,
    HandleNotFound,
    HandleValue,
    InvalidInput,
    InvalidValue,
    ItemResult,
    Principal,
    RecordInput,
    RegistryError,
    delete_many,
    in_turns,
    register_many,
    update_many,
)
from registry.tokens import ForgedToken
from registry.values import TEMPLATE, TEMPLATE_INDEX, StringData, check_readers
from registry.visibility import READERS, Reader
from registry.writes import Records

from ...answer import Answer
from ..context import Context, ContextDep
from ..http import STALE_WARNING
from .envelope import (
    BAD_REQUEST,
    FAILED,
    OK,
    SUCCESS,
    SnmsFailure,
    bearer,
    endpoint,
    envelope,
    json_body,
    ok,
    parsed,
    status_of,
)

router = APIRouter(tags=["SNMS"])

MAX_BATCH = 2_000
MAX_HANDLE, MAX_TYPE, MAX_TEXT, MAX_VERSION = 255, 128, 255, 128
BatchWrite = Callable[[Records, Principal, Sequence[RecordInput]], Awaitable[list[ItemResult]]]


T = TypeVar("T")


async def _unforged(request: Request, context: Context, check: Awaitable[T]) -> T:
    """`check` of a bearer token; a token the node did not sign is counted by the throttle, which refuses
    its address once it sent too many (a valid token never meets the throttle: a signature check is cheap)."""
    try:
        return await check
    except ForgedToken:
        source = context.throttle.source_of(request.scope)
        await context.throttle.forged_token(source=source, dialect="snms")
        raise


async def principal_of(request: Request, context: Context) -> Principal:
    """The user a request's bearer token names, if it may still act."""
    return await _unforged(request, context, context.services.accounts.token_principal(bearer(request)))


async def check_reader(request: Request, context: Context) -> Reader | None:
    """A read needs a valid token of a user who may still act: whom it acts as reads. While the database is
    down the user's status cannot be read; the token's signature alone then lets the read through as an
    anonymous one (None: the public values only), since cached answers are to stand in for a database that
    is down but nothing beyond what anyone may read is shown to a user whose status is unknown."""
    accounts = context.services.accounts
    token = bearer(request)
    await _unforged(request, context, accounts.token_user(token))
    if not context.database.worth_trying:
        return None
    try:
        principal = await accounts.token_principal(token)
    except (SQLAlchemyError, OSError) as exc:
        context.database.failed(exc)
        return None
    return Reader(principal, context.naming, context.services.node.prefix)


def _shown(value: dict[str, Any]) -> dict[str, Any]:
    shown = {"index": value["index"], "type": value["type"], "auth": "", "data": value["data"]}
    if READERS in value:  # only an owner's view keeps them (registry.visibility)
        shown[READERS] = value[READERS]
    return shown


def detail_of(values: list[dict[str, Any]]) -> bytes:
    """`"templateVersion":…,"value":[…]` of these values (the prefix and handle, which depend on the request,
    go around it)."""
    version = next(
        (
            v["data"]["value"]
            for v in values
            if v["index"] == TEMPLATE_INDEX and v["type"] == TEMPLATE and v["data"].get("format") == "string"
        ),
        "",
    )
    return orjson.dumps({"templateVersion": version, "value": [_shown(v) for v in values]})[1:-1]


class Detail:
    """The SNMS view of an answer kept with it: its template version and public values."""

    key = "snms_detail"

    def render(self, answer: Answer) -> bytes:
        return detail_of(answer.public_values())


DETAIL = Detail()


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message)


def _text(obj: dict[str, Any], key: str, limit: int) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"{key} 必须是非空字符串")
    if len(value) > limit:
        raise _bad(f"{key} 最多 {limit} 个字符")
    return value


def _value(obj: Any) -> HandleValue:
    if not isinstance(obj, dict):
        raise _bad("value 的每一项必须是对象")
    index = obj.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 1:
        raise _bad("index 必须是正整数")
    if index == TEMPLATE_INDEX:
        raise _bad("索引 1001 保留给 TEMPLATE，请用 templateVersion")
    data = obj.get("data")
    if not isinstance(data, dict) or data.get("format", "string") != "string":
        raise _bad(f"索引 {index} 的 data.format 必须是 string")
    text = data.get("value")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise _bad(f"索引 {index} 的 data.value 必须是不超过 {MAX_TEXT} 个字符的字符串")
    readers = obj.get(READERS)
    try:
        shared = () if readers is None else check_readers(readers)
    except InvalidValue as exc:
        raise _bad(f"索引 {index} 的 readers 必须是企业前缀的数组（{exc.message}）") from None
    return HandleValue(index, _text(obj, "type", MAX_TYPE), StringData(text), readers=shared)


def record_of(obj: Any) -> tuple[str, list[HandleValue]]:
    """An SNMS identifier body as a handle and the values to store (TEMPLATE first, given a version)."""
    if not isinstance(obj, dict):
        raise _bad("请求体必须是对象")
    handle = _text(obj, "handle", MAX_HANDLE)
    values = obj.get("value", [])
    if not isinstance(values, list):
        raise _bad("value 必须是数组")
    version = obj.get("templateVersion")
    stored = []
    if version not in (None, ""):
        if not isinstance(version, str) or len(version) > MAX_VERSION:
            raise _bad(f"templateVersion 最多 {MAX_VERSION} 个字符")
        stored.append(HandleValue.text(TEMPLATE_INDEX, TEMPLATE, version))
    stored += [_value(value) for value in values]
    return handle, stored


@router.get("/identityv2/data/detail", summary="An identifier's values")
@endpoint
async def detail(request: Request, context: ContextDep, handle: str = Query("")) -> Response:
    reader = await check_reader(request, context)
    target = Handle.parse(handle)
    query = context.query(target, reader=reader)
    started = perf_counter()
    answer = await context.pipeline.resolve(query)
    stats = context.stats
    if stats.counting:
        source = context.throttle.source_of(request.scope)
        stats.seen(target.prefix, source, answer is not None, perf_counter() - started)
    if answer is None:
        raise HandleNotFound(handle=str(target))
    around = orjson.dumps({"prefix": target.prefix, "handle": str(target)})[:-1]
    shown = answer.readable(query)  # None: the public values, whose rendering is kept
    values = answer.rendered(DETAIL) if shown is None else detail_of(shown)
    data = around + b"," + values + b"}"
    headers = {"warning": STALE_WARNING} if answer.stale else None
    body = b'{"status":1,"message":"success","data":' + data + b"}"
    return Response(body, media_type="application/json", headers=headers)


@router.post("/identityv2/data", summary="Create an identifier")
@endpoint
async def create(request: Request, context: ContextDep) -> Response:
    principal = await principal_of(request, context)
    name, values = record_of(await json_body(request))
    await context.services.records.put_record(principal, Handle.parse(name), values, overwrite=False)
    return ok(True)


@router.put("/identityv2/data", summary="Update an identifier's template and values")
@endpoint
async def update(request: Request, context: ContextDep) -> Response:
    principal = await principal_of(request, context)
    name, values = record_of(await json_body(request))
    await context.services.records.replace_business_values(principal, Handle.parse(name), values)
    return ok(True)


@router.delete("/identityv2/data", summary="Delete an identifier")
@endpoint
async def delete(request: Request, context: ContextDep) -> Response:
    principal = await principal_of(request, context)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise _bad('请求体应为 {"handle": …}')
    await context.services.records.delete(principal, Handle.parse(_text(body, "handle", MAX_HANDLE)))
    return ok(True)


def _items(body: Any) -> list[Any]:
    if not isinstance(body, list):
        raise SnmsFailure(FAILED, f"{BAD_REQUEST}：请求体必须是数组")
    if len(body) > MAX_BATCH:
        raise SnmsFailure(FAILED, f"{BAD_REQUEST}：单次最多 {MAX_BATCH} 条，本次 {len(body)} 条")
    return body


def _item_result(handle: str, error: RegistryError | None) -> dict[str, Any]:
    if error is None:
        return {"handle": handle, "code": OK, "msg": SUCCESS}
    code, message = status_of(error)
    return {"handle": handle, "code": code, "msg": message}


def _label(item: Any) -> str:
    handle = item.get("handle") if isinstance(item, dict) else None
    return handle if isinstance(handle, str) else ""


def _outcome(result: ItemResult) -> dict[str, Any]:
    return _item_result(result.handle, None if result.ok else result.error)


async def batch_results(
    records: Records, principal: Principal, body: bytes, write: BatchWrite
) -> list[dict[str, Any]]:
    """Each item's result of a batch write of `body` (the request's bytes) by `principal`."""
    results: list[dict[str, Any] | None] = []
    inputs: list[RecordInput] = []
    async for item in in_turns(_items(parsed(body))):
        try:
            name, values = record_of(item)
        except InvalidInput as exc:
            results.append(_item_result(_label(item), exc))
            continue
        results.append(None)
        inputs.append(RecordInput(name, values))
    written = iter(await write(records, principal, inputs))
    return [r if r is not None else _outcome(next(written)) for r in results]


BATCH_WRITES: dict[str, BatchWrite] = {"create": register_many, "update": update_many}


async def _batch_write(request: Request, context: Context, kind: str) -> Response:
    principal = await principal_of(request, context)
    body = await request.body()
    if context.writes is not None:  # in a write process, at a lower priority than this one's reads
        return envelope(*await context.writes.snms_batch(kind, principal, body))
    return ok(await batch_results(context.services.records, principal, body, BATCH_WRITES[kind]))


@router.post("/identityv2/data/batchCreate", summary="Create up to 2,000 identifiers, each with its result")
@endpoint
async def batch_create(request: Request, context: ContextDep) -> Response:
    return await _batch_write(request, context, "create")


@router.put("/identityv2/data/batchUpdate", summary="Update up to 2,000 identifiers, each with its result")
@endpoint
async def batch_update(request: Request, context: ContextDep) -> Response:
    return await _batch_write(request, context, "update")


@router.delete("/identityv2/data/batchDelete", summary="Delete up to 2,000 identifiers, each with its result")
@endpoint
async def batch_delete(request: Request, context: ContextDep) -> Response:
    principal = await principal_of(request, context)
    handles = _items(await json_body(request))
    if not all(isinstance(h, str) for h in handles):
        raise SnmsFailure(FAILED, f"{BAD_REQUEST}：请求体必须是标识字符串的数组")
    return ok([_outcome(r) for r in await delete_many(context.services.records, principal, handles)])
