"""The registry's HTTP surface: Handle REST writes, listing and prefixes (FastAPI routers)."""

from .admin import router as admin_router
from .errors import install_error_handlers
from .handles import router as handles_router

__all__ = ["admin_router", "handles_router", "install_error_handlers"]
