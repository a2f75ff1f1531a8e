"""Repositories: the only way above the storage layer reaches the database.

They take a Session (one unit of work) and speak in domain objects.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import String, delete, func, insert, select, text, type_coerce, update
from sqlalchemy.orm import Session

from cmr_desktop.domain.brand import BRAND_FIELDS, Brand, BrandFieldKind
from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.domain.policy import MyTerms
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.domain.vocabulary import RelationshipStatus
from cmr_desktop.storage.models import (
    BrandRow,
    BrandTagRow,
    DirectoryRow,
    JournalRow,
    OutboxRow,
    PreferencesRow,
    SettingRow,
)

_TAG_SEP = "\x1f"
_POLICY_KEY = "my_terms"

#: The ``brands`` table's columns: every field of ``BRAND_FIELDS`` in its order, but the
#: tags (they live in ``brand_tags``).
_COLUMNS = tuple(f.name for f in BRAND_FIELDS if f.kind is not BrandFieldKind.TAGS)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _sorted_tags(text: str | None) -> list[str]:
    return sorted(text.split(_TAG_SEP)) if text else []


#: How a stored column of each kind becomes a Brand's value and back, and a BrandRecord's.
_READ: dict[BrandFieldKind, Callable[[Any], Any]] = {
    BrandFieldKind.STATUS: RelationshipStatus,
    BrandFieldKind.SETTINGS: json.loads,
}
_WRITE: dict[BrandFieldKind, Callable[[Any], Any]] = {
    BrandFieldKind.STATUS: lambda status: status.value,
    BrandFieldKind.SETTINGS: _dumps,
}
_KINDS = {f.name: f.kind for f in BRAND_FIELDS}
_READ_COLUMNS = tuple((n, _READ[_KINDS[n]]) for n in _COLUMNS if _KINDS[n] in _READ)
_READ_STAMPS = (
    *_READ_COLUMNS,
    *((n, dt.datetime.fromisoformat) for n in _COLUMNS if _KINDS[n] is BrandFieldKind.STAMP),
)
_WRITE_COLUMNS = tuple((n, _WRITE[_KINDS[n]]) for n in _COLUMNS if _KINDS[n] in _WRITE)
#: (place in a BrandRecord, how to read it) of the fields a record does not keep as stored.
_READ_IN_RECORD: dict[BrandFieldKind, Callable[[Any], Any]] = {
    BrandFieldKind.TAGS: _sorted_tags,
    BrandFieldKind.SETTINGS: json.loads,
}
_READ_RECORD = tuple(
    (i, _READ_IN_RECORD[f.kind]) for i, f in enumerate(BRAND_FIELDS) if f.kind in _READ_IN_RECORD
)
#: The sync engine's one query per brand: its columns, decisions and tags, then its sync
#: bookkeeping (plain SQL: see SyncRepository).
_LOAD_SQL = (
    f"SELECT {', '.join(f'b.{name}' for name in _COLUMNS)}, p.local, "
    "(SELECT group_concat(t.tag, char(31)) FROM brand_tags t WHERE t.brand_id = b.id), "
    "p.base, p.revision, p.remote_version, o.brand_id, o.pending_push "
    "FROM brands b JOIN preferences p ON p.brand_id = b.id "
    "LEFT JOIN outbox o ON o.brand_id = b.id WHERE b.slug = :slug"
)


def name_key(name: str) -> str:
    """Sort key for names as people expect: "Émile" between "Eve" and "Fiona", any case."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class NotFound(LookupError):
    """No brand with that id."""


class AlreadyExists(ValueError):
    """A brand with that id exists already."""


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
    sync_status: str = ""  # what the last sync found: "", ok, drift, failed, needs_reauth ...
    confirmed_at: str | None = None  # when the vendor last confirmed (stored ISO text)
    #: What the vendor last reported (stored text of ``PreferenceSet.to_dict()``), or None
    #: before the first sync. The vendor's, never the customer's decisions.
    vendor_json: str | None = None
    #: What the vendor's catalog offered at the last sync (``domain.summary.offered_text``),
    #: or None when not known (never synced, or synced before schema 0006).
    offered_json: str | None = None

    @property
    def preferences(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.preferences_json)
        return result

    @property
    def vendor(self) -> dict[str, Any] | None:
        if self.vendor_json is None:
            return None
        result: dict[str, Any] = json.loads(self.vendor_json)
        return result


def _tags_of_brand() -> Any:
    """A brand's tags as one text (joined with _TAG_SEP), for use inside a brand query."""
    return (
        select(func.group_concat(BrandTagRow.tag, _TAG_SEP))
        .where(BrandTagRow.brand_id == BrandRow.id)
        .scalar_subquery()
    )


@functools.cache
def _brand_select() -> Any:
    # Built once: constructing the statement cost more than running it (sync profile).
    return BrandRepository._build_select()


class BrandRepository:
    """Brands, their tags and preferences, and the per-brand outbox marker."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- reading ------------------------------------------------------------------------

    def _select(self) -> Any:
        return _brand_select()

    @staticmethod
    def _build_select() -> Any:
        tags = _tags_of_brand()
        return (
            select(*(getattr(BrandRow, name) for name in _COLUMNS), PreferencesRow.local, tags)
            .join(PreferencesRow, PreferencesRow.brand_id == BrandRow.id)
            .order_by(BrandRow.slug)
        )

    @staticmethod
    def _to_brand(row: Any, *, stamps_as_text: bool = False) -> Brand:
        """A brand from a row of :data:`_COLUMNS` followed by its decisions and its tags
        (``stamps_as_text``: the timestamps are the stored text, as plain SQL reads them)."""
        values = dict(zip(_COLUMNS, row, strict=False))
        for name, read in _READ_STAMPS if stamps_as_text else _READ_COLUMNS:
            values[name] = read(values[name])
        tags, local = row[len(_COLUMNS) + 1], row[len(_COLUMNS)]
        return Brand(
            **values,
            tags=tuple(tags.split(_TAG_SEP)) if tags else (),
            preferences=PreferenceSet.from_dict(json.loads(local)),
        )

    def records(self, *, order: str = "name", slug: str | None = None) -> list[BrandRecord]:
        """Every brand as stored (or only ``slug``), ordered by ``name`` or ``slug``."""
        tags = _tags_of_brand()
        pending = select(OutboxRow.brand_id).where(OutboxRow.brand_id == BrandRow.id).exists()
        # Every field of BRAND_FIELDS in its order (as BrandRecord has them), then the rest.
        fields = [
            tags
            if f.kind is BrandFieldKind.TAGS
            else type_coerce(getattr(BrandRow, f.name), String)
            if f.kind is BrandFieldKind.STAMP
            else getattr(BrandRow, f.name)
            for f in BRAND_FIELDS
        ]
        stmt = (
            select(
                *fields,
                PreferencesRow.local,
                pending,
                PreferencesRow.sync_status,
                type_coerce(PreferencesRow.confirmed_at, String),
                PreferencesRow.vendor,
                PreferencesRow.offered,
            )
            .join(PreferencesRow, PreferencesRow.brand_id == BrandRow.id)
            .order_by(BrandRow.slug)
        )
        if slug is not None:
            stmt = stmt.where(BrandRow.slug == slug)
        records = []
        for r in self.session.execute(stmt):
            values = list(r)
            for at, read in _READ_RECORD:
                values[at] = read(values[at])
            records.append(BrandRecord(*values))
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

    def is_pending(self, slug: str) -> bool:
        """Whether one brand has choices its vendor has not confirmed yet (one indexed look-up)."""
        return (
            self.session.scalar(
                select(OutboxRow.brand_id)
                .join(BrandRow, OutboxRow.brand_id == BrandRow.id)
                .where(BrandRow.slug == slug)
            )
            is not None
        )

    def vendor_state(self, slug: str) -> PreferenceSet | None:
        """What the brand's vendor last reported (None before the first sync)."""
        text = self.session.scalar(
            select(PreferencesRow.vendor)
            .join(BrandRow, PreferencesRow.brand_id == BrandRow.id)
            .where(BrandRow.slug == slug)
        )
        return PreferenceSet.from_dict(json.loads(text)) if text else None

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
        tags = _tags_of_brand()
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
                .values(local=new_local, revision=PreferencesRow.revision + 1)
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

    def clear_pending(self, slug: str) -> None:
        """Drop the outbox row of ``slug``: its decisions are what the vendor already holds
        (an undo that put them back), so there is nothing to send. A push stored but not yet
        answered is kept: the next sync must recognise it."""
        self.session.execute(
            delete(OutboxRow).where(
                OutboxRow.brand_id == self._id(slug), OutboxRow.pending_push.is_(None)
            )
        )

    def remove(self, slug: str) -> None:
        brand_id = self._id(slug)
        self.session.execute(delete(BrandRow).where(BrandRow.id == brand_id))

    def snapshot(self, slug: str) -> BrandSnapshot:
        """Everything stored about one brand, to put back with :meth:`restore` (the undo of
        a removal). Its journal entries are not part of it: the journal keeps them."""
        brand_id = self._id(slug)
        prefs = self.session.get(PreferencesRow, brand_id)
        assert prefs is not None  # a brand always has its preferences row
        outbox = self.session.get(OutboxRow, brand_id)
        snapshot = BrandSnapshot(
            brand=self.get(slug),
            sync={name: getattr(prefs, name) for name in _SNAPSHOT_SYNC},
            outbox=None
            if outbox is None
            else {name: getattr(outbox, name) for name in _SNAPSHOT_OUTBOX},
        )
        # Plain values are kept: the rows must not linger in the session once removed.
        self.session.expunge(prefs)
        if outbox is not None:
            self.session.expunge(outbox)
        return snapshot

    def restore(self, snapshot: BrandSnapshot, *, now: dt.datetime) -> None:
        """Store a brand exactly as :meth:`snapshot` found it: its decisions, details, tags,
        connector settings, the vendor's state, the sync bookkeeping and the outbox row.

        Raises:
            AlreadyExists: a brand with its id was added meanwhile.
        """
        brand = snapshot.brand
        self.add_many([brand], now=now, pending=False)
        brand_id = self._id(brand.slug)
        self.session.execute(
            update(PreferencesRow).where(PreferencesRow.brand_id == brand_id).values(snapshot.sync)
        )
        if snapshot.outbox is not None:
            self.session.execute(insert(OutboxRow).values(brand_id=brand_id, **snapshot.outbox))


#: What a snapshot keeps of the preferences row besides the decisions (``local``, which the
#: brand carries) and of the outbox row besides its key.
_SNAPSHOT_SYNC = (
    "base",
    "vendor",
    "offered",
    "remote_version",
    "revision",
    "confirmed_at",
    "sync_status",
    "sync_detail",
)
_SNAPSHOT_OUTBOX = ("since", "edits", "idempotency_key", "attempts", "last_error", "pending_push")


@dataclass(frozen=True, slots=True)
class BrandSnapshot:
    """One brand as stored (see :meth:`BrandRepository.snapshot`): the brand with its
    decisions, and the stored values of its sync bookkeeping and outbox row (None: it had
    nothing pending)."""

    brand: Brand
    sync: dict[str, Any]
    outbox: dict[str, Any] | None


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
    """The ``brands`` row of ``brand`` (every column of :data:`_COLUMNS`)."""
    values = {name: getattr(brand, name) for name in _COLUMNS}
    for name, write in _WRITE_COLUMNS:
        values[name] = write(values[name])
    return values


# --- sync --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncInput:
    """What the sync engine needs to know about one brand, read in one transaction."""

    brand: Brand
    base: PreferenceSet | None
    revision: int
    remote_version: str | None
    pending: bool
    #: The push stored before it was sent and not yet recorded as answered (a crash or a
    #: lost answer): {"key", "sent", "base_version", "drift"}; None when there is none.
    pending_push: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the last sync found for a brand."""

    status: str
    detail: str
    confirmed_at: dt.datetime | None


def _stamp(value: dt.datetime) -> str:
    """The stored form of a timestamp (as UTCDateTime writes it)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SyncRepository:
    """The per-brand sync bookkeeping: base state, revision, outbox, status.

    The sync engine calls these a few times per brand from many threads, so they use plain
    SQL: building SQLAlchemy statements cost more than the work itself (profiled).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _sql(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.session.connection().exec_driver_sql(sql, params or {})

    def targets(self, slugs: Sequence[str] = (), *, everything: bool = False) -> list[str]:
        """Brands to sync: those named, else all (``everything``), else the pending ones."""
        if slugs:
            return list(slugs)
        if everything:
            return [r[0] for r in self._sql("SELECT slug FROM brands ORDER BY slug")]
        return [
            r[0]
            for r in self._sql(
                "SELECT b.slug FROM brands b JOIN outbox o ON o.brand_id = b.id ORDER BY b.slug"
            )
        ]

    def load(self, slug: str) -> SyncInput:
        # One plain query for the brand and its sync state (called once per brand per run).
        row = self._sql(_LOAD_SQL, {"slug": slug}).first()
        if row is None:
            raise NotFound(slug)
        n = len(_COLUMNS) + 2  # the brand's columns, its decisions and its tags
        brand = BrandRepository._to_brand(row[:n], stamps_as_text=True)
        base_text, revision, remote_version, outbox, push_text = row[n:]
        base = PreferenceSet.from_dict(json.loads(base_text)) if base_text else None
        pending_push = json.loads(push_text) if push_text else None
        return SyncInput(brand, base, revision, remote_version, outbox is not None, pending_push)

    def _brand_id(self, slug: str) -> int:
        brand_id = self._sql("SELECT id FROM brands WHERE slug = :slug", {"slug": slug}).scalar()
        if brand_id is None:
            raise NotFound(slug)
        return int(brand_id)

    def store_push(self, slug: str, push: dict[str, Any], *, now: dt.datetime) -> None:
        """Keep the push about to be sent (its idempotency key, body, the version it is based
        on, and the drift that caused it) before it is sent: after a crash or a lost answer
        the engine recognises the vendor state it caused."""
        brand_id = self._brand_id(slug)
        self._sql(
            "INSERT INTO outbox (brand_id, since, edits, idempotency_key, attempts, pending_push) "
            "VALUES (:id, :now, 0, :key, 1, :push) ON CONFLICT (brand_id) DO UPDATE SET "
            "idempotency_key = excluded.idempotency_key, attempts = outbox.attempts + 1, "
            "pending_push = excluded.pending_push",
            {
                "id": brand_id,
                "now": _stamp(now),
                "key": push["key"],
                "push": json.dumps(push, ensure_ascii=False, sort_keys=True),
            },
        )

    def confirmed(
        self,
        slug: str,
        *,
        revision: int,
        base: PreferenceSet,
        vendor: PreferenceSet,
        remote_version: str,
        decisions: PreferenceSet | None,
        offered: str | None = None,
        status: str,
        detail: str,
        now: dt.datetime,
        keep_pending: bool = False,
    ) -> bool:
        """The vendor now holds ``vendor``; ``base`` is what both sides agree on. Returns False
        if the customer edited meanwhile (then their newer change stays pending, and only the
        base and the vendor's state move on).

        Args:
            decisions: the customer's decisions with the vendor's tightenings taken (None:
                unchanged). Written only when the customer did not edit meanwhile.
            keep_pending: leave the brand pending (the vendor did not take everything).
            offered: what the vendor's catalog offers (``domain.summary.offered_text``);
                None leaves the stored one.
        """
        brand_id = self._brand_id(slug)
        current = self._sql(
            "SELECT revision FROM preferences WHERE brand_id = :id", {"id": brand_id}
        ).scalar()
        params = {
            "id": brand_id,
            "base": _dumps_prefs(base),
            "vendor": _dumps_prefs(vendor),
            "version": remote_version,
            "now": _stamp(now),
            "status": status,
            "detail": detail,
        }
        unchanged = current == revision
        also_set = ""
        if offered is not None:
            also_set = ", offered = :offered"
            params["offered"] = offered
        if unchanged:
            if decisions is not None:
                also_set += ", local = :local"  # a vendor's tightening of a decided field
                params["local"] = _dumps_prefs(decisions)
            if keep_pending:
                self._sql(
                    "UPDATE outbox SET pending_push = NULL WHERE brand_id = :id", {"id": brand_id}
                )
            else:
                self._sql("DELETE FROM outbox WHERE brand_id = :id", {"id": brand_id})
        else:
            self._sql(
                "UPDATE outbox SET pending_push = NULL WHERE brand_id = :id", {"id": brand_id}
            )
        self._sql(
            "UPDATE preferences SET base = :base, vendor = :vendor, remote_version = :version, "
            f"confirmed_at = :now, sync_status = :status, sync_detail = :detail{also_set} "
            "WHERE brand_id = :id",
            params,
        )
        return bool(unchanged)

    def saw_vendor(self, slug: str, vendor: PreferenceSet) -> None:
        """Record what the vendor reported, when nothing else of the sync could be stored."""
        self._sql(
            "UPDATE preferences SET vendor = :vendor WHERE brand_id = :id",
            {"id": self._brand_id(slug), "vendor": _dumps_prefs(vendor)},
        )

    def set_status(self, slug: str, status: str, detail: str, *, error: bool = False) -> None:
        brand_id = self._brand_id(slug)
        self._sql(
            "UPDATE preferences SET sync_status = :status, sync_detail = :detail "
            "WHERE brand_id = :id",
            {"id": brand_id, "status": status, "detail": detail},
        )
        if error:
            self._sql(
                "UPDATE outbox SET last_error = :detail WHERE brand_id = :id",
                {"id": brand_id, "detail": detail},
            )

    def state(self, slug: str) -> SyncState:
        row = self._sql(
            "SELECT p.sync_status, p.sync_detail, p.confirmed_at FROM preferences p "
            "JOIN brands b ON b.id = p.brand_id WHERE b.slug = :slug",
            {"slug": slug},
        ).one()
        confirmed = dt.datetime.fromisoformat(row[2]) if row[2] else None
        return SyncState(row[0], row[1], confirmed)


# --- the audit journal ----------------------------------------------------------------------

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    at: dt.datetime
    brand: str
    kind: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def entry_hash(
    entry_id: int, at: dt.datetime, brand: str, kind: str, detail: str, prev: str
) -> str:
    """SHA-256 over the entry's content and the previous entry's hash."""
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps([entry_id, stamp, brand, kind, detail, prev], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class JournalRepository:
    """Append-only, hash-chained record of every push, drift and error."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, *, at: dt.datetime, brand: str, kind: str, detail: dict[str, Any]) -> None:
        # Callers hold a write transaction (BEGIN IMMEDIATE): no other writer can interleave.
        # Plain SQL: the sync engine appends from many threads (see SyncRepository).
        conn = self.session.connection()
        last = conn.exec_driver_sql("SELECT id, hash FROM journal ORDER BY id DESC LIMIT 1").first()
        entry_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        conn.exec_driver_sql(
            "INSERT INTO journal (id, at, brand, kind, detail, prev_hash, hash) "
            "VALUES (:id, :at, :brand, :kind, :detail, :prev, :hash)",
            {
                "id": entry_id,
                "at": _stamp(at),
                "brand": brand,
                "kind": kind,
                "detail": text,
                "prev": prev,
                "hash": entry_hash(entry_id, at, brand, kind, text, prev),
            },
        )

    def entries(self, brand: str | None = None) -> list[JournalEntry]:
        stmt = select(JournalRow).order_by(JournalRow.id)
        if brand is not None:
            stmt = stmt.where(JournalRow.brand == brand)
        return [
            JournalEntry(r.id, r.at, r.brand, r.kind, json.loads(r.detail), r.prev_hash, r.hash)
            for r in self.session.scalars(stmt)
        ]

    def first_broken(self) -> int | None:
        """The id of the first entry whose hash or link does not check out, or None."""
        prev = GENESIS
        for r in self.session.scalars(select(JournalRow).order_by(JournalRow.id)):
            if r.prev_hash != prev or r.hash != entry_hash(
                r.id, r.at, r.brand, r.kind, r.detail, r.prev_hash
            ):
                return r.id
            prev = r.hash
        return None


def directory_search_key(entry: DirectoryEntry) -> str:
    """What the directory search matches: name, other names and website, case-folded."""
    return " ".join((entry.name, *entry.runs, entry.web)).casefold()


class DirectoryRepository:
    """The imported company directory. Bulk upserts in plain SQL (3,000+ records)."""

    _COLUMNS = (
        "slug", "name", "search", "categories", "countries", "email", "web", "webform",
        "phone", "address", "quality", "runs",
    )  # fmt: skip

    def __init__(self, session: Session) -> None:
        self.session = session

    def _values(self, e: DirectoryEntry) -> dict[str, Any]:
        return {
            "slug": e.slug,
            "name": e.name,
            "search": directory_search_key(e),
            "categories": json.dumps(list(e.categories)),
            "countries": json.dumps(list(e.countries)),
            "email": e.email,
            "web": e.web,
            "webform": e.webform,
            "phone": e.phone,
            "address": e.address,
            "quality": e.quality,
            "runs": json.dumps(list(e.runs)),
        }

    def slugs(self) -> set[str]:
        return set(self.session.scalars(select(DirectoryRow.slug)))

    def upsert_many(self, entries: Sequence[DirectoryEntry]) -> tuple[int, int]:
        """Add new organisations and replace known ones (by slug): (added, updated)."""
        known = self.slugs()
        columns = ", ".join(self._COLUMNS)
        params = ", ".join(f":{c}" for c in self._COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in self._COLUMNS if c != "slug")
        sql = text(
            f"INSERT INTO directory ({columns}) VALUES ({params}) "
            f"ON CONFLICT(slug) DO UPDATE SET {updates}"
        )
        if entries:
            self.session.execute(sql, [self._values(e) for e in entries])
        added = sum(1 for e in entries if e.slug not in known)
        return added, len(entries) - added

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(DirectoryRow)) or 0)

    def search(self, query: str, limit: int = 20) -> list[DirectoryEntry]:
        """Organisations whose name (or other name, or site) contains every word of ``query``;
        names that start with the query first."""
        words = query.casefold().split()
        if not words:
            return []
        stmt = select(DirectoryRow)
        for word in words:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(DirectoryRow.search.like(f"%{escaped}%", escape="\\"))
        first = query.strip().casefold()
        starts = func.instr(func.lower(DirectoryRow.name), first) == 1
        stmt = stmt.order_by(starts.desc(), func.length(DirectoryRow.name), DirectoryRow.name)
        return [self._entry(r) for r in self.session.scalars(stmt.limit(limit))]

    def get(self, slug: str) -> DirectoryEntry | None:
        row = self.session.scalar(select(DirectoryRow).where(DirectoryRow.slug == slug))
        return self._entry(row) if row is not None else None

    @staticmethod
    def _entry(row: DirectoryRow) -> DirectoryEntry:
        return DirectoryEntry(
            slug=row.slug,
            name=row.name,
            categories=tuple(json.loads(row.categories)),
            countries=tuple(json.loads(row.countries)),
            email=row.email,
            web=row.web,
            webform=row.webform,
            phone=row.phone,
            address=row.address,
            quality=row.quality,
            runs=tuple(json.loads(row.runs)),
        )
