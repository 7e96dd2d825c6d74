"""The SNMS-compatible API that Chinese MES and application integrations call: tokens, identifiers and data
templates, every answer an HTTP 200 envelope `{"status", "message", "data"}`."""

from fastapi import APIRouter

from .envelope import PATHS, body_refused
from .identifiers import router as identifiers_router
from .openapi import OPERATIONS as OPENAPI
from .templates import router as templates_router
from .tokens import router as tokens_router


def snms_router() -> APIRouter:
    router = APIRouter()
    for part in (tokens_router, identifiers_router, templates_router):
        router.include_router(part)
    return router


__all__ = ["OPENAPI", "PATHS", "body_refused", "snms_router"]
