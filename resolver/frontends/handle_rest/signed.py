"""Handle REST answers with `cert=true`: the answer signed by the node (`resolver.signing` says how).

The lane hands a found answer here only when the request asked for a signature, so the GETs that do not
ask pay nothing for it. A whole record's signed rendering is kept with the cached answer; an answer
filtered by index= or type=, pretty-printed, or shown to an authenticated reader (what it may read
beyond the public values is never kept), is signed anew each time.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...answer import Answer
from ...query import Query
from ...signing import AnswerSigner, SignedValues, SigningUnavailable, signature, signed_body
from .codes import HANDLE_NOT_FOUND, SERVER_BUSY, SUCCESS, VALUES_NOT_FOUND, failure
from .render import GetParams, Reply


async def signed_reply(
    requested: str, answer: Answer | None, query: Query, params: GetParams, signer: AnswerSigner
) -> Reply:
    """The signed answer to a GET with cert=true (`answer` None: the handle does not exist)."""
    try:
        current = await signer.current()
    except SigningUnavailable as exc:
        status, body = failure(SERVER_BUSY, requested, str(exc))
        return Reply(status, body, params)
    now = signer.now()
    if answer is None:
        out: dict[str, Any] = {"responseCode": HANDLE_NOT_FOUND, "handle": requested}
        out["signature"] = signature(current, requested, [], now, HANDLE_NOT_FOUND)
        return Reply(404, _dumps(out, params), params)
    if query.reader is None and not (query.indexes or query.types or params.pretty):
        return Reply(
            200, signed_body(answer, SignedValues(current, requested, now)), params, stale=answer.stale
        )
    selected = answer.select(query)
    code = SUCCESS if selected else VALUES_NOT_FOUND
    out = (
        {"responseCode": code, "handle": requested, "values": selected}
        if selected
        else {"responseCode": code, "values": [], "handle": requested}
    )
    out["signature"] = signature(current, requested, selected, now, code)
    return Reply(200, _dumps(out, params), params, stale=answer.stale)


def _dumps(body: dict[str, Any], params: GetParams) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 if params.pretty else 0)
