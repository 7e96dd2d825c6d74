"""The node's settings, read from `IDNODE_*` environment variables and checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

DEFAULT_DATABASE_URL = "sqlite:///data/idnode.db"


class SettingsError(ValueError):
    """A setting has a value the node cannot use."""


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    text = env.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


@dataclass(frozen=True)  # no slots: the class attributes stay the defaults
class Settings:
    """Everything a node process needs to start; every default is here."""

    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = 8
    max_body_bytes: int = 8 * 1024 * 1024
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("IDNODE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            db_pool_size=_integer(env, "IDNODE_DB_POOL_SIZE", cls.db_pool_size),
            max_body_bytes=_integer(env, "IDNODE_MAX_BODY_BYTES", cls.max_body_bytes),
            log_level=(env.get("IDNODE_LOG_LEVEL") or cls.log_level).lower(),
        )

    @staticmethod
    def variables() -> list[str]:
        """The environment variables the node reads, for documentation and `--help`."""
        return [f"IDNODE_{f.name.upper()}" for f in fields(Settings)]
