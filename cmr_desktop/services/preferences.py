"""The customer's decisions and My Terms (``services.preferences``): edits, drift,
applying My Terms, and what the terms say about every brand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.errors import DomainError
from cmr_desktop.domain.fields import format_value, journal_name
from cmr_desktop.domain.policy import MyTerms, Violation
from cmr_desktop.domain.preferences import FieldKey, FieldValue, PreferenceSet
from cmr_desktop.domain.summary import active_uses, ending_within, judge_terms
from cmr_desktop.services.base import (
    BrandView,
    Context,
    brand_view,
    bulk_work,
    records_by_name,
    resolve,
)
from cmr_desktop.services.errors import InputError
from cmr_desktop.storage import BrandRecord, UnitOfWork
from cmr_desktop.sync.engine import differences


@dataclass(frozen=True, slots=True)
class DriftItem:
    """One field the vendor had loosened: its value there and the customer's."""

    key: FieldKey
    field: str  # the journal's name, e.g. "channel.email"
    vendor: FieldValue
    yours: FieldValue


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """What My Terms would change for one brand."""

    slug: str
    name: str
    before: PreferenceSet
    after: PreferenceSet
    lines: tuple[str, ...]  # "field: old -> new"


def _text(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _vendor_holds(vendor: PreferenceSet, decisions: PreferenceSet, today: dt.date) -> bool:
    """Whether the vendor already holds every decided field (expired allows as deny)."""
    wanted = decisions.with_expired_revoked(today).fields()
    return all(vendor.get(key) == value for key, value in wanted.items())


def journal_terms(
    uow: UnitOfWork, slug: str, before: PreferenceSet, after: PreferenceSet, now: dt.datetime
) -> None:
    """Journal the decisions My Terms made on the customer's behalf (they applied them)."""
    a, b = before.fields(), after.fields()
    fields = [
        {"field": journal_name(k), "value": _text(v)}
        for k, v in sorted(b.items(), key=lambda kv: tuple(map(str, kv[0])))
        if a.get(k) != v
    ]
    if fields:
        uow.journal.append(at=now, brand=slug, kind="terms", detail={"fields": fields})


def _breaks(terms: MyTerms, record: BrandRecord, today: dt.date) -> list[Violation]:
    vendor = record.vendor
    breaks, _kept = judge_terms(
        terms,
        name=record.name,
        connector=record.connector,
        decisions=PreferenceSet.from_dict(record.preferences),
        vendor=PreferenceSet.from_dict(vendor) if vendor is not None else None,
        today=today,
        offered=record.offered_json,
    )
    return list(breaks)


def _breaking(uow: UnitOfWork, terms: MyTerms, today: dt.date) -> set[str]:
    """The ids of the brands that break My Terms (as the "Breaks My Terms" count)."""
    return {r.slug for r in uow.brands.records(order="slug") if _breaks(terms, r, today)}


def _drift_items(uow: UnitOfWork, brand: Brand) -> list[DriftItem]:
    """What the vendor had loosened at the last sync (as :meth:`PreferenceService.drift`)."""
    if uow.sync.state(brand.slug).status != "drift":
        return []
    last = next((e for e in reversed(uow.journal.entries(brand.slug)) if e.kind == "drift"), None)
    if last is None:
        return []
    names = {str(f.get("field")) for f in last.detail.get("fields", [])}
    vendor = PreferenceSet.from_dict(last.detail.get("vendor_state") or {})
    yours = brand.preferences
    keys = sorted(
        {k for k in (*vendor.fields(), *yours.fields()) if journal_name(k) in names}, key=str
    )
    return [DriftItem(k, journal_name(k), vendor.get(k), yours.get(k)) for k in keys]


class PreferenceService:
    """What each brand may do (the customer's decisions), and My Terms over all of them."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # --- decisions ------------------------------------------------------------------------

    def update_preferences(
        self, ref: str, edit: Callable[[PreferenceSet], PreferenceSet]
    ) -> BrandView:
        """Apply ``edit`` (a function PreferenceSet -> PreferenceSet) and mark the brand pending.

        The edit and the outbox marker are written in one transaction.
        """
        with self._ctx.store.write() as uow:
            brand = resolve(uow, ref)
            try:
                prefs: PreferenceSet = edit(brand.preferences)
            except DomainError as exc:
                raise InputError(str(exc)) from None
            updated = uow.brands.update(brand.with_preferences(prefs), now=self._ctx.now())
            return brand_view(uow, updated)

    def set_preferences_many(
        self,
        values: Mapping[str, PreferenceSet],
        expected: Mapping[str, PreferenceSet] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Store whole preference sets for several brands (by id) in one transaction; each
        changed brand is marked pending. Used to apply, and to undo, My Terms in one step.

        A brand whose decisions are, after the change, exactly what its vendor last
        reported for every decided field (an undo that put them back) is not left pending:
        there is nothing to send.

        Args:
            expected: what each brand held when the change was shown to the customer; a
                brand that holds something else by now (edited meanwhile, or a sync took
                over a value) is left alone rather than overwritten.

        Returns:
            (changed, skipped) brand ids.
        """
        changed, skipped = [], []
        with self._ctx.store.write() as uow:
            now = self._ctx.now()
            for slug, prefs in values.items():
                brand = uow.brands.find(slug)
                if brand is None or brand.slug != slug:
                    skipped.append(slug)  # removed meanwhile
                    continue
                if (
                    expected is not None
                    and slug in expected
                    and brand.preferences != expected[slug]
                ):
                    skipped.append(slug)
                    continue
                if brand.preferences != prefs:
                    uow.brands.update(brand.with_preferences(prefs), now=now)
                    changed.append(brand.slug)
                    vendor = uow.brands.vendor_state(slug)
                    if vendor is not None and _vendor_holds(vendor, prefs, self._ctx.today()):
                        uow.brands.clear_pending(slug)
        return changed, skipped

    # --- drift ----------------------------------------------------------------------------

    def drift(self, ref: str) -> list[DriftItem]:
        """What the vendor had loosened at the last sync, field by field (empty when the
        brand is not in drift). The customer's value was sent again at that sync."""
        with self._ctx.store.read() as uow:
            return _drift_items(uow, resolve(uow, ref))

    def accept_theirs(
        self,
        ref: str,
        keys: Sequence[FieldKey],
        values: Mapping[FieldKey, FieldValue] | None = None,
    ) -> BrandView:
        """After drift, the customer takes the vendor's values of ``keys`` as their own
        decisions, by name (the vendor's values as the last drift recorded them). Journaled
        as ``accepted_theirs`` in the same transaction as the edit; the brand is pending
        until the next sync sends it. When every drifted field is decided, the drift status
        is cleared.

        Args:
            values: the vendor's values to take (a redo after an undo, when the drift was
                decided already); default: as the last drift recorded them.

        Raises:
            InputError: a key is not one the vendor had changed.
        """
        with self._ctx.store.write() as uow:
            brand = resolve(uow, ref)
            items = {item.key: item for item in _drift_items(uow, brand)}
            if values is not None:
                items = {
                    k: DriftItem(k, journal_name(k), v, brand.preferences.get(k))
                    for k, v in values.items()
                }
            unknown = [journal_name(k) for k in keys if k not in items]
            if unknown:
                raise InputError(
                    f"{brand.name}: the vendor had not changed {', '.join(unknown)}; "
                    "nothing to accept"
                )
            prefs = brand.preferences
            fields = []
            for key in keys:
                item = items[key]
                prefs = prefs.replace_field(key, item.vendor)
                fields.append(
                    {
                        "field": item.field,
                        "vendor": format_value(item.vendor),
                        "yours": format_value(item.yours),
                    }
                )
            now = self._ctx.now()
            updated = uow.brands.update(brand.with_preferences(prefs), now=now)
            if set(items) <= set(keys) and uow.sync.state(brand.slug).status == "drift":
                uow.sync.set_status(brand.slug, "ok", "")
            uow.journal.append(
                at=now, brand=brand.slug, kind="accepted_theirs", detail={"fields": fields}
            )
            return brand_view(uow, updated)

    def keep_own_after_drift(self, ref: str) -> None:
        """The customer keeps their own values after drift: clear the drift status (their
        values were already re-asserted) and journal the decision."""
        with self._ctx.store.write() as uow:
            brand = resolve(uow, ref)
            if uow.sync.state(brand.slug).status != "drift":
                return
            uow.sync.set_status(brand.slug, "ok", "")
            uow.journal.append(
                at=self._ctx.now(), brand=brand.slug, kind="kept", detail={"after": "drift"}
            )

    def expiring_grants(self, days: int = 7) -> list[tuple[str, str, str, dt.date]]:
        """Permissions that end within ``days`` (today included): (slug, brand name, "data
        for purpose" in words, last day), soonest first. Reads the fast record read-out;
        an ended permission is a refusal and never listed (domain.summary)."""
        today = self._ctx.today()
        out = []
        for r in records_by_name(self._ctx):
            for use in ending_within(active_uses(r.preferences, today), today, days):
                assert use.expires is not None
                out.append((r.slug, r.name, use.words, use.expires))
        return sorted(out, key=lambda e: (e[3], e[1].casefold()))

    # --- My Terms -------------------------------------------------------------------------

    def policy(self) -> MyTerms:
        with self._ctx.store.read() as uow:
            return uow.settings.policy()

    def set_policy(self, terms: MyTerms) -> None:
        with self._ctx.store.write() as uow:
            uow.settings.set_policy(terms)

    def check_policy(self, refs: Sequence[str] = ()) -> dict[str, list[Violation]]:
        """Violations of My Terms per brand id (only brands that break them). The same
        judgement as the counts (:func:`domain.summary.judge_terms`): an undecided field
        breaks a rule only where the brand can do what it forbids."""
        with self._ctx.store.read() as uow:
            terms = uow.settings.policy()
            if refs:
                slugs = [resolve(uow, r).slug for r in refs]
                records = [r for slug in slugs for r in uow.brands.records(slug=slug)]
            else:
                records = uow.brands.records(order="slug")
        today = self._ctx.today()
        out = {}
        for r in records:
            found = _breaks(terms, r, today)
            if found:
                out[r.slug] = found
        return out

    def policy_report(self) -> list[tuple[str, str, list[Violation]]]:
        """(slug, name, violations) of every brand that breaks My Terms, by name (the same
        brands the "Breaks My Terms" count holds)."""
        with bulk_work(), self._ctx.store.read() as uow:
            terms = uow.settings.policy()
            if not terms.rules:
                return []
            records = uow.brands.records(order="name")
        today = self._ctx.today()
        found = [(r.slug, r.name, _breaks(terms, r, today)) for r in records]
        return [f for f in found if f[2]]

    def apply_policy(self, refs: Sequence[str] = ()) -> list[str]:
        """Change brands so they keep My Terms; returns the ids of the brands changed. With
        no ``refs``, the brands that break My Terms (as :meth:`preview_policy` lists them,
        and the window's "Apply to all" applies); brands named in ``refs`` whenever applying
        changes them (the customer asked for them)."""
        changed = []
        with self._ctx.store.write() as uow:
            terms = uow.settings.policy()
            today, now = self._ctx.today(), self._ctx.now()
            if refs:
                brands = [resolve(uow, r) for r in refs]
            else:
                breaking = _breaking(uow, terms, today)
                brands = [b for b in uow.brands.all() if b.slug in breaking]
            for b in brands:
                prefs = terms.apply(b.preferences, today)
                if prefs != b.preferences:
                    uow.brands.update(b.with_preferences(prefs), now=now)
                    journal_terms(uow, b.slug, b.preferences, prefs, now)
                    changed.append(b.slug)
        return changed

    def preview_policy(self, refs: Sequence[str] = ()) -> list[PolicyChange]:
        """What applying My Terms would change, brand by brand (nothing is written). For
        every brand (no ``refs``), only the brands that break My Terms are listed; brands
        named in ``refs`` are listed whenever applying would change them (the customer
        asked for them). The change is the customer's decisions, as :meth:`apply_policy`."""
        with self._ctx.store.read() as uow:
            terms = uow.settings.policy()
            if refs:
                brands = [resolve(uow, r) for r in refs]
                breaking = {b.slug for b in brands}
            else:
                brands = uow.brands.all()
                breaking = _breaking(uow, terms, self._ctx.today())
        today = self._ctx.today()
        out = []
        for b in brands:
            if b.slug not in breaking:
                continue
            after = terms.apply(b.preferences, today)
            if after != b.preferences:
                lines = tuple(differences(b.preferences, after))
                out.append(PolicyChange(b.slug, b.name, b.preferences, after, lines))
        return out
