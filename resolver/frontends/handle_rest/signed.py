"""Handle REST answers with `cert=true`: the answer signed by the node (`resolver.signing` says how).

The lane hands a found answer here only when the request asked for a signature, so the GETs that do not
ask pay nothing for it. A whole record's signed rendering is kept with the cached answer; an answer
filtered by index= or type=, or pretty-printed, is signed anew each time.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...answer import Answer
from ...query import Query
from ...signing import AnswerSigner, SignedValues, SigningUnavailable, signature, signed_body
from .codes import SERVER_BUSY, SUCCESS, VALUES_NOT_FOUND, failure
from .render import GetParams, Reply


async def signed_reply(
    requested: str, answer: Answer, query: Query, params: GetParams, signer: AnswerSigner
) -> Reply:
    try:
        current = await signer.current()
    except SigningUnavailable as exc:
        status, body = failure(SERVER_BUSY, requested, str(exc))
        return Reply(status, body, params)
    now = signer.now()
    if not (query.indexes or query.types or params.pretty):
        return Reply(
            200, signed_body(answer, SignedValues(current, requested, now)), params, stale=answer.stale
        )
    selected = answer.select(query)
    out: dict[str, Any] = (
        {"responseCode": SUCCESS, "handle": requested, "values": selected}
        if selected
        else {"responseCode": VALUES_NOT_FOUND, "values": [], "handle": requested}
    )
    out["signature"] = signature(current, requested, selected, now)
    body = orjson.dumps(out, option=orjson.OPT_INDENT_2 if params.pretty else 0)
    return Reply(200, body, params, stale=answer.stale)
