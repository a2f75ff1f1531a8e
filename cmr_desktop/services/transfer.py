"""Export and import (``services.transfer``): the export document, CSV, consent receipts,
and importing an export file all or nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cmr_desktop.domain.fields import journal_name
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.interop import ImportPlan, build_document, plan_import, read_document, write_csv
from cmr_desktop.interop.document import dump_document, record_json
from cmr_desktop.interop.receipts import (
    brand_receipts,
    channel_action,
    confirmed_decisions,
    withdrawal_record,
)
from cmr_desktop.services.base import Context, bulk_work, resolve
from cmr_desktop.storage import BrandRecord


@dataclass(frozen=True, slots=True)
class ImportResult:
    plan: ImportPlan
    applied: bool


class TransferService:
    """Everything the customer takes out of the app, or brings into it."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # --- export ---------------------------------------------------------------------------

    def _export_parts(self) -> tuple[list[BrandRecord], dict[str, Any]]:
        with bulk_work(), self._ctx.store.read() as uow:
            records, terms = uow.brands.records(order="slug"), uow.settings.policy()
        header = build_document([], terms, now=self._ctx.now(), app_version=self._ctx.app_version)
        return records, header

    def export_json(self, out: IO[str]) -> int:
        """Write the export document (ARCHITECTURE 3.7) to ``out``; returns the number of
        brands."""
        records, header = self._export_parts()
        with bulk_work():
            out.write(dump_document(header, (record_json(r) for r in records)))
        return len(records)

    def export_csv(self, out: IO[str]) -> int:
        with self._ctx.store.read() as uow:
            brands = uow.brands.all()
        write_csv(brands, out)
        return len(brands)

    def export_receipts(self, out: IO[str], refs: Sequence[str] = ()) -> int:
        """Write the consent receipts (Kantara v1.1 shape) of the named brands (default:
        all) as a JSON array; returns how many.

        One receipt per decided state a vendor confirmed, and one for decisions not
        confirmed yet. Only the customer's decisions (and their applied My Terms) are
        consent: a vendor's defaults never appear. A brand whose decisions allow nothing
        has no receipt (see :meth:`brands_without_receipts`); when it has unsubscribe
        actions, a withdrawal record (``"cmrRecord": "withdrawal"``) follows the receipts
        instead. Every receipt carries its brand's actions as ``cmrHistory``
        (:mod:`cmr_desktop.interop.receipts`). Returns the number of receipts (withdrawal
        records are not receipts).
        """
        receipts, _without, withdrawals = self._receipts(refs)
        out.write(json.dumps([*receipts, *withdrawals], ensure_ascii=False, indent=2) + "\n")
        return len(receipts)

    def brands_without_receipts(self, refs: Sequence[str] = ()) -> list[str]:
        """Names of the brands (of ``refs``, default all) with nothing consented: no receipt."""
        return self._receipts(refs)[1]

    def withdrawals(self, refs: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The withdrawal records of the brands (of ``refs``, default all) with no receipt
        and unsubscribe actions in the journal."""
        return self._receipts(refs)[2]

    def _receipts(
        self, refs: Sequence[str]
    ) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
        with self._ctx.store.read() as uow:
            brands = [resolve(uow, r) for r in refs] if refs else uow.brands.all()
            pending = uow.brands.pending_slugs()
            entries = uow.journal.entries(brands[0].slug if len(brands) == 1 else None)
        confirmed: dict[str, list[tuple[dt.datetime, str, PreferenceSet]]] = {}
        terms: dict[str, dict[str, str]] = {}
        actions: dict[str, list[dict[str, Any]]] = {}
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
            elif e.kind == "unsubscribe":
                actions.setdefault(e.brand, []).append(channel_action(e.at, e.hash, e.detail))
        out: list[dict[str, Any]] = []
        without: list[str] = []
        withdrawals: list[dict[str, Any]] = []
        for b in brands:
            set_by_terms = terms.get(b.slug, {})
            by_terms = {
                key
                for key, grant in b.preferences.grants.items()
                if set_by_terms.get(journal_name(("grant", *key))) == str(grant)
            }
            done = actions.get(b.slug, [])
            found = brand_receipts(
                b,
                confirmed.get(b.slug, []),
                pending=b.slug in pending,
                by_terms=by_terms,
                actions=done,
            )
            out += found
            if not found:
                without.append(b.name)
                record = withdrawal_record(b, done)
                if record is not None:
                    withdrawals.append(record)
        return out, without, withdrawals

    # --- import ---------------------------------------------------------------------------

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
        with self._ctx.store.write() as uow:
            existing = {b.slug: b for b in uow.brands.all()}
            plan = plan_import(existing, uow.settings.policy(), data.brands, data.policy)
            if dry_run or plan.is_empty:
                return ImportResult(plan, applied=False)
            now = self._ctx.now()
            uow.brands.add_many(plan.added, now=now)
            for change in plan.changed:
                uow.brands.update(change.new, now=now, keep_timestamps=True)
            if plan.policy_after is not None:
                uow.settings.set_policy(plan.policy_after)
        return ImportResult(plan, applied=True)
