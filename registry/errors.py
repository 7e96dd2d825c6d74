"""The registry's exceptions.

Every error the registry raises derives from one root; front ends (Handle REST, SNMS, the native protocol)
translate them into their own status codes. A class's docstring is its default message::

    RegistryError
     ├── InvalidInput
     │    ├── InvalidHandle
     │    ├── InvalidValue
     │    │    └── SignatureInvalid
     │    └── InvalidEnterprise
     ├── HandleNotFound
     ├── HandleExists
     ├── ValueExists
     ├── ValuesNotFound
     ├── AuthenticationFailed
     ├── PermissionDenied
     │    └── InsufficientPermissions
     ├── NotResponsible
     ├── Conflict
     └── NodeNotInitialised
"""

from __future__ import annotations


class RegistryError(Exception):
    """The registry could not do what was asked."""

    def __init__(self, message: str | None = None, *, handle: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        self.handle = handle
        super().__init__(self.message)


class InvalidInput(RegistryError):
    """The input is not valid."""


class InvalidHandle(InvalidInput):
    """The handle is not valid."""


class InvalidValue(InvalidInput):
    """A handle value is not valid."""


class SignatureInvalid(InvalidValue):
    """A signature does not verify."""


class InvalidEnterprise(InvalidInput):
    """The enterprise's details are not valid."""


class HandleNotFound(RegistryError):
    """The handle does not exist."""


class HandleExists(RegistryError):
    """The handle already exists."""


class ValueExists(RegistryError):
    """A value with that index already exists."""


class ValuesNotFound(RegistryError):
    """No value with that index exists."""


class AuthenticationFailed(RegistryError):
    """The credentials are not valid."""


class PermissionDenied(RegistryError):
    """The principal may not do this."""


class InsufficientPermissions(PermissionDenied):
    """The principal administers the handle, but without the permission this needs."""


class NotResponsible(RegistryError):
    """This node is not responsible for that prefix."""


class Conflict(RegistryError):
    """The change conflicts with what the registry holds."""


class NodeNotInitialised(RegistryError):
    """The database has no node; run `idnode init` first."""
