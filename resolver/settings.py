"""The node's settings, read from `IDNODE_*` environment variables and checked once at start-up.

Every setting the node has is here and nowhere else; every default is in `Settings`; the environment
variable of a field is `IDNODE_` and its name upper-cased. A bad value stops the node at start with a message
naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///data/idnode.db"
CACHE_LAYERS = ("l1", "l2")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://")
SIGNING_ALGS = ("RS256", "SM2")


class SettingsError(ValueError):
    """A setting has a value the node cannot use."""


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not an integer") from None


def _count(name: str, text: str) -> int:
    """0 or more, at most 32 (processes)."""
    value = _integer(name, text)
    if not 0 <= value <= 32:
        raise SettingsError(f"{name} must be between 0 and 32")
    return value


def _positive(name: str, text: str) -> int:
    value = _integer(name, text)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1")
    return value


def _port(name: str, text: str) -> int | None:
    """A port number, or `off`: not listening at all."""
    if text.lower() == "off":
        return None
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} is a port number or off, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise SettingsError(f"{name} must be a port number from 0 to 65535, or off")
    return value


def _layers(name: str, text: str) -> frozenset[str]:
    chosen = frozenset(part.strip().lower() for part in text.split(",") if part.strip()) - {"off"}
    unknown = chosen - set(CACHE_LAYERS)
    if unknown:
        raise SettingsError(f"{name} takes l1, l2, both (l1,l2) or off, not {','.join(sorted(unknown))}")
    return chosen


def _redis_url(name: str, text: str) -> str:
    if not text.startswith(REDIS_SCHEMES):
        raise SettingsError(f"{name} must start with one of {', '.join(REDIS_SCHEMES)}")
    return text


def _log_level(name: str, text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise SettingsError(f"{name} is one of {', '.join(LOG_LEVELS)}")
    return text.lower()


def _signing_alg(name: str, text: str) -> str:
    if text.upper() not in SIGNING_ALGS:
        raise SettingsError(f"{name} is {' or '.join(SIGNING_ALGS)}, not {text!r}")
    return text.upper()


def _text(_name: str, text: str) -> str:
    return text


def _url(name: str, text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise SettingsError(f"{name} is an http:// or https:// URL, not {text!r}")
    return text.rstrip("/")


_TRUE, _FALSE = ("yes", "true", "on", "1"), ("no", "false", "off", "0")


def _boolean(name: str, text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise SettingsError(f"{name} is yes or no, not {text!r}")


def _key(name: str, text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SettingsError(f"{name} must be 64 hexadecimal digits (a 256-bit key)")
    return key


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(name: str, text: str) -> tuple[IPNetwork, ...]:
    found = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {part!r} is not an IP address or network") from None
    return tuple(found)


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "database_url": _text,
    "redis_url": _redis_url,
    "cache_layers": _layers,
    "log_level": _log_level,
    "case_sensitive": _boolean,
    "credential_key": _key,
    "signing_alg": _signing_alg,
    "trusted_proxies": _networks,
    "native_port": _port,
    "native_host": _text,
    "http_port": _port,
    "write_processes": _count,
    "parent_url": _url,
    "parent_secret": _text,
    "recursion": _boolean,
}


@dataclass(frozen=True)  # no slots: the class attributes stay the defaults
class Settings:
    """Everything a node process needs to start."""

    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = 8
    # Whether suffixes differing only in ASCII case are different handles (the Handle.Net server: no). Fixed
    # when the node is set up (`idnode init`); a node will not start with a value its database contradicts.
    case_sensitive: bool = False
    # 32 bytes (64 hex digits) sealing the SNMS dated-login verifiers; None: a key kept in the database.
    credential_key: bytes | None = field(default=None, repr=False)
    # The algorithm of the node's signing keys made from now on (at `idnode init`, on a first start without
    # one, at `idnode node rotate-key`): RS256 (RSA 2048) or SM2 (with SM3). A key in use keeps its algorithm.
    signing_alg: str = "RS256"
    max_body_bytes: int = 8 * 1024 * 1024
    # Seconds a client has to send a request's headers (granian closes the connection after that; an idle
    # keep-alive connection too), and then its whole body (the edge answers 408 and closes it).
    header_timeout: int = 10
    body_timeout: int = 30
    log_level: str = "info"
    # Redis (or Redis Cluster, `redis+cluster://host:port,host:port`) for the shared cache and invalidation.
    redis_url: str | None = None
    # Which caches answer: `l1` (in-process), `l2` (Redis, when redis_url is set); `off` for neither.
    cache_layers: frozenset[str] = frozenset(CACHE_LAYERS)
    cache_entries: int = 200_000
    cache_bytes: int = 256 * 1024 * 1024
    # Cached answers are fresh for their record's TTL, at most this long (writes invalidate them anyway).
    cache_max_ttl: int = 600
    negative_ttl: int = 10
    # How long past freshness a cached answer may be served, marked stale, while the database is down.
    stale_seconds: int = 3600
    # How long a write waits for every other process to confirm it dropped the old answer.
    coherence_timeout_ms: int = 1000
    # How often each process reads the change journal for writes made outside the node (e.g. the CLI).
    journal_poll_ms: int = 1000
    # After a failed database read, misses fail at once for this long before the database is tried again.
    store_retry_ms: int = 1000
    # Failed logins and Basic secrets (resolver/throttle): delays start after this many failures for one
    # account from one address (4× from one address across accounts, 10× for one account across addresses);
    # they double with each further failure up to `auth_lockout_max` seconds; failures are forgotten
    # `auth_window` seconds after the last one.
    auth_failures: int = 5
    auth_lockout_max: int = 900
    auth_window: int = 3600
    # Proxies (addresses or networks) whose X-Forwarded-For names the client; nobody else's is believed.
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # How many days audit events are kept: older ones are deleted at start and every few hours.
    audit_days: int = 180
    # The native Handle protocol's UDP and TCP port (None: `off`, not served) and address; `idnode serve`
    # sets the address to its `--host` unless this names one. Every worker listens (SO_REUSEPORT).
    native_port: int | None = 2641
    native_host: str | None = None
    # Seconds a native TCP connection may stay silent before the node closes it.
    native_idle_timeout: int = 300
    # The HTTP port the node's site record names (`idnode serve --port` sets it for its workers).
    http_port: int | None = 8000
    # Processes, at a lower CPU priority, that each serving process hands its SNMS batch writes to, so that
    # checking and storing thousands of records does not hold up its resolutions; 0: written in place.
    write_processes: int = 0
    # A secondary node's parent (its HTTP URL) and the secret it gave this node: where the node homes its
    # prefix and asks where other prefixes live. None: as `idnode init --parent … --parent-secret …` set them.
    parent_url: str | None = None
    parent_secret: str | None = field(default=None, repr=False)
    # Whether the node resolves handles living at other nodes itself (yes) or answers with a referral to
    # the node they live at (no; a client may ask for a referral anyway: doNotRefer, or no REC flag).
    recursion: bool = True
    # How long one node waits for another's answer, per hop.
    upstream_timeout_ms: int = 2000
    # Seconds between reporting rounds (resolver/reporting): each serving process stores its resolution
    # counts, and on a secondary node one of them feeds the outbox and sends what is due to the parent.
    report_interval: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"IDNODE_{f.name.upper()}"
            text = env.get(name, "").strip()
            if text:
                values[f.name] = _PARSERS.get(f.name, _positive)(name, text)
        return cls(**values)

    @property
    def l1(self) -> bool:
        return "l1" in self.cache_layers

    @property
    def l2(self) -> bool:
        return "l2" in self.cache_layers and self.redis_url is not None
