"""idnode's registry: handles, values, enterprises, storage, authorisation and the write API."""

from .batch import MAX_BATCH, ItemResult, RecordInput, register_many
from .codec import decode_values, encode_values, parse_body, value_from_json, values_from_json
from .credit_code import validate_credit_code
from .enterprises import Enterprise, EnterpriseInput
from .errors import (
    AuthenticationFailed,
    Conflict,
    HandleExists,
    HandleNotFound,
    InvalidEnterprise,
    InvalidHandle,
    InvalidInput,
    InvalidValue,
    NodeNotInitialised,
    NotResponsible,
    PermissionDenied,
    RegistryError,
    ValueExists,
    ValuesNotFound,
)
from .handle import Handle, normalise_prefix
from .node import NodeSetup, add_enterprise, add_prefix, init_node, new_secret, node_admin
from .passwords import Passwords
from .principals import Principal
from .service import HandlePage, Registry
from .store.engine import Store
from .values import (
    AdminData,
    Base64Data,
    HandleValue,
    HexData,
    OpaqueData,
    Reference,
    StringData,
    VListData,
)

__all__ = [
    "MAX_BATCH",
    "AdminData",
    "AuthenticationFailed",
    "Base64Data",
    "Conflict",
    "Enterprise",
    "EnterpriseInput",
    "Handle",
    "HandleExists",
    "HandleNotFound",
    "HandlePage",
    "HandleValue",
    "HexData",
    "InvalidEnterprise",
    "InvalidHandle",
    "InvalidInput",
    "InvalidValue",
    "ItemResult",
    "NodeNotInitialised",
    "NodeSetup",
    "NotResponsible",
    "OpaqueData",
    "Passwords",
    "PermissionDenied",
    "Principal",
    "RecordInput",
    "Reference",
    "Registry",
    "RegistryError",
    "Store",
    "StringData",
    "VListData",
    "ValueExists",
    "ValuesNotFound",
    "add_enterprise",
    "add_prefix",
    "decode_values",
    "encode_values",
    "init_node",
    "new_secret",
    "node_admin",
    "normalise_prefix",
    "parse_body",
    "register_many",
    "validate_credit_code",
    "value_from_json",
    "values_from_json",
]
