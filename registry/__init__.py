"""idnode's registry: handles, values, enterprises, accounts, storage, the journal, authorisation and the
write operations. Plain Python: no web framework, no server, no Redis client."""

from .audit import Audit, AuditEvent, AuditPage
from .batch import MAX_BATCH, ItemResult, RecordInput, delete_many, in_turns, register_many, update_many
from .changes import ChangeFeed, JournalCursor
from .codec import decode_values, encode_values, parse_body, value_from_json, values_from_json
from .credit_code import validate_credit_code
from .enterprises import Enterprise, EnterpriseInput
from .errors import (
    AuthenticationFailed,
    Conflict,
    HandleExists,
    HandleNotFound,
    InsufficientPermissions,
    InvalidEnterprise,
    InvalidHandle,
    InvalidInput,
    InvalidValue,
    NodeNotInitialised,
    NotResponsible,
    PermissionDenied,
    RegistryError,
    SignatureInvalid,
    ValueExists,
    ValuesNotFound,
)
from .handle import Handle, normalise_prefix
from .naming import Naming
from .node import NodeInfo, NodeSetup, init_node, new_secret, read_node
from .passwords import Passwords
from .principals import Principal
from .reads import HandlePage, PrefixCount
from .services import Services
from .sessions import Session, Sessions
from .store.engine import Store
from .template_ops import TemplateNotFound
from .templates import Template, parse_template
from .values import (
    AdminData,
    AdminPermission,
    Base64Data,
    HandleValue,
    HexData,
    KeyData,
    OpaqueData,
    Reference,
    StringData,
    VListData,
)

__all__ = [
    "MAX_BATCH",
    "AdminData",
    "AdminPermission",
    "Audit",
    "AuditEvent",
    "AuditPage",
    "AuthenticationFailed",
    "Base64Data",
    "ChangeFeed",
    "Conflict",
    "Enterprise",
    "EnterpriseInput",
    "Handle",
    "HandleExists",
    "HandleNotFound",
    "HandlePage",
    "HandleValue",
    "HexData",
    "InsufficientPermissions",
    "InvalidEnterprise",
    "InvalidHandle",
    "InvalidInput",
    "InvalidValue",
    "ItemResult",
    "JournalCursor",
    "KeyData",
    "Naming",
    "NodeInfo",
    "NodeNotInitialised",
    "NodeSetup",
    "NotResponsible",
    "OpaqueData",
    "Passwords",
    "PermissionDenied",
    "PrefixCount",
    "Principal",
    "RecordInput",
    "Reference",
    "RegistryError",
    "Services",
    "Session",
    "Sessions",
    "SignatureInvalid",
    "Store",
    "StringData",
    "Template",
    "TemplateNotFound",
    "VListData",
    "ValueExists",
    "ValuesNotFound",
    "decode_values",
    "delete_many",
    "encode_values",
    "in_turns",
    "init_node",
    "new_secret",
    "normalise_prefix",
    "parse_body",
    "parse_template",
    "read_node",
    "register_many",
    "update_many",
    "validate_credit_code",
    "value_from_json",
    "values_from_json",
]
