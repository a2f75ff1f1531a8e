"""The use cases shared by the CLI and the desktop app.

Each public method is one unit of work: it opens its own transaction, and either all of its
changes are stored or none are.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cmr_desktop.connectors.http import ConnectorSession
from cmr_desktop.connectors.registry import Registry
from cmr_desktop.domain.clock import Clock
from cmr_desktop.domain.directory import DirectoryEntry
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.interop import (
    ImportPlan,
    build_document,
    plan_import,
    read_document,
    write_csv,
)
from cmr_desktop.interop.directory import bundled_directory, read_directory
from cmr_desktop.interop.document import dump_document, record_json, record_to_dict
from cmr_desktop.interop.receipts import brand_receipts, confirmed_decisions
from cmr_desktop.secrets import SecretStore
from cmr_desktop.services.base import (
    Context,
    bulk_work,
    resolve,
)
from cmr_desktop.services.brands import BrandService
from cmr_desktop.services.connections import ConnectionService
from cmr_desktop.services.preferences import PreferenceService
from cmr_desktop.services.sync import SyncService
from cmr_desktop.storage import (
    BrandRecord,
    JournalEntry,
    Store,
)
from cmr_desktop.sync.engine import field_name

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
class DirectoryImportResult:
    """What a directory import did (or, for a dry run, would do)."""

    source: str
    added: int
    updated: int
    skipped: tuple[str, ...]  # one line per skipped record: where and why
    total: int  # records in the file


@dataclass(frozen=True, slots=True)
class ImportResult:
    plan: ImportPlan
    applied: bool


class Services(Context):
    """Entry point for every use case."""

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        clock: Clock | None = None,
        app_version: str = "0",
        registry: Registry | None = None,
        session_factory: Callable[[], ConnectorSession] | None = None,
    ) -> None:
        super().__init__(store, secrets, clock, app_version, registry, session_factory)
        self.brands = BrandService(self)
        self.preferences = PreferenceService(self)
        self.connections = ConnectionService(self)
        self.sync = SyncService(self)

    # --- sync and journal -----------------------------------------------------------------

    def journal(self, ref: str | None = None) -> list[JournalEntry]:
        """Journal entries, oldest first (of one brand, or all)."""
        with self.store.read() as uow:
            slug = None
            if ref is not None:
                found = uow.brands.find(ref)
                slug = found.slug if found else ref  # removed brands keep their entries
            return uow.journal.entries(slug)

    def verify_journal(self) -> int | None:
        """The id of the first entry whose hash chain breaks, or None when it is intact."""
        with self.store.read() as uow:
            return uow.journal.first_broken()

    # --- preferences --------------------------------------------------------------------

    # --- My Terms -----------------------------------------------------------------------

    # --- export / import ----------------------------------------------------------------

    # --- company directory ----------------------------------------------------------------

    def import_directory(
        self, path: Path | None = None, *, dry_run: bool = False
    ) -> DirectoryImportResult:
        """Import a company directory (default: the bundled one) in one transaction.

        Records that do not match the directory schema are skipped and listed; the rest are
        added, or replace the organisation with the same slug.

        Raises:
            ImportProblem: the file cannot be read or is not a directory (nothing written).
        """
        source = path or bundled_directory()
        parsed = read_directory(source)
        if dry_run:
            with self.store.read() as uow:
                known = uow.directory.slugs()
            added = sum(1 for e in parsed.entries if e.slug not in known)
            updated = len(parsed.entries) - added
        else:
            with self.store.write() as uow:
                added, updated = uow.directory.upsert_many(parsed.entries)
        return DirectoryImportResult(str(source), added, updated, parsed.skipped, parsed.total)

    def search_directory(self, query: str, limit: int = 20) -> list[DirectoryEntry]:
        """Organisations of the imported directory matching every word of ``query``."""
        with self.store.read() as uow:
            return uow.directory.search(query, limit)

    def directory_entry(self, slug: str) -> DirectoryEntry | None:
        with self.store.read() as uow:
            return uow.directory.get(slug)

    def directory_size(self) -> int:
        with self.store.read() as uow:
            return uow.directory.count()

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

    def consent_receipts(self, refs: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Consent receipts (Kantara v1.1 shape) of the named brands (default: all): one per
        decided state a vendor confirmed, and one for decisions not confirmed yet. Only the
        customer's decisions (and their applied My Terms) are consent: a vendor's defaults
        never appear. A brand whose decisions allow nothing has no receipt
        (see :meth:`brands_without_receipts`)."""
        return self._receipts(refs)[0]

    def brands_without_receipts(self, refs: Sequence[str] = ()) -> list[str]:
        """Names of the brands (of ``refs``, default all) with nothing consented: no receipt."""
        return self._receipts(refs)[1]

    def _receipts(self, refs: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
        with self.store.read() as uow:
            brands = [resolve(uow, r) for r in refs] if refs else uow.brands.all()
            pending = uow.brands.pending_slugs()
            entries = uow.journal.entries(brands[0].slug if len(brands) == 1 else None)
        confirmed: dict[str, list[tuple[dt.datetime, str, PreferenceSet]]] = {}
        terms: dict[str, dict[str, str]] = {}
        for e in entries:
            held, decided = e.detail.get("held"), e.detail.get("decided")
            if e.kind == "answer" and isinstance(held, dict) and isinstance(decided, dict):
                # Older answers carry only the vendor's state: not consent, so no receipt.
                state = confirmed_decisions(
                    PreferenceSet.from_dict(decided), PreferenceSet.from_dict(held)
                )
                confirmed.setdefault(e.brand, []).append((e.at, e.hash, state))
            elif e.kind == "terms":
                for f in e.detail.get("fields") or []:
                    terms.setdefault(e.brand, {})[str(f.get("field"))] = str(f.get("value"))
        out: list[dict[str, Any]] = []
        without: list[str] = []
        for b in brands:
            set_by_terms = terms.get(b.slug, {})
            by_terms = {
                key
                for key, grant in b.preferences.grants.items()
                if set_by_terms.get(field_name(("grant", *key))) == str(grant)
            }
            found = brand_receipts(
                b, confirmed.get(b.slug, []), pending=b.slug in pending, by_terms=by_terms
            )
            out += found
            if not found:
                without.append(b.name)
        return out, without

    def export_receipts(self, out: IO[str], refs: Sequence[str] = ()) -> int:
        """Write the consent receipts as a JSON array; returns how many."""
        receipts = self.consent_receipts(refs)
        out.write(json.dumps(receipts, ensure_ascii=False, indent=2) + "\n")
        return len(receipts)

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
