"""Tags get their own table; the pending flag becomes an outbox row per brand.

The outbox keeps what the sync engine needs to retry safely (idempotency key, attempts,
last error), which a boolean could not.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _clean_tag(text: str) -> str:
    """An old free-text tag made valid for the new rules (the domain's check_tag)."""
    tag = re.sub(r"[^\w .&+-]", "-", text.strip())
    tag = re.sub(r"^[^\w]+", "", tag)[:40].rstrip()
    return tag


def upgrade() -> None:
    brand_tags = op.create_table(
        "brand_tags",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_brand_tags_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("brand_id", "tag", name=op.f("pk_brand_tags")),
    )
    op.create_index(op.f("ix_brand_tags_tag"), "brand_tags", ["tag"], unique=False)
    outbox = op.create_table(
        "outbox",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.String(length=32), nullable=False),
        sa.Column("edits", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_outbox_brand_id_brands"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_outbox")),
    )

    bind = op.get_bind()
    tag_rows = []
    for brand_id, tags in bind.execute(sa.text("SELECT id, tags FROM brands WHERE tags != ''")):
        for tag in sorted({clean for t in tags.split(",") if (clean := _clean_tag(t))}):
            tag_rows.append({"brand_id": brand_id, "tag": tag})
    if tag_rows:
        op.bulk_insert(brand_tags, tag_rows)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    pending = [
        {
            "brand_id": r[0],
            "since": now,
            "edits": 1,
            "idempotency_key": None,
            "attempts": 0,
            "last_error": None,
        }
        for r in bind.execute(sa.text("SELECT brand_id FROM preferences WHERE pending"))
    ]
    if pending:
        op.bulk_insert(outbox, pending)

    with op.batch_alter_table("brands") as batch:
        batch.drop_column("tags")
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("pending")


def downgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.add_column(
            sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("brands") as batch:
        batch.add_column(sa.Column("tags", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE preferences SET pending = 1 WHERE brand_id IN (SELECT brand_id FROM outbox)"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE brands SET tags = COALESCE((SELECT group_concat(tag, ',') FROM brand_tags "
            "WHERE brand_tags.brand_id = brands.id), '')"
        )
    )
    op.drop_table("outbox")
    op.drop_index(op.f("ix_brand_tags_tag"), table_name="brand_tags")
    op.drop_table("brand_tags")
