"""Sync state per brand (revision, confirmation, status) and the audit journal.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("confirmed_at", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("sync_status", sa.String(length=24), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("sync_detail", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal")),
    )
    op.create_index(op.f("ix_journal_brand"), "journal", ["brand"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_journal_brand"), table_name="journal")
    op.drop_table("journal")
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("sync_detail")
        batch.drop_column("sync_status")
        batch.drop_column("confirmed_at")
        batch.drop_column("revision")
