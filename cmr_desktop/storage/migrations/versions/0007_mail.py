"""The mailbox: scanned sources with their resume point, and the headers of brand mail.

Adds ``mail_sources`` (a scanned mbox file, Maildir folder or IMAP account, and where its
next scan starts) and ``mail_messages`` (one row per message from a brand: headers only,
never a body; unique per source by Message-ID). Both hold the vendors' behaviour as the
mailbox shows it, never a decision of the customer's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_sources",
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("resume", sa.Text(), nullable=False),
        sa.Column("scanned_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_mail_sources")),
    )
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("ident", sa.Text(), nullable=False),
        sa.Column("brand_key", sa.String(length=500), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("date", sa.String(length=32), nullable=True),
        sa.Column("from_address", sa.Text(), nullable=False),
        sa.Column("list_id", sa.Text(), nullable=False),
        sa.Column("unsubscribe", sa.Text(), nullable=False),
        sa.Column("one_click", sa.Boolean(), nullable=False),
        sa.Column("methods", sa.Integer(), nullable=False),
        sa.Column("dkim_pass_domain", sa.String(length=253), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source"],
            ["mail_sources.key"],
            name=op.f("fk_mail_messages_source_mail_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
        sa.UniqueConstraint("source", "ident", name="uq_mail_messages_source_ident"),
    )
    op.create_index(
        "ix_mail_messages_brand_key",
        "mail_messages",
        ["brand_key", "date", "methods", "ident"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_mail_messages_brand_key", table_name="mail_messages")
    op.drop_table("mail_messages")
    op.drop_table("mail_sources")
