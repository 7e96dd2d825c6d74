"""The native Handle protocol's numbers (RFC 3652, Handle.Net protocol specification 2.x, with the CAICT
variant's additions): opcodes, response codes, operation flags, envelope flags, value permissions."""

from __future__ import annotations

from enum import IntEnum, IntFlag


class OpCode(IntEnum):
    RESOLUTION = 1
    GET_SITE_INFO = 2
    CREATE_HANDLE = 100
    DELETE_HANDLE = 101
    ADD_VALUE = 102
    REMOVE_VALUE = 103
    MODIFY_VALUE = 104
    LIST_HANDLES = 105
    LIST_NAS = 106
    CHALLENGE_RESPONSE = 200
    VERIFY_RESPONSE = 201
    HOME_NA = 300
    UNHOME_NA = 301
    LIST_HOMED_NAS = 302
    SESSION_SETUP = 400
    SESSION_TERMINATE = 401
    SESSION_EXCHANGEKEY = 402
    CAICT_LOGIN_PASSWORD = 2000  # the CAICT ID-SDK's login by user name and password
    CAICT_LOGIN_PUBKEY = 2001  # … and by private key, answering a challenge


class ResponseCode(IntEnum):
    RESERVED = 0  # every request carries it
    SUCCESS = 1
    ERROR = 2
    SERVER_TOO_BUSY = 3
    PROTOCOL_ERROR = 4
    OPERATION_NOT_SUPPORTED = 5
    RECURSION_COUNT_TOO_HIGH = 6
    SERVER_BACKUP = 7
    HANDLE_NOT_FOUND = 100
    HANDLE_ALREADY_EXISTS = 101
    INVALID_HANDLE = 102
    VALUES_NOT_FOUND = 200
    VALUE_ALREADY_EXISTS = 201
    INVALID_VALUE = 202
    OUT_OF_DATE_SITE_INFO = 300
    SERVER_NOT_RESP = 301
    SERVICE_REFERRAL = 302
    PREFIX_REFERRAL = 303
    INVALID_ADMIN = 400
    INSUFFICIENT_PERMISSIONS = 401
    AUTHENTICATION_NEEDED = 402
    AUTHENTICATION_FAILED = 403
    INVALID_CREDENTIAL = 404
    AUTHEN_TIMEOUT = 405
    UNABLE_TO_AUTHENTICATE = 406
    SESSION_TIMEOUT = 500
    SESSION_FAILED = 501
    NO_SESSION_KEY = 502
    SESSION_NO_SUPPORT = 503
    SESSION_KEY_INVALID = 504
    TRYING_NEXT_SERVER = 505
    # What the Handle.Net library means by 502 and 505 (RFC 3652 names them as above).
    INVALID_SESSION_KEY = 502
    SESSION_MESSAGE_REJECTED = 505  # a replayed message: its session counter was seen


class OpFlag(IntFlag):
    """The message header's operation flags. The CAICT variant adds the two low bits."""

    NONE = 0
    AT = 0x80000000  # authoritative: answer from a primary, not a cache
    CT = 0x40000000  # certify: sign the answer
    ENC = 0x20000000  # encrypt the answer
    REC = 0x10000000  # recursive
    CA = 0x08000000  # cache-certify
    CN = 0x04000000  # continuous: more parts follow
    KA = 0x02000000  # keep the connection alive
    PO = 0x01000000  # public values only
    RD = 0x00800000  # return the request's digest
    OVRW = 0x00400000  # overwrite existing values (create)
    MINT = 0x00200000  # mint a suffix (create)
    DNRF = 0x00100000  # do not refer
    TRUSTED_QUERY = 0x00000002  # CAICT
    TRUSTED_RESULT = 0x00000001  # CAICT


class EnvelopeFlag(IntFlag):
    """The first byte of the envelope's message flag (its low two bits carry the suggested major version)."""

    NONE = 0
    CP = 0x80  # compressed
    EC = 0x40  # encrypted
    TC = 0x20  # truncated


class Permission(IntFlag):
    """A value's permissions byte."""

    ADMIN_READ = 0x8
    ADMIN_WRITE = 0x4
    PUBLIC_READ = 0x2
    PUBLIC_WRITE = 0x1


class AdminBit(IntFlag):
    """HS_ADMIN's 12 permission bits (JSON writes them most significant first)."""

    ADD_HANDLE = 0x0001
    DELETE_HANDLE = 0x0002
    ADD_DERIVED_PREFIX = 0x0004
    DELETE_DERIVED_PREFIX = 0x0008
    MODIFY_VALUE = 0x0010
    REMOVE_VALUE = 0x0020
    ADD_VALUE = 0x0040
    MODIFY_ADMIN = 0x0080
    REMOVE_ADMIN = 0x0100
    ADD_ADMIN = 0x0200
    READ_VALUE = 0x0400
    LIST_HANDLES = 0x0800


class HashType(IntEnum):
    """The byte before a request digest, and the digest algorithms challenge answers name."""

    MD5 = 1
    SHA1 = 2
    SHA256 = 3


# The protocol version this implementation speaks; a peer is answered in the lower of its and ours.
MAJOR, MINOR = 2, 11
ENVELOPE_SIZE = 20
HEADER_SIZE = 24
# The most a message may claim (the reference client's limit); a larger length field is refused unread.
MAX_MESSAGE = 262_144
UDP_DATAGRAM = 512
UDP_PAYLOAD = UDP_DATAGRAM - ENVELOPE_SIZE
