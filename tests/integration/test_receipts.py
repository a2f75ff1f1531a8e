"""Consent receipts (Kantara v1.1 shape) from the journal, through services and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import trustme

from cmr_desktop.domain import DataCategory, Decision, Grant, Purpose
from cmr_desktop.domain.clock import FixedClock
from cmr_desktop.domain.vocabulary import Channel
from cmr_desktop.mail import netguard
from cmr_desktop.paths import resources_dir
from cmr_desktop.services import ConnectionFailed, Services
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from tests.integration.unsub_servers import loopback_resolver, make_ca, one_click_server
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


# --- the unsubscribe history (issue 12) -----------------------------------------------------


def _export(services: Services, refs: Sequence[str] = ()) -> str:
    out = io.StringIO()
    services.transfer.export_receipts(out, refs)
    return out.getvalue()


def _add_mail_brand(services: Services, name: str, **config: str) -> str:
    settings = {"sender_domain": "shop.example", "seen_at": "2026-02-20T09:00:00+00:00"}
    brand = services.brands.add_brand(
        name, connector="email", connector_config={**settings, **config}
    )
    services.preferences.update_preferences(
        brand.slug, lambda p: p.with_channel(Channel.EMAIL, False)
    )
    return brand.slug


def test_receipts_carry_the_brands_unsubscribes_as_they_happened_oldest_first(
    services: Services, clock: FixedClock, tmp_path: Path
) -> None:
    ca: tuple[trustme.CA, str] = make_ca(tmp_path)
    for server in one_click_server(*ca):
        with netguard.overrides_for_tests(resolver=loopback_resolver, ca_file=server.ca_file):
            slug = _add_mail_brand(
                services,
                "Shop",
                one_click_url=server.url("/u/abc?token=SECRET-TOKEN"),
                dkim_verified="yes",
                web_url="https://shop.example/prefs?key=SECRET-KEY",
            )
            services.preferences.update_preferences(
                slug,
                lambda p: p.with_grant(
                    DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW)
                ),
            )
            server.status = 500
            with pytest.raises(ConnectionFailed):
                services.unsubscribe.one_click(slug)
            clock.advance(dt.timedelta(hours=1))
            server.status = 200
            services.unsubscribe.one_click(slug)
            clock.advance(dt.timedelta(hours=1))
            services.unsubscribe.confirm_web_done(slug)

    text = _export(services, [slug])
    assert "SECRET" not in text  # a link's path and query never leave the journal
    receipts = json.loads(text)
    _valid(receipts)
    assert receipts  # the customer allowed a data use: a receipt, with the history
    journal = [e for e in services.journal.entries(slug) if e.kind == "unsubscribe"]
    for r in receipts:
        history = r["cmrHistory"]
        assert [(h["method"], h["outcome"]) for h in history] == [
            ("one-click", "failed"),
            ("one-click", "done"),
            ("web", "done by hand, as confirmed by the customer"),
        ]
        assert [h["evidence"]["journalEntryHash"] for h in history] == [e.hash for e in journal]
        assert [h["timestamp"] for h in history] == sorted(h["timestamp"] for h in history)
        assert history[0]["result"] == "HTTP 500 Internal Server Error: not confirmed"
        assert history[0]["target"] == history[1]["target"] != ""
        assert history[2]["target"] == "shop.example"
        assert history[0]["at"] == "2026-11-24T12:00:00Z"
    assert _export(services, [slug]) == text  # exporting twice gives the same output
    assert _export(services) == text  # and the same for every brand (here, one)


def test_a_brand_with_nothing_consented_gets_a_withdrawal_record_not_a_receipt(
    services: Services,
) -> None:
    slug = _add_mail_brand(services, "Paper", web_url="https://paper.example/prefs")
    services.unsubscribe.confirm_web_done(slug)

    text = _export(services)
    (record,) = json.loads(text)
    _valid([record])
    assert record["cmrRecord"] == "withdrawal"
    assert "consentReceiptID" not in record
    assert "services" not in record
    assert record["statement"].startswith("Not a consent receipt")
    assert record["piiController"] == "Paper"
    (action,) = record["cmrHistory"]
    assert action["outcome"] == "done by hand, as confirmed by the customer"
    assert action["target"] == "paper.example"
    assert services.transfer.brands_without_receipts() == ["Paper"]
    assert services.transfer.withdrawals() == [record]
    assert _export(services) == text


def test_cli_writes_a_withdrawal_record_and_says_it_is_not_a_receipt(
    cmr: Any, tmp_path: Path
) -> None:
    add = cmr(
        "brand", "add", "Paper", "--connector", "email",
        "--set", "sender_domain=paper.example", "--set", "web_url=https://paper.example/prefs",
    )  # fmt: skip
    assert add.code == 0, add
    assert cmr("unsubscribe", "paper", "--web-done").code == 0
    out = tmp_path / "receipts.json"
    res = cmr("export", "--format", "receipts", "-o", str(out))
    assert res.code == 0, res
    assert "Exported 0 receipts to" in res.err
    assert "Wrote 1 withdrawal record (not receipts" in res.err
    (record,) = json.loads(out.read_text("utf-8"))
    _valid([record])
    assert record["cmrRecord"] == "withdrawal"
    assert record["cmrHistory"][0]["outcome"] == "done by hand, as confirmed by the customer"
