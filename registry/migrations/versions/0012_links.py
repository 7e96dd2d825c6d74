"""Typed links between identifiers (madeFrom, installedIn, shippedIn, LINK.<relation>), indexed both ways.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Records written before hold their link values but have no rows: the upgrade makes them from the stored
values (unchecked, as they were accepted then), so that a trace sees the links already made.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("relation", sa.String(255), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("target_name", sa.String(255), nullable=False),
        sa.Column("prefix", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("product", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("source", "idx", name="pk_links"),
        sa.ForeignKeyConstraint(
            ["source"],
            ["handles.handle"],
            name="fk_links_source_handles",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )
    op.create_index("ix_links_target", "links", ["target"])
    op.create_index("ix_links_origin", "links", ["origin"])
    op.create_index("ix_links_product", "links", ["product"])
    _backfill(op.get_bind())


# Records holding a link value, a page at a time in key order (a registry of millions is not held in memory).
_PAGE = 1_000
_LINKED = sa.text(
    "SELECT handle, prefix, values_json FROM handles WHERE handle > :after AND (values_json LIKE '%LINK.%'"
    " OR values_json LIKE '%madeFrom%' OR values_json LIKE '%installedIn%' OR values_json LIKE '%shippedIn%')"
    " ORDER BY handle LIMIT :page"
)
_LINKS = sa.table(
    "links",
    *(sa.column(name) for name in ("source", "idx", "relation", "target", "target_name", "prefix")),
    sa.column("origin"),
    sa.column("product"),
)


def _backfill(conn: sa.Connection) -> None:
    from registry.links import backfill_rows  # the one rule of what a link is

    case = conn.execute(sa.text("SELECT value FROM node WHERE key = 'case'")).scalar_one_or_none()
    after = ""
    while True:
        page = conn.execute(_LINKED, {"after": after, "page": _PAGE}).all()
        if not page:
            return
        rows = backfill_rows(page, case_sensitive=case == "sensitive")
        if rows:
            conn.execute(sa.insert(_LINKS), rows)
        after = page[-1][0]


def downgrade() -> None:
    op.drop_table("links")
