"""Consent receipts in the Kantara Initiative Consent Receipt v1.1 JSON shape.

One receipt per state a vendor confirmed (the journal's ``answer`` entries), plus one for
the state the customer has recorded when no vendor confirmed it yet (brands handled by
hand, pending changes). A receipt lists what the brand *may* do with the customer's data:
the data uses allowed, grouped by purpose, with their end date. Refusals are not consents
and are left out; the journal keeps them.

``resources/schemas/consent-receipt-v1.1.schema.json`` describes what is written here
(the fields of the specification that this app fills in); tests validate against it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.preferences import PreferenceSet
from cmr_desktop.domain.vocabulary import DataCategory, Decision, Purpose

VERSION = "KI-CR-v1.1.0"
#: Special categories of personal data (GDPR Art. 9) in this app's vocabulary.
SENSITIVE = frozenset({DataCategory.HEALTH})
_NAMESPACE = uuid.UUID("5f0c7e0e-93c1-4bb5-9d7e-6c0f1d6b1a11")  # this app's receipts


def _purposes(prefs: PreferenceSet, today: dt.date) -> list[dict[str, Any]]:
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
        out.append(
            {
                "purpose": purpose.label,
                "purposeCategory": [purpose.value],
                "consentType": "EXPLICIT",
                "piiCategory": [c.label for c, _ in uses],
                "primaryPurpose": purpose is Purpose.SERVICE,
                "termination": termination,
                "thirdPartyDisclosure": purpose in (Purpose.THIRD_PARTY_SHARING, Purpose.SALE),
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
) -> dict[str, Any]:
    """One receipt: what ``brand`` may do under ``prefs``, as of ``at``.

    Args:
        method: how the state was collected (``collectionMethod``).
        key: what makes this receipt unique (its id is derived from it, so exporting twice
            gives the same ids).
    """
    today = at.date()
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
        "services": [{"service": brand.name, "purposes": _purposes(prefs, today)}],
        "sensitive": bool(allowed & SENSITIVE),
        "spiCat": sorted(c.label for c in allowed & SENSITIVE),
    }


def brand_receipts(
    brand: Brand, confirmed: Sequence[tuple[dt.datetime, str, PreferenceSet]], *, pending: bool
) -> list[dict[str, Any]]:
    """Receipts of one brand, oldest first.

    Args:
        confirmed: (time, journal hash, state the vendor confirmed) for each confirmation.
        pending: the customer's recorded state differs from the last confirmed one.
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
            )
        )
    return out
