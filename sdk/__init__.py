"""idnode's client SDK, for the MES of chain-leader enterprises and their suppliers.

    from sdk import NodeClient

    node = NodeClient("http://node:8000", username="300:0.NA/88.118.8", secret="…", outbox_path="outbox.db")
    with node:
        node.register("88.118.8/COIL-0001", {"heatNo": "H26001", "coilNo": "C0001"}, template_version="1.0")
        result = node.register_many((f"88.118.8/COIL-{n:04d}", {...}) for n in range(10_000))
        record = node.resolve("88.118.8/COIL-0001")
        node.flush_outbox()   # after an outage: queued writes, oldest first

`NodeClient` blocks; `AsyncNodeClient` has the same methods for asyncio. Both drive one core (`_core.py`) that
holds the logic and does no I/O. Reads use the Handle REST API; writes the SNMS API (token login with the
prefix as user name, renewed before it expires) and Handle REST for links. With `private_key=` (a PEM file of
an administrator whose HS_PUBKEY the node holds) the client answers the node's challenge instead, keeps the
session, and writes over Handle REST (`_keys.py`).

Calls are retried with exponential backoff and jitter on timeouts, connection errors, 503 and 5xx, when safe
to repeat; a create is made safe to repeat, since one that meets "already exists" with the same values counts
as done (`existed`). With `outbox_path`, a write the node cannot take is kept on disk and answered `queued`;
`flush_outbox()` (or `flush_interval=` seconds in the background) delivers them in order, across restarts.
Errors derive from `SdkError` (`sdk._errors` draws the tree). `sdk.testing.FakeNode` is an in-memory node.
"""

from ._async import AsyncNodeClient
from ._errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidHandleError,
    NotFoundError,
    RequestError,
    SdkError,
    ServiceUnavailable,
    SignatureError,
    TransportError,
    ValidationError,
)
from ._models import (
    BatchResult,
    HandleValue,
    Record,
    ScanField,
    ScanResult,
    Trace,
    TraceEdge,
    TraceNode,
    WriteResult,
)
from ._retry import Retries
from ._sync import NodeClient
from ._trust import SigningKey, VerifiedRecord, sign_record
from ._writes import FlushReport

__all__ = [
    "AsyncNodeClient",
    "AuthenticationError",
    "BatchResult",
    "ConflictError",
    "FlushReport",
    "ForbiddenError",
    "HandleValue",
    "InvalidHandleError",
    "NodeClient",
    "NotFoundError",
    "Record",
    "RequestError",
    "Retries",
    "ScanField",
    "ScanResult",
    "SdkError",
    "ServiceUnavailable",
    "SignatureError",
    "SigningKey",
    "Trace",
    "TraceEdge",
    "TraceNode",
    "TransportError",
    "ValidationError",
    "VerifiedRecord",
    "WriteResult",
    "sign_record",
]
