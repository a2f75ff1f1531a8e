"""Alembic environment. Runs on the connection the store hands in (see storage.db)."""

from __future__ import annotations

from alembic import context

from cmr_desktop.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only for `alembic` run by hand
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///cmr.sqlite3")
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things: batch mode recreates tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
