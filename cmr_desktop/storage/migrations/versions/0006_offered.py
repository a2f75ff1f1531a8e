"""What each brand's vendor offers, kept with its state.

Adds ``preferences.offered``: the channels and data uses of the vendor's catalog at the last
sync, so My Terms are judged by what a brand can actually do without a network call. Empty
(unknown) until a brand's next sync: until then an undecided field is judged as one the brand
may use, as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.add_column(sa.Column("offered", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("offered")
