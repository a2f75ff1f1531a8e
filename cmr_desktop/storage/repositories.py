"""Repositories: the only way above the storage layer reaches the database.

They take a Session (one unit of work) and speak in domain objects.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import String, delete, func, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.policy import MyTerms
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.domain.vocabulary import RelationshipStatus
from cmr_desktop.storage.models import BrandRow, BrandTagRow, OutboxRow, PreferencesRow, SettingRow

_TAG_SEP = "\x1f"
_POLICY_KEY = "my_terms"


def name_key(name: str) -> str:
    """Sort key for names as people expect: "Émile" between "Eve" and "Fiona", any case."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class NotFound(LookupError):
    """No brand with that id."""


class AlreadyExists(ValueError):
    """A brand with that id exists already."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _dumps_prefs(prefs: PreferenceSet) -> str:
    # Stored exactly as PreferenceSet.to_dict() orders and json.dumps() spaces it, so bulk
    # read-outs can splice the stored text into their output as it is (BrandRecord).
    return json.dumps(prefs.to_dict(), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class BrandRecord:
    """A brand as stored, for bulk read-outs (export, ``cmr brand list --json``).

    Building 10,000 domain objects costs most of a second; these read-outs only copy the
    stored data out, so they skip that. ``preferences_json`` is the stored text of
    ``PreferenceSet.to_dict()``; timestamps are the stored ISO-8601 UTC text.
    """

    slug: str
    name: str
    account_id: str
    status: str
    category: str
    website: str
    privacy_contact: str
    notes: str
    tags: list[str]
    connector: str
    connector_config: dict[str, str]
    created_at: str
    updated_at: str
    preferences_json: str
    pending: bool

    @property
    def preferences(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.preferences_json)
        return result


class BrandRepository:
    """Brands, their tags and preferences, and the per-brand outbox marker."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- reading ------------------------------------------------------------------------

    def _select(self) -> Any:
        tags = (
            select(func.group_concat(BrandTagRow.tag, _TAG_SEP))
            .where(BrandTagRow.brand_id == BrandRow.id)
            .scalar_subquery()
        )
        return (
            select(
                BrandRow.slug,
                BrandRow.name,
                BrandRow.account_id,
                BrandRow.status,
                BrandRow.category,
                BrandRow.website,
                BrandRow.privacy_contact,
                BrandRow.notes,
                BrandRow.connector,
                BrandRow.connector_config,
                BrandRow.created_at,
                BrandRow.updated_at,
                PreferencesRow.local,
                tags,
            )
            .join(PreferencesRow, PreferencesRow.brand_id == BrandRow.id)
            .order_by(BrandRow.slug)
        )

    @staticmethod
    def _to_brand(row: Any) -> Brand:
        return Brand(
            slug=row[0],
            name=row[1],
            account_id=row[2],
            status=RelationshipStatus(row[3]),
            category=row[4],
            website=row[5],
            privacy_contact=row[6],
            notes=row[7],
            tags=tuple(row[13].split(_TAG_SEP)) if row[13] else (),
            connector=row[8],
            connector_config=json.loads(row[9]),
            preferences=PreferenceSet.from_dict(json.loads(row[12])),
            created_at=row[10],
            updated_at=row[11],
        )

    def records(self, *, order: str = "name") -> list[BrandRecord]:
        """Every brand as stored, ordered by ``name`` (case-insensitive) or ``slug``."""
        tags = (
            select(func.group_concat(BrandTagRow.tag, _TAG_SEP))
            .where(BrandTagRow.brand_id == BrandRow.id)
            .scalar_subquery()
        )
        pending = select(OutboxRow.brand_id).where(OutboxRow.brand_id == BrandRow.id).exists()
        stmt = (
            select(
                BrandRow.slug,
                BrandRow.name,
                BrandRow.account_id,
                BrandRow.status,
                BrandRow.category,
                BrandRow.website,
                BrandRow.privacy_contact,
                BrandRow.notes,
                tags,
                BrandRow.connector,
                BrandRow.connector_config,
                type_coerce(BrandRow.created_at, String),
                type_coerce(BrandRow.updated_at, String),
                PreferencesRow.local,
                pending,
            )
            .join(PreferencesRow, PreferencesRow.brand_id == BrandRow.id)
            .order_by(BrandRow.slug)
        )
        records = [
            BrandRecord(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                sorted(r[8].split(_TAG_SEP)) if r[8] else [],
                r[9],
                json.loads(r[10]),
                r[11],
                r[12],
                r[13],
                bool(r[14]),
            )
            for r in self.session.execute(stmt)
        ]
        if order == "name":
            records.sort(key=lambda r: name_key(r.name))  # stable: ties stay in slug order
        return records

    def all(self) -> list[Brand]:
        """Every brand, sorted by name (accents and case ignored)."""
        brands = [self._to_brand(r) for r in self.session.execute(self._select())]
        brands.sort(key=lambda b: name_key(b.name))
        return brands

    def get(self, slug: str) -> Brand:
        row = self.session.execute(self._select().where(BrandRow.slug == slug)).first()
        if row is None:
            raise NotFound(slug)
        return self._to_brand(row)

    def find(self, slug: str) -> Brand | None:
        try:
            return self.get(slug)
        except NotFound:
            return None

    def slugs(self) -> set[str]:
        return set(self.session.scalars(select(BrandRow.slug)))

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(BrandRow)) or 0)

    def pending_slugs(self) -> set[str]:
        """Brands whose local choices the vendor has not confirmed yet."""
        return set(
            self.session.scalars(
                select(BrandRow.slug).join(OutboxRow, OutboxRow.brand_id == BrandRow.id)
            )
        )

    # --- writing ------------------------------------------------------------------------

    def add(self, brand: Brand, *, now: dt.datetime, pending: bool = True) -> Brand:
        """Store a new brand (its preferences go to the outbox unless ``pending`` is False)."""
        return self.add_many([brand], now=now, pending=pending)[0]

    def add_many(
        self, brands: Sequence[Brand], *, now: dt.datetime, pending: bool = True
    ) -> list[Brand]:
        """Store many new brands in one go (import, benchmarks). All or nothing."""
        existing = self.slugs() & {b.slug for b in brands}
        if existing:
            raise AlreadyExists(sorted(existing)[0])
        stamped = [
            replace(b, created_at=b.created_at or now, updated_at=b.updated_at or now)
            for b in brands
        ]
        if not stamped:
            return []
        result = self.session.execute(
            insert(BrandRow).returning(BrandRow.slug, BrandRow.id, sort_by_parameter_order=True),
            [_brand_values(b) for b in stamped],
        )
        ids: dict[str, int] = {slug: brand_id for slug, brand_id in result}
        self.session.execute(
            insert(PreferencesRow),
            [
                {
                    "brand_id": ids[b.slug],
                    "local": _dumps_prefs(b.preferences),
                    "base": None,
                    "remote_version": None,
                }
                for b in stamped
            ],
        )
        tag_rows = [{"brand_id": ids[b.slug], "tag": t} for b in stamped for t in b.tags]
        if tag_rows:
            self.session.execute(insert(BrandTagRow), tag_rows)
        if pending:
            self.session.execute(
                insert(OutboxRow),
                [
                    {"brand_id": ids[b.slug], "since": now, "edits": 1, "attempts": 0}
                    for b in stamped
                ],
            )
        return stamped

    def _id(self, slug: str) -> int:
        brand_id = self.session.scalar(select(BrandRow.id).where(BrandRow.slug == slug))
        if brand_id is None:
            raise NotFound(slug)
        return brand_id

    def update(self, brand: Brand, *, now: dt.datetime, keep_timestamps: bool = False) -> Brand:
        """Replace a brand's record. A change of preferences marks it pending (outbox).

        Returns the brand as stored (with its timestamps).
        """
        tags = (
            select(func.group_concat(BrandTagRow.tag, _TAG_SEP))
            .where(BrandTagRow.brand_id == BrandRow.id)
            .scalar_subquery()
        )
        row = self.session.execute(
            select(BrandRow.id, BrandRow.created_at, PreferencesRow.local, tags)
            .join(PreferencesRow, PreferencesRow.brand_id == BrandRow.id)
            .where(BrandRow.slug == brand.slug)
        ).first()
        if row is None:
            raise NotFound(brand.slug)
        brand_id, created_at, old_local, old_tags = row
        brand = replace(
            brand,
            created_at=created_at,
            updated_at=brand.updated_at if keep_timestamps and brand.updated_at else now,
        )
        values = _brand_values(brand)
        values.pop("created_at")
        self.session.execute(update(BrandRow).where(BrandRow.id == brand_id).values(values))
        if set(old_tags.split(_TAG_SEP) if old_tags else ()) != set(brand.tags):
            self.session.execute(delete(BrandTagRow).where(BrandTagRow.brand_id == brand_id))
            if brand.tags:
                self.session.execute(
                    insert(BrandTagRow), [{"brand_id": brand_id, "tag": t} for t in brand.tags]
                )
        new_local = _dumps_prefs(brand.preferences)
        if new_local != old_local:
            self.session.execute(
                update(PreferencesRow)
                .where(PreferencesRow.brand_id == brand_id)
                .values(local=new_local)
            )
            self.mark_pending(brand_id, now=now)
        return brand

    def mark_pending(self, brand_id: int, *, now: dt.datetime) -> None:
        row = self.session.get(OutboxRow, brand_id)
        if row is None:
            self.session.add(OutboxRow(brand_id=brand_id, since=now, edits=1, attempts=0))
        else:
            row.edits += 1
            # A new edit is a new request: the next push gets a new idempotency key.
            row.idempotency_key = None
        self.session.flush()

    def outbox_key(self, slug: str) -> str:
        """The idempotency key for the next push of ``slug``, made once and kept for retries."""
        row = self.session.get(OutboxRow, self._id(slug))
        if row is None:
            raise NotFound(slug)
        if row.idempotency_key is None:
            row.idempotency_key = uuid.uuid4().hex
            self.session.flush()
        return row.idempotency_key

    def remove(self, slug: str) -> None:
        brand_id = self._id(slug)
        self.session.execute(delete(BrandRow).where(BrandRow.id == brand_id))


class SettingsRepository:
    """Small settings documents, starting with the My Terms policy."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def policy(self) -> MyTerms:
        raw = self.session.scalar(select(SettingRow.value).where(SettingRow.key == _POLICY_KEY))
        return MyTerms.from_dict(json.loads(raw)) if raw else MyTerms()

    def set_policy(self, terms: MyTerms) -> None:
        row = self.session.get(SettingRow, _POLICY_KEY)
        value = _dumps(terms.to_dict())
        if row is None:
            self.session.add(SettingRow(key=_POLICY_KEY, value=value))
        else:
            row.value = value
        self.session.flush()


def _brand_values(brand: Brand) -> dict[str, Any]:
    return {
        "slug": brand.slug,
        "name": brand.name,
        "account_id": brand.account_id,
        "status": brand.status.value,
        "category": brand.category,
        "website": brand.website,
        "privacy_contact": brand.privacy_contact,
        "notes": brand.notes,
        "connector": brand.connector,
        "connector_config": _dumps(brand.connector_config),
        "created_at": brand.created_at,
        "updated_at": brand.updated_at,
    }
