"""Consent receipts (Kantara v1.1 shape) from the journal, through services and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema

from cmr_desktop.domain import DataCategory, Decision, Grant, Purpose
from cmr_desktop.paths import resources_dir
from cmr_desktop.services import Services
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from tests.reads import consent_receipts

SCHEMA = json.loads(
    (resources_dir() / "schemas" / "consent-receipt-v1.1.schema.json").read_text("utf-8")
)


def _valid(receipts: list[dict[str, Any]]) -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    for r in receipts:
        errors = [e.message for e in validator.iter_errors(r)]
        assert errors == [], errors


def test_one_receipt_per_confirmed_state(services: Services) -> None:
    with VendorSimulator(default_vendors(1), seed=3) as sim:
        vendor = sim.vendor_ids[0]
        sim.add_subject(vendor, "me")
        services.brands.add_brand(
            "Acme",
            account_id="me@mail.example",
            privacy_contact="privacy@acme.example",
            website="https://acme.example",
            connector="openpref",
            connector_config={"base_url": sim.base_url(vendor), "subject": "me"},
            secrets={"token": sim.token(vendor)},
        )
        until = dt.date(2027, 6, 30)
        services.preferences.update_preferences(
            "acme",
            lambda p: p.with_grant(
                DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW)
            ).with_grant(DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.ALLOW, until)),
        )
        recorded = consent_receipts(services, ["acme"])
        assert len(recorded) == 1  # recorded, not confirmed yet
        mine = {p["purpose"]: p for p in recorded[0]["services"][0]["purposes"]}
        assert mine["Marketing"]["termination"].startswith("ends on 2027-06-30")
        assert recorded[0]["collectionMethod"].startswith("recorded by the customer")
        services.sync.run(jobs=2)
        first = consent_receipts(services, ["acme"])
        services.preferences.update_preferences(
            "acme",
            lambda p: p.with_grant(DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.DENY)),
        )
        services.sync.run(jobs=2)
    receipts = consent_receipts(services, ["acme"])
    _valid(receipts)
    assert len(first) == 1
    assert len(receipts) == 2  # two confirmed states, none pending
    assert receipts[0]["consentReceiptID"] == first[0]["consentReceiptID"]  # stable ids
    assert receipts[0]["collectionMethod"].startswith("confirmed by the brand's system")
    controller = receipts[0]["piiControllers"][0]
    assert controller["piiController"] == "Acme"
    assert controller["email"] == "privacy@acme.example"
    assert receipts[0]["piiPrincipalId"] == "me@mail.example"
    purposes = {p["purpose"]: p for p in receipts[0]["services"][0]["purposes"]}
    assert set(purposes) >= {"Service", "Marketing"}
    assert purposes["Service"]["primaryPurpose"] is True
    assert "Contact" in purposes["Marketing"]["piiCategory"]
    later = {p["purpose"]: p for p in receipts[1]["services"][0]["purposes"]}
    marketing = later.get("Marketing", {"piiCategory": []})
    assert "Contact" not in marketing["piiCategory"]  # refused before the second sync
    assert receipts[1]["consentTimestamp"] >= receipts[0]["consentTimestamp"]


def test_cli_exports_receipts(cmr: Any, tmp_path: Path) -> None:
    assert cmr("brand", "add", "Corner Shop", "--category", "food").code == 0
    assert cmr("prefs", "set", "corner-shop", "--share", "health:research=allow").code == 0
    out = tmp_path / "receipts.json"
    res = cmr("export", "--format", "receipts", "--brand", "corner-shop", "-o", str(out))
    assert res.code == 0, res
    assert "Exported 1 receipt to" in res.err
    receipts = json.loads(out.read_text("utf-8"))
    _valid(receipts)
    assert receipts[0]["sensitive"] is True
    assert receipts[0]["spiCat"] == ["Health"]
    wrong = cmr("export", "--format", "csv", "--brand", "corner-shop")
    assert wrong.code == 2
    assert "--brand goes with --format receipts" in wrong.err


def test_receipts_hold_only_the_customers_decisions_never_vendor_defaults(
    services: Services,
) -> None:
    with VendorSimulator(default_vendors(1), seed=3) as sim:
        vendor = sim.vendor_ids[0]
        sim.add_subject(vendor, "me")  # the vendor's defaults: every data use allowed
        services.brands.add_brand(
            "Acme",
            connector="openpref",
            connector_config={"base_url": sim.base_url(vendor), "subject": "me"},
            secrets={"token": sim.token(vendor)},
        )
        services.preferences.update_preferences(
            "acme",
            lambda p: p.with_grant(DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW)),
        )
        assert services.sync.run(jobs=2).ok
        assert len(services.brands.get_brand("acme").vendor.grants) > 1  # type: ignore[union-attr]
    receipts = consent_receipts(services, ["acme"])
    _valid(receipts)
    purposes = [p for r in receipts for p in r["services"][0]["purposes"]]
    assert [(p["purpose"], p["piiCategory"]) for p in purposes] == [("Service", ["Contact"])]
    assert all(p["consentType"] == "EXPLICIT" and p["decidedBy"] == "customer" for p in purposes)


def test_a_brand_with_nothing_consented_gets_no_receipt_and_the_export_says_so(
    cmr: Any, tmp_path: Path
) -> None:
    assert cmr("brand", "add", "Corner Shop").code == 0
    assert cmr("prefs", "set", "corner-shop", "--share", "contact:marketing=deny").code == 0
    out = tmp_path / "receipts.json"
    res = cmr("export", "--format", "receipts", "-o", str(out))
    assert res.code == 0, res
    assert json.loads(out.read_text("utf-8")) == []  # no receipt with an empty purposes list
    assert "No receipt for 1 brand with nothing you consented to: Corner Shop" in res.err


def test_a_receipt_says_which_decisions_came_from_my_terms(services: Services) -> None:
    from cmr_desktop.domain.policy import GrantMaxMonths, MyTerms

    services.brands.add_brand("Acme")
    services.preferences.update_preferences(
        "acme",
        lambda p: p.with_grant(DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.ALLOW)),
    )
    services.preferences.set_policy(MyTerms((GrantMaxMonths(12),)))
    assert services.preferences.apply_policy() == ["acme"]
    terms = [e for e in services.journal.entries("acme") if e.kind == "terms"]
    assert [f["field"] for f in terms[-1].detail["fields"]] == ["grant.contact.marketing"]
    (receipt,) = consent_receipts(services, ["acme"])
    _valid([receipt])
    (purpose,) = receipt["services"][0]["purposes"]
    assert purpose["decidedBy"] == "customer's My Terms"
    assert "set by the customer's My Terms" in purpose["termination"]
