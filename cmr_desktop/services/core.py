"""The use cases shared by the CLI and the desktop app.

Each public method is one unit of work: it opens its own transaction, and either all of its
changes are stored or none are.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from cmr_desktop.domain.brand import MANUAL_CONNECTOR, Brand, check_slug, slugify
from cmr_desktop.domain.clock import Clock, SystemClock
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.policy import MyTerms, Violation
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.interop import (
    ImportPlan,
    build_document,
    plan_import,
    read_document,
    write_csv,
)
from cmr_desktop.interop.document import dump_document, record_json, record_to_dict
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services.errors import BrandNotFound, InputError
from cmr_desktop.storage import AlreadyExists, BrandRecord, Store, UnitOfWork

#: Connectors this build can drive. The connector plugin registry (a later issue) replaces
#: this; until then every brand is handled by hand.
KNOWN_CONNECTORS = (MANUAL_CONNECTOR,)

_EDITABLE = (
    "name",
    "account_id",
    "status",
    "category",
    "website",
    "privacy_contact",
    "notes",
    "tags",
    "connector",
)


@dataclass(frozen=True, slots=True)
class BrandView:
    """A brand as the CLI and UI show it: the record plus its sync state."""

    brand: Brand
    pending: bool


@dataclass(frozen=True, slots=True)
class ImportResult:
    plan: ImportPlan
    applied: bool


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during bulk work.

    Reading or importing 10,000 brands allocates millions of small objects, and the
    collector rescans the growing heap again and again: about 30% of an import's time.
    Nothing here makes reference cycles that must be freed early; it runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Services:
    """Entry point for every use case.

    Args:
        store: the home's database.
        secrets: where brand secrets are kept.
        clock: tells the time (injected so expiry can be tested).
        app_version: written into exports.
    """

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        clock: Clock | None = None,
        app_version: str = "0",
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.clock = clock or SystemClock()
        self.app_version = app_version

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        return self.clock.now().date()

    # --- brands -------------------------------------------------------------------------

    def _resolve(self, uow: UnitOfWork, ref: str) -> Brand:
        brand: Brand | None = uow.brands.find(ref)
        if brand is not None:
            return brand
        wanted = ref.strip().casefold()
        matches = [b for b in uow.brands.all() if b.name.casefold() == wanted]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(
                f"brand name {ref!r} is ambiguous; use its id: "
                + ", ".join(b.slug for b in matches)
            )
        slugs = sorted(uow.brands.slugs())
        raise BrandNotFound(ref, difflib.get_close_matches(ref.lower(), slugs, n=3))

    def add_brand(self, name: str, *, slug: str | None = None, **fields: Any) -> Brand:
        """Add a brand (connector ``manual`` unless told otherwise)."""
        try:
            slug = check_slug(slug) if slug else slugify(name)
            self._check_connector(fields.get("connector", MANUAL_CONNECTOR))
            brand = Brand(slug=slug, name=name.strip(), **fields)
        except (DomainError, TypeError) as exc:
            raise InputError(str(exc)) from None
        with self.store.write() as uow:
            try:
                return uow.brands.add(brand, now=self.now())
            except AlreadyExists:
                raise InputError(
                    f"a brand with id {slug!r} exists already; choose another with --slug"
                ) from None

    def _check_connector(self, connector: str) -> None:
        if connector not in KNOWN_CONNECTORS:
            raise InputError(
                f"unknown connector {connector!r} (available: {', '.join(KNOWN_CONNECTORS)})"
            )

    def list_brands(self) -> list[BrandView]:
        with self.store.read() as uow:
            pending = uow.brands.pending_slugs()
            return [BrandView(b, b.slug in pending) for b in uow.brands.all()]

    def get_brand(self, ref: str) -> BrandView:
        with self.store.read() as uow:
            brand = self._resolve(uow, ref)
            return BrandView(brand, brand.slug in uow.brands.pending_slugs())

    def edit_brand(self, ref: str, **changes: Any) -> Brand:
        """Change relationship fields (name, category, tags ...) of a brand."""
        unknown = set(changes) - set(_EDITABLE)
        if unknown:
            raise InputError(f"cannot edit {', '.join(sorted(unknown))}")
        if "connector" in changes:
            self._check_connector(changes["connector"])
        with self.store.write() as uow:
            brand = self._resolve(uow, ref)
            try:
                updated = replace(brand, **changes)
            except DomainError as exc:
                raise InputError(str(exc)) from None
            return uow.brands.update(updated, now=self.now())

    def remove_brand(self, ref: str) -> Brand:
        with self.store.write() as uow:
            brand = self._resolve(uow, ref)
            uow.brands.remove(brand.slug)
        for field in brand.connector_config:
            # Config never holds secrets, but a connector's secret fields share its names.
            self._forget_secret(brand.slug, field)
        return brand

    def _forget_secret(self, slug: str, field: str) -> None:
        # Forgetting is best effort: the brand is gone either way.
        with contextlib.suppress(Exception):
            self.secrets.delete(slug, field)

    def set_secret(self, ref: str, field: str, value: str) -> None:
        """Keep a secret (API token, password) for a brand in the OS keyring."""
        with self.store.read() as uow:
            brand = self._resolve(uow, ref)
        try:
            self.secrets.set(brand.slug, field, value)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    # --- preferences --------------------------------------------------------------------

    def update_preferences(self, ref: str, edit: Any) -> BrandView:
        """Apply ``edit`` (a function PreferenceSet -> PreferenceSet) and mark the brand pending.

        The edit and the outbox marker are written in one transaction.
        """
        with self.store.write() as uow:
            brand = self._resolve(uow, ref)
            try:
                prefs: PreferenceSet = edit(brand.preferences)
            except DomainError as exc:
                raise InputError(str(exc)) from None
            updated = uow.brands.update(brand.with_preferences(prefs), now=self.now())
            return BrandView(updated, updated.slug in uow.brands.pending_slugs())

    # --- My Terms -----------------------------------------------------------------------

    def policy(self) -> MyTerms:
        with self.store.read() as uow:
            return uow.settings.policy()

    def set_policy(self, terms: MyTerms) -> None:
        with self.store.write() as uow:
            uow.settings.set_policy(terms)

    def check_policy(self, refs: Sequence[str] = ()) -> dict[str, list[Violation]]:
        """Violations of My Terms per brand id (only brands that break them)."""
        with self.store.read() as uow:
            terms = uow.settings.policy()
            brands = [self._resolve(uow, r) for r in refs] if refs else uow.brands.all()
        today = self.today()
        out = {}
        for b in brands:
            found = terms.evaluate(b.preferences, today, b.name)
            if found:
                out[b.slug] = found
        return out

    def apply_policy(self, refs: Sequence[str] = ()) -> list[str]:
        """Change brands so they keep My Terms; returns the ids of the brands changed."""
        changed = []
        with self.store.write() as uow:
            terms = uow.settings.policy()
            brands = [self._resolve(uow, r) for r in refs] if refs else uow.brands.all()
            today, now = self.today(), self.now()
            for b in brands:
                prefs = terms.apply(b.preferences, today)
                if prefs != b.preferences:
                    uow.brands.update(b.with_preferences(prefs), now=now)
                    changed.append(b.slug)
        return changed

    # --- export / import ----------------------------------------------------------------

    def brand_records(self) -> list[BrandRecord]:
        """Every brand as stored, sorted by name: a fast read-out for listings (no domain
        objects are built). Turn one into export-shaped data with ``interop.record_json``."""
        with bulk_work(), self.store.read() as uow:
            return uow.brands.records(order="name")

    def _export_parts(self) -> tuple[list[BrandRecord], dict[str, Any]]:
        with bulk_work(), self.store.read() as uow:
            records, terms = uow.brands.records(order="slug"), uow.settings.policy()
        header = build_document([], terms, now=self.now(), app_version=self.app_version)
        return records, header

    def export_document(self) -> dict[str, Any]:
        """The export as data (ARCHITECTURE 3.7)."""
        records, doc = self._export_parts()
        doc["brands"] = [record_to_dict(r) for r in records]
        return doc

    def export_json(self, out: IO[str]) -> int:
        """Write the export document to ``out``; returns the number of brands."""
        records, header = self._export_parts()
        with bulk_work():
            out.write(dump_document(header, (record_json(r) for r in records)))
        return len(records)

    def export_csv(self, out: IO[str]) -> int:
        with self.store.read() as uow:
            brands = uow.brands.all()
        write_csv(brands, out)
        return len(brands)

    def import_file(self, path: Path, *, dry_run: bool = False) -> ImportResult:
        """Import an export file. All or nothing: on any problem nothing is written.

        Raises:
            ImportProblem: the file is broken; its message names the file, place and value.
        """
        # A brand whose connector is not installed is kept as it is; the connector registry
        # reports it as unavailable rather than the import dropping data.
        with bulk_work():
            return self._import(path, dry_run)

    def _import(self, path: Path, dry_run: bool) -> ImportResult:
        data = read_document(path)
        with self.store.write() as uow:
            existing = {b.slug: b for b in uow.brands.all()}
            plan = plan_import(existing, uow.settings.policy(), data.brands, data.policy)
            if dry_run or plan.is_empty:
                return ImportResult(plan, applied=False)
            now = self.now()
            uow.brands.add_many(plan.added, now=now)
            for change in plan.changed:
                uow.brands.update(change.new, now=now, keep_timestamps=True)
            if plan.policy_after is not None:
                uow.settings.set_policy(plan.policy_after)
        return ImportResult(plan, applied=True)
