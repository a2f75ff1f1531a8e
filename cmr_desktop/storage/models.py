"""ORM models: the schema at the newest migration (checked against migrations in tests)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so Alembic batch migrations on SQLite can find and drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes stored as ISO-8601 text (sorts correctly in SQL)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def process_result_value(self, value: str | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return dt.datetime.fromisoformat(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class BrandRow(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    category: Mapped[str] = mapped_column(String(100), default="", index=True)
    website: Mapped[str] = mapped_column(String(500), default="")
    privacy_contact: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    connector: Mapped[str] = mapped_column(String(64), default="manual")
    connector_config: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class BrandTagRow(Base):
    __tablename__ = "brand_tags"

    brand_id: Mapped[int] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class PreferencesRow(Base):
    """The customer's decisions (``local``), the vendor's last reported state (``vendor``)
    and the last state both agreed on (``base``): three things, never confused."""

    __tablename__ = "preferences"

    brand_id: Mapped[int] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True
    )
    local: Mapped[str] = mapped_column(Text)  # PreferenceSet.to_dict() as JSON
    base: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: What the vendor last reported (PreferenceSet.to_dict() as JSON); shown as the vendor's.
    vendor: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: What the vendor's catalog offered at the last sync (channels and data uses, as JSON):
    #: what the brand can do, for judging My Terms. The vendor's, never a decision.
    offered: Mapped[str | None] = mapped_column(Text, nullable=True)
    remote_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Goes up by one with every local change; a push carries it in its idempotency key.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: "", ok, drift, failed, needs_reauth, manual (what the last sync found)
    sync_status: Mapped[str] = mapped_column(String(24), default="", server_default="")
    sync_detail: Mapped[str] = mapped_column(Text, default="", server_default="")


class OutboxRow(Base):
    """A brand whose local preferences changed since the vendor last confirmed them.

    Written in the same transaction as the edit (ARCHITECTURE 3.6): a crash loses nothing.
    """

    __tablename__ = "outbox"

    brand_id: Mapped[int] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    edits: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The push in flight, stored before it is sent: {"key", "sent", "base_version", "drift"}.
    pending_push: Mapped[str | None] = mapped_column(Text, nullable=True)


class SettingRow(Base):
    """Small JSON documents: the My Terms policy, and later issues' settings."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class JournalRow(Base):
    """Append-only audit journal; each entry's hash covers the one before it."""

    __tablename__ = "journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    brand: Mapped[str] = mapped_column(String(64), index=True)  # kept after a brand is removed
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)  # JSON: what was sent, what came back
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DirectoryRow(Base):
    """An organisation of an imported company directory (see domain.directory)."""

    __tablename__ = "directory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    search: Mapped[str] = mapped_column(Text)  # case-folded name, other names and web site
    categories: Mapped[str] = mapped_column(Text)  # JSON array
    countries: Mapped[str] = mapped_column(Text)  # JSON array
    email: Mapped[str] = mapped_column(String(300))
    web: Mapped[str] = mapped_column(String(500))
    webform: Mapped[str] = mapped_column(String(500))
    phone: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(Text)
    quality: Mapped[str] = mapped_column(String(16))
    runs: Mapped[str] = mapped_column(Text)  # JSON array


class MailSourceRow(Base):
    """A mailbox that was scanned (mbox file, Maildir folder, IMAP account) and where its
    next scan starts: the resume point covers exactly the messages stored from it."""

    __tablename__ = "mail_sources"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)  # MailSource.key
    description: Mapped[str] = mapped_column(Text, default="")
    resume: Mapped[str] = mapped_column(Text, default="{}")  # ScanRun.resume_point() as JSON
    scanned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class MailMessageRow(Base):
    """The headers of one message from a brand (never its body): what discovery measures.

    The sender's behaviour, never a decision of the customer's. ``ident`` is the Message-ID,
    or where the message is when it has none; unique per source (a rescan adds nothing twice).
    """

    __tablename__ = "mail_messages"
    __table_args__ = (
        UniqueConstraint("source", "ident", name="uq_mail_messages_source_ident"),
        # Covers the per-brand figures (count, dates, methods, distinct ids): the dashboard's
        # read-out never touches the table's rows.
        Index("ix_mail_messages_brand_key", "brand_key", "date", "methods", "ident"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(
        String(500), ForeignKey("mail_sources.key", ondelete="CASCADE")
    )
    ident: Mapped[str] = mapped_column(Text)
    brand_key: Mapped[str] = mapped_column(String(500))
    domain: Mapped[str] = mapped_column(String(253), default="")
    name: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    from_address: Mapped[str] = mapped_column(Text, default="")
    list_id: Mapped[str] = mapped_column(Text, default="")
    unsubscribe: Mapped[str] = mapped_column(Text, default="[]")  # JSON array of URIs
    one_click: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The unsubscribe methods the message offers: 1 one-click (RFC 8058 with an https
    #: URI), 2 mailto, 4 web (an http(s) URI).
    methods: Mapped[int] = mapped_column(Integer, default=0)
    dkim_pass_domain: Mapped[str] = mapped_column(String(253), default="")
    location: Mapped[str] = mapped_column(Text, default="")  # MailHeaders.where
