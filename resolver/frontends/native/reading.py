"""Resolutions that need an administrator, as the reference server answers them: a RESOLUTION without the
public-only flag (PO) of a handle holding values the public may not read, but someone may, is challenged
(402) unless the request comes in a proved session or on a connection an administrator logged in on; once
the requester is known it is shown what it may read (the registry's rules: the record's administrators, the
enterprises a value is shared with), as an authenticated GET is over HTTP. With PO, or for a handle whose
values are all public, the answer is the public one at once. HS_SECKEY values are never shown: they do not
make a handle need a challenge.
"""

from __future__ import annotations

from registry import Handle, Principal
from registry.values import HS_SECKEY
from registry.visibility import Reader, value_public
from sdk.native import bodies
from sdk.native.codes import ResponseCode

from ...answer import Answer
from ...pipeline import NotHomed
from ...query import Query
from ..context import Context
from .render import encoded
from .request import Request


def restricted(answer: Answer) -> bool:
    """Whether `answer` holds values beyond the public ones that someone may read."""
    return not answer.public and any(
        not value_public(value) and value["type"] != HS_SECKEY for value in answer.values()
    )


async def read_as(context: Context, request: Request, principal: Principal) -> bytes:
    """The resolution `request` asks for, of what `principal` may read."""
    wanted = bodies.ResolutionRequest.decode(request.message.body)
    reader = Reader(principal, context.naming, context.services.node.prefix)
    query = Query(
        Handle.parse(wanted.handle), context.naming, indexes=wanted.indexes, types=wanted.types, reader=reader
    )
    try:
        answer = await context.pipeline.resolve(query)
    except NotHomed:
        return request.error(ResponseCode.SERVER_NOT_RESP, "this server is not responsible for the handle")
    if answer is None:
        return request.error(ResponseCode.HANDLE_NOT_FOUND, "handle not found")
    selected = answer.select(query)
    if not selected:
        return request.error(ResponseCode.VALUES_NOT_FOUND, "no values of the indexes or types asked for")
    return request.answer(
        ResponseCode.SUCCESS, bodies.resolution_body(wanted.handle.encode(), encoded(selected))
    )
