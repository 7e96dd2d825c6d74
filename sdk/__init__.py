"""idnode's client SDK for MES and integrators.

Not written yet: the SDK is issue 5 (sync and async clients, batches, retries, offline outbox). Until then,
any Handle REST client (such as `pyhandle`) works against a node.
"""

__all__: list[str] = []
