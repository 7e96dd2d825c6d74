"""The registry's tables. The schema itself is created and changed only by the Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Settings that identify the node: its prefix, its case rule, its keys.
node = Table(
    "node",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

enterprises = Table(
    "enterprises",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("industry", String(16), nullable=False),
    Column("contact", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

prefixes = Table(
    "prefixes",
    metadata,
    Column("prefix", String(64), primary_key=True),
    # NULL for the node's own prefix.
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A record is one row: its values are the JSON array that GET answers carry, so a resolution is one
# primary-key read and no re-encoding. `handle` is the key (`registry.naming`: case folded unless the node
# tells case apart), `name` the handle as it was written when the record was made.
handles = Table(
    "handles",
    metadata,
    Column("handle", String(255), primary_key=True),
    Column("name", String(255), nullable=True),
    Column("prefix", String(64), nullable=False),
    Column("values_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The data template (version, under the handle's prefix) its values were checked against, if any.
    Column("template_version", String(128), nullable=True),
    Index("ix_handles_prefix_handle", "prefix", "handle"),
    Index("ix_handles_template", "prefix", "template_version"),
)

# A data template of a prefix, one row per version; `body` is the template as the SNMS API shows it (JSON).
templates = Table(
    "templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prefix", String(64), nullable=False),
    Column("version", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("prefix", "version", name="uq_templates_prefix"),
)

# SNMS users: each enterprise's administrator (username: its prefix, password: the prefix's secret), and
# further users the node operator creates for it.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(50), nullable=False, unique=True),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    # The enterprise prefix whose administrator the user acts as (`300:0.NA/<acts_as>`).
    Column("acts_as", String(64), nullable=False),
    Column("password_hash", Text, nullable=False),
    # For the dated-hash login (/identity/token/v1): sha256 of the password, sealed with the credential key.
    Column("verifier", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Every write appends here, in the same transaction: the one source for cache invalidation, sync and audit.
journal = Table(
    "journal",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("handle", String(255), nullable=False),
    Column("op", String(16), nullable=False),
    Column("principal", String(320), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
)

# The audit trail: who did what, when, from where, with what outcome; never a secret. A write transaction is
# one row per kind of change and prefix (a batch of thousands is one row: its count and its first keys).
audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    # The principal (`300:0.NA/88.118.8`, with the SNMS user acting for it); NULL when nobody was proven.
    Column("actor", String(320), nullable=True),
    # Where the request came from: the peer address, or `local:<OS user>` for the operator's commands.
    Column("source", String(255), nullable=False),
    Column("target", Text, nullable=False),
    # The prefix the event concerns (what an enterprise's own view of the audit is filtered by).
    Column("prefix", String(64), nullable=True),
    Column("count", Integer, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_audit_at", "at"),
    Index("ix_audit_prefix_id", "prefix", "id"),
)

# Handle REST sessions authenticated by their challenge's answer (`registry.sessions`): `session` a digest of
# the session's nonce (never the id itself), `proof` a digest of the value that proved `principal`, `expires`
# seconds since the epoch.
sessions = Table(
    "sessions",
    metadata,
    Column("session", String(64), primary_key=True),
    Column("principal", String(320), nullable=False),
    Column("proof", String(64), nullable=False),
    Column("expires", BigInteger, nullable=False),
    Index("ix_sessions_expires", "expires"),
)

# The secrets of HS_SECKEY values in a form the node can use for the native protocol's challenge–response
# (`registry.native_secrets`): sealed with the credential key, beside the argon2id hash the value itself holds
# (`hash`: the sealed secret is good only while the value holds that very hash). Never resolved, audited or
# exported; a row goes with its value (replaced, removed) and with its record (the foreign key cascades).
native_secrets = Table(
    "native_secrets",
    metadata,
    Column(
        "handle",
        String(255),
        ForeignKey("handles.handle", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("hash", Text, nullable=False),
    Column("sealed", Text, nullable=False),
)

# Challenges of the native protocol waiting for their answers (`registry.challenges`), by the session id the
# challenge gave: the challenged request as it came, the nonce, the request's digest; a minute each.
native_challenges = Table(
    "native_challenges",
    metadata,
    Column("session", BigInteger, primary_key=True, autoincrement=False),
    Column("request", LargeBinary, nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Index("ix_native_challenges_expires", "expires"),
)

# Sessions of the native protocol (`registry.native_sessions`): the key a session's messages are MACed with
# (sealed with the credential key), who the client said it would be and, once a challenge proved it, who it
# is. `native_session_counters` are the counters its messages carried: one seen twice is a replay.
native_sessions = Table(
    "native_sessions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("sealed_key", Text, nullable=False),
    Column("major", Integer, nullable=False),
    Column("minor", Integer, nullable=False),
    Column("identity", Text, nullable=False),
    Column("identity_index", Integer, nullable=False),
    Column("admin", Text),
    Column("admin_index", Integer),
    Column("lifetime", Integer, nullable=False),  # seconds, from the challenge that proves the admin
    Column("expires", BigInteger, nullable=False),
    Index("ix_native_sessions_expires", "expires"),
)

native_session_counters = Table(
    "native_session_counters",
    metadata,
    Column(
        "session",
        BigInteger,
        ForeignKey("native_sessions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("counter", BigInteger, primary_key=True, autoincrement=False),
)

# The secondary nodes a top-level node allocated node prefixes to (`registry.hierarchy`): each one's prefix
# handle `0.NA/<prefix>` names its administrator (the node itself, homing its site there and reporting).
child_nodes = Table(
    "child_nodes",
    metadata,
    Column("prefix", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Reports to the parent (`registry.reporting`), on a secondary node: each report once, by its `report_id`
# (what it is about, `subject`, and a digest of its body), so a report made again is not queued again; kept
# after `sent` so that it is not sent again either. `next_attempt` is when a failed one is tried again.
report_outbox = Table(
    "report_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("report_id", String(320), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt", DateTime(timezone=True), nullable=False),
    Column("sent", DateTime(timezone=True), nullable=True),
    Index("ix_report_outbox_sent_next", "sent", "next_attempt"),
    Index("ix_report_outbox_subject", "subject"),
)

# The reports a top-level node received from its secondary nodes: one row per node and report id, however
# often the report was sent.
reports = Table(
    "reports",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("node_prefix", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("report_id", String(320), nullable=False),
    Column("body", Text, nullable=False),
    Column("received", DateTime(timezone=True), nullable=False),
    UniqueConstraint("node_prefix", "report_id", name="uq_reports_node_prefix"),
    Index("ix_reports_node_kind", "node_prefix", "kind", "id"),
)

# Resolutions counted by the serving processes, added here every few seconds (each process its own counts):
# per day (the reporting day, `resolver.reporting.formats.day_of`) and prefix; the sources asking; and the
# resolutions of each second, whose busiest is the day's peak.
resolution_counts = Table(
    "resolution_counts",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("prefix", String(64), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("answered", BigInteger, nullable=False),
    Column("seconds_min", Float, nullable=False),
    Column("seconds_sum", Float, nullable=False),
    Column("seconds_max", Float, nullable=False),
)

resolution_sources = Table(
    "resolution_sources",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("prefix", String(64), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("requests", BigInteger, nullable=False),
)

resolution_seconds = Table(
    "resolution_seconds",
    metadata,
    Column("second", BigInteger, primary_key=True, autoincrement=False),  # seconds since the epoch
    Column("requests", BigInteger, nullable=False),
)

# Registrations (identifiers created or changed) timed by the serving processes, per day: how many, how many
# were taken, how long they took (seconds), added like the resolution counts.
registration_counts = Table(
    "registration_counts",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("answered", BigInteger, nullable=False),
    Column("seconds_min", Float, nullable=False),
    Column("seconds_sum", Float, nullable=False),
    Column("seconds_max", Float, nullable=False),
)

# Typed links between identifiers (`registry.links`), one row a link value, kept in step with the record by
# every write in its transaction: `source` the key of the record holding the value (its rows go with it),
# `idx` the value's index, `relation` the link's type (`madeFrom`, `installedIn`, `LINK.x` as `x`), `target`
# the key of the handle its data names and `target_name` that handle as written (it may live on another
# node). `origin` and `product` are the two ends as material flows (a heat is the origin of its slabs, a part
# of the vehicle it is installed in), so that a trace walks one index whichever way the link was declared.
links = Table(
    "links",
    metadata,
    Column(
        "source",
        String(255),
        ForeignKey("handles.handle", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("relation", String(255), nullable=False),
    Column("target", String(255), nullable=False),
    Column("target_name", String(255), nullable=False),
    Column("prefix", String(64), nullable=False),
    Column("origin", String(255), nullable=False),
    Column("product", String(255), nullable=False),
    Index("ix_links_target", "target"),
    Index("ix_links_origin", "origin"),
    Index("ix_links_product", "product"),
)
