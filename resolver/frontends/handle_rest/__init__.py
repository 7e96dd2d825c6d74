"""The Handle System JSON REST API: the lean GET lane, PUT/DELETE, listing, prefixes, batch resolution,
scanned labels, sessions and trace queries."""

from fastapi import APIRouter

from ..http import BodyRefused
from .auth import AuthenticationInfo
from .batch import router as batch_router
from .codes import PROTOCOL_ERROR, failure
from .errors import install_error_handlers
from .lane import HandleRestLane
from .openapi import OPERATIONS
from .scan import OPERATIONS as SCAN_OPERATIONS
from .scan import router as scan_router
from .sessions import router as sessions_router
from .trace import OPERATIONS as TRACE_OPERATIONS
from .trace import router as trace_router
from .writes import router as writes_router

OPENAPI = {**OPERATIONS, **SCAN_OPERATIONS, **TRACE_OPERATIONS}


def router() -> APIRouter:
    combined = APIRouter()
    for part in (writes_router, batch_router, scan_router, sessions_router, trace_router):
        combined.include_router(part)
    return combined


def body_refused(refused: BodyRefused) -> tuple[int, bytes]:
    """The answer to a request whose body is refused (too large, too slow): responseCode 4."""
    return refused.status, failure(PROTOCOL_ERROR, message=refused.message)[1]


__all__ = [
    "OPENAPI",
    "AuthenticationInfo",
    "HandleRestLane",
    "body_refused",
    "install_error_handlers",
    "router",
]
