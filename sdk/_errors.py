"""The SDK's exceptions: one root, and a class per thing an integrator may want to handle::

    SdkError
     ├── TransportError            the node could not be reached, after the retries
     │    └── ServiceUnavailable   the node answered "busy" (503) or failed (5xx), after the retries
     ├── AuthenticationError       the credentials were refused
     ├── ForbiddenError            the credentials may not do this (another enterprise's prefix)
     ├── NotFoundError             updating or deleting a handle that does not exist
     ├── SignatureError            a signature asked for is missing or does not verify (fails closed)
     └── RequestError              the node refused the request as it was
          ├── InvalidHandleError   not a handle
          ├── ValidationError      values against the data template, lengths, formats
          └── ConflictError        the handle exists with other values

A class's docstring is its default message; `status` and `code` hold what the node said (HTTP status and
responseCode or SNMS status), `handle` the handle concerned.
"""

from __future__ import annotations


class SdkError(Exception):
    """The identifier node could not do what was asked."""

    def __init__(
        self,
        message: str | None = None,
        *,
        handle: str | None = None,
        status: int | None = None,
        code: int | None = None,
    ) -> None:
        self.message = message or (self.__doc__ or "").strip()
        self.handle = handle
        self.status = status
        self.code = code
        super().__init__(self.message)


class TransportError(SdkError):
    """The node could not be reached."""


class ServiceUnavailable(TransportError):
    """The node is busy or failing."""


class AuthenticationError(SdkError):
    """The node refused the credentials."""


class ForbiddenError(SdkError):
    """These credentials may not do that."""


class NotFoundError(SdkError):
    """The handle does not exist."""


class SignatureError(SdkError):
    """The signature is missing or does not verify."""


class RequestError(SdkError):
    """The node refused the request."""


class InvalidHandleError(RequestError):
    """Not a valid handle."""


class ValidationError(RequestError):
    """The values are not valid (for their data template)."""


class ConflictError(RequestError):
    """The handle exists already, with other values."""
