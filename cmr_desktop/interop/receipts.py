"""Consent receipts in the Kantara Initiative Consent Receipt v1.1 JSON shape.

A receipt holds only what the customer decided (or their applied My Terms decided for
them): a vendor's defaults, or anything else the vendor holds that the customer never
decided, are never consent. One receipt per decided state a vendor confirmed (the journal's
``answer`` entries carry the decisions that were sent, ``decided``), plus one for the
decisions recorded but not confirmed yet (brands handled by hand, pending changes). A
receipt lists the data uses the customer *allowed*, grouped by purpose, with their end date.
Refusals are not consents and are left out (the journal keeps them); a state with nothing
allowed gets no receipt at all (the specification requires at least one purpose).

Channel actions (``cmrHistory``, an extension field): every receipt of a brand also carries
that brand's unsubscribe actions from the journal (entries of kind ``unsubscribe``), oldest
first: the method (``one-click``: the RFC 8058 POST; ``mailto``: the e-mail sent from the
customer's own account; ``web``: the brand's page), when, the outcome as it happened
(``done``; ``failed``, with the reason; ``done by hand, as confirmed by the customer`` for a
page the customer says they used: the app saw nothing; ``not recorded`` for an entry from
before the journal said), the target's domain or e-mail
address only (never the link's path or query, which can carry a token; any address in the
result is cut to its host the same way), and the journal entry's hash as evidence.

Withdrawals: a brand the customer allowed no data use has no receipt (a receipt needs a
purpose, and an unsubscribe is not a consent to anything). When such a brand has channel
actions, the export gets a *withdrawal record* for it instead (``withdrawal_record``):
``{"cmrRecord": "withdrawal", ...}`` with the brand, a statement that it is not a consent
receipt, and the same ``cmrHistory``. It says what the customer asked to stop, and whether
each request was done or failed; it never calls anything consent and claims nothing about
the brand's state. Withdrawal records follow the receipts in the exported array; the
``cmrRecord`` field tells them apart (receipts have none), so a reader that wants receipts
only skips objects that have it. This keeps the export an array of receipts for every
existing reader, rather than a new envelope object, and keeps a withdrawal out of a shape
that would call it consent.

``resources/schemas/consent-receipt-v1.1.schema.json`` describes what is written here
(the fields of the specification that this app fills in, ``cmrHistory`` and the withdrawal
record); tests validate against it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from cmr_desktop.domain.brand import Brand
from cmr_desktop.domain.preferences import GrantKey, PreferenceSet
from cmr_desktop.domain.vocabulary import DataCategory, Decision, Purpose

VERSION = "KI-CR-v1.1.0"
#: Special categories of personal data (GDPR Art. 9) in this app's vocabulary.
SENSITIVE = frozenset({DataCategory.HEALTH})
_NAMESPACE = uuid.UUID("5f0c7e0e-93c1-4bb5-9d7e-6c0f1d6b1a11")  # this app's receipts


#: What each unsubscribe method is, in the record's words.
_METHODS = {
    "one-click": "one-click unsubscribe (RFC 8058 POST to the address in the brand's mail)",
    "mailto": "unsubscribe e-mail sent from the customer's own mail account",
    "web": "the brand's unsubscribe page, used by the customer",
}
DONE, FAILED, BY_HAND = "done", "failed", "done by hand, as confirmed by the customer"
#: An older entry that did not record whether it reached the sender: not claimed either way.
UNKNOWN = "not recorded"
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s,;]+")


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _target(method: str, target: str) -> str:
    """The target without secrets: a link's host; a mailto's address(es), no query."""
    target = target.strip()
    if method == "mailto" or target.lower().startswith("mailto:"):
        return target.split(":", 1)[-1].split("?", 1)[0].strip()
    return _host(target)


def _scrubbed(text: str) -> str:
    """``text`` with every address in it cut to its host (a redirect's path may hold a token)."""
    return _URL.sub(lambda m: _host(m.group(0)) or "(an address)", text)


def channel_action(at: dt.datetime, entry_hash: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """One ``cmrHistory`` item from an ``unsubscribe`` journal entry (time ``at``, hash
    ``entry_hash``, ``detail`` as services.unsubscribe and the e-mail connector write it)."""
    method = str(detail.get("method") or "")
    when = at
    raw = detail.get("at")
    if isinstance(raw, str):
        try:
            when = dt.datetime.fromisoformat(raw)
        except ValueError:
            when = at
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone(dt.UTC)
    done = detail.get("done")
    if not isinstance(done, bool):
        outcome = UNKNOWN
    elif done:
        outcome = BY_HAND if method == "web" else DONE
    else:
        outcome = FAILED
    return {
        "action": "unsubscribe",
        "channel": "email",
        "method": method or "unknown",
        "methodDescription": _METHODS.get(method, "unsubscribe (method not recorded)"),
        "outcome": outcome,
        "result": _scrubbed(str(detail.get("result") or "")),
        "at": when.isoformat().replace("+00:00", "Z"),
        "timestamp": int(when.timestamp()),
        "target": _target(method, str(detail.get("target") or "")),
        "evidence": {"journalEntryHash": entry_hash},
    }


def history(actions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``actions`` (``channel_action`` items) oldest first; ties keep the journal's order."""
    return sorted(actions, key=lambda a: int(a["timestamp"]))


def withdrawal_record(brand: Brand, actions: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """What the customer withdrew from ``brand`` (which has no receipt): its channel actions,
    never called consent; None without any."""
    if not actions:
        return None
    return {
        "cmrRecord": "withdrawal",
        "statement": (
            "Not a consent receipt: the customer allowed this brand no use of their data. "
            "These are the customer's requests to stop contact, each as it happened."
        ),
        "piiController": brand.name,
        "piiControllerUrl": brand.website,
        "piiPrincipalId": brand.account_id or "(the customer; no account id recorded)",
        "language": "en",
        "cmrHistory": history(actions),
    }


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
    actions: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Receipts of one brand, oldest first (empty when the customer allowed nothing).

    Args:
        confirmed: (time, journal hash, the decisions the vendor confirmed holding) for
            each confirmation.
        pending: the customer's decisions differ from the last confirmed ones.
        by_terms: data uses whose current decision came from the customer's My Terms.
        actions: the brand's channel actions (``channel_action`` items): every receipt
            carries them as ``cmrHistory``, oldest first.
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
    found = [r for r in out if r is not None]
    if actions:
        for r in found:
            r["cmrHistory"] = history(actions)
    return found


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
