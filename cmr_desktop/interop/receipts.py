"""Consent receipts in the Kantara Initiative Consent Receipt v1.1 JSON shape.

A receipt holds only what the customer decided (or their applied My Terms decided for
them): a vendor's defaults, or anything else the vendor holds that the customer never
decided, are never consent. One receipt per decided state a vendor confirmed (the journal's
``answer`` entries carry the decisions that were sent, ``decided``), plus one for the
decisions recorded but not confirmed yet (brands handled by hand, pending changes). A
receipt lists the data uses the customer *allowed*, grouped by purpose, with their end date.
Refusals are not consents and are left out (the journal keeps them); a state with nothing
allowed gets no receipt at all (the specification requires at least one purpose).

``resources/schemas/consent-receipt-v1.1.schema.json`` describes what is written here
(the fields of the specification that this app fills in); tests validate against it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.preferences import GrantKey, PreferenceSet
from cmr_desktop.domain.vocabulary import DataCategory, Decision, Purpose

VERSION = "KI-CR-v1.1.0"
#: Special categories of personal data (GDPR Art. 9) in this app's vocabulary.
SENSITIVE = frozenset({DataCategory.HEALTH})
_NAMESPACE = uuid.UUID("5f0c7e0e-93c1-4bb5-9d7e-6c0f1d6b1a11")  # this app's receipts


def _purposes(
    prefs: PreferenceSet, today: dt.date, by_terms: Collection[GrantKey] = ()
) -> list[dict[str, Any]]:
    allowed: dict[Purpose, list[tuple[DataCategory, dt.date | None]]] = {}
    for (category, purpose), grant in prefs.grants.items():
        if grant.effective(today) is Decision.ALLOW:
            allowed.setdefault(purpose, []).append((category, grant.expires))
    out = []
    for purpose in sorted(allowed, key=lambda p: list(Purpose).index(p)):
        uses = sorted(allowed[purpose], key=lambda u: list(DataCategory).index(u[0]))
        ends = [e for _, e in uses]
        if any(e is None for e in ends):  # at least one use has no end date
            termination = "until the customer withdraws it"
        else:
            last = max(e for e in ends if e is not None)
            termination = f"ends on {last.isoformat()} at the latest, or when withdrawn"
        terms = [c for c, _ in uses if (c, purpose) in by_terms]
        if terms:
            termination += " (end date set by the customer's My Terms)"
        out.append(
            {
                "purpose": purpose.label,
                "purposeCategory": [purpose.value],
                "consentType": "EXPLICIT",
                "piiCategory": [c.label for c, _ in uses],
                "primaryPurpose": purpose is Purpose.SERVICE,
                "termination": termination,
                "thirdPartyDisclosure": purpose in (Purpose.THIRD_PARTY_SHARING, Purpose.SALE),
                # Who decided: the customer, or their My Terms applied by them.
                "decidedBy": "customer's My Terms" if terms else "customer",
            }
        )
    return out


def receipt(
    brand: Brand,
    prefs: PreferenceSet,
    at: dt.datetime,
    *,
    method: str,
    key: str,
    jurisdiction: str = "EU",
    by_terms: Collection[GrantKey] = (),
) -> dict[str, Any] | None:
    """One receipt: what ``brand`` may do under the customer's decisions ``prefs``, as of
    ``at``; None when they allow nothing (no consent, no receipt).

    Args:
        method: how the state was collected (``collectionMethod``).
        key: what makes this receipt unique (its id is derived from it, so exporting twice
            gives the same ids).
        by_terms: data uses whose decision came from the customer's applied My Terms.
    """
    today = at.date()
    purposes = _purposes(prefs, today, by_terms)
    if not purposes:
        return None
    allowed = {c for (c, _), g in prefs.grants.items() if g.effective(today) is Decision.ALLOW}
    contact = brand.privacy_contact
    return {
        "version": VERSION,
        "jurisdiction": jurisdiction,
        "consentTimestamp": int(at.timestamp()),
        "collectionMethod": method,
        "consentReceiptID": str(uuid.uuid5(_NAMESPACE, f"{brand.slug}:{key}")),
        "language": "en",
        "piiPrincipalId": brand.account_id or "(the customer; no account id recorded)",
        "piiControllers": [
            {
                "piiController": brand.name,
                "contact": contact or brand.name,
                "address": {},
                "email": contact if "@" in contact else "",
                "phone": "",
                "piiControllerUrl": brand.website,
            }
        ],
        "policyUrl": brand.website,
        "services": [{"service": brand.name, "purposes": purposes}],
        "sensitive": bool(allowed & SENSITIVE),
        "spiCat": sorted(c.label for c in allowed & SENSITIVE),
    }


def brand_receipts(
    brand: Brand,
    confirmed: Sequence[tuple[dt.datetime, str, PreferenceSet]],
    *,
    pending: bool,
    by_terms: Collection[GrantKey] = (),
) -> list[dict[str, Any]]:
    """Receipts of one brand, oldest first (empty when the customer allowed nothing).

    Args:
        confirmed: (time, journal hash, the decisions the vendor confirmed holding) for
            each confirmation.
        pending: the customer's decisions differ from the last confirmed ones.
        by_terms: data uses whose current decision came from the customer's My Terms.
    """
    out = [
        receipt(
            brand,
            prefs,
            at,
            method="confirmed by the brand's system when CMR Desktop synced the customer's choices",
            key=entry_hash,
        )
        for at, entry_hash, prefs in confirmed
    ]
    if not confirmed or pending:
        at = brand.updated_at or dt.datetime.now(dt.UTC)
        out.append(
            receipt(
                brand,
                brand.preferences,
                at,
                method="recorded by the customer in CMR Desktop; not confirmed by the brand",
                key=f"recorded:{at.isoformat()}",
                by_terms=by_terms,
            )
        )
    return [r for r in out if r is not None]


def confirmed_decisions(decided: PreferenceSet, held: PreferenceSet) -> PreferenceSet:
    """The customer's decided data uses that the vendor's answer holds as allowed: what a
    confirmed receipt may list (nothing the customer did not decide, nothing not held)."""
    grants = {
        key: grant
        for key, grant in decided.grants.items()
        if grant.decision is Decision.ALLOW
        and key in held.grants
        and held.grants[key].decision is Decision.ALLOW
    }
    return PreferenceSet(grants=grants)
