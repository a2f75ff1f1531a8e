"""Services judge My Terms by what each brand can do, the same way everywhere: the counts,
`cmr policy check`, the My Terms report and the preview of applying them to every brand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cmr_desktop.domain import Channel, PreferenceSet
from cmr_desktop.domain.policy import MyTerms, NoChannel
from cmr_desktop.services import Services
from cmr_desktop.testing.simulator import VendorSimulator, default_vendors
from tests.conftest import open_services

# default_vendors(3): vendor-001 offers email and post (no SMS); vendor-003 offers SMS.
NO_SMS_VENDOR, SMS_VENDOR = "vendor-001", "vendor-003"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Services, VendorSimulator]]:
    specs = default_vendors(3)
    assert "sms" not in specs[0].channels
    assert "sms" in specs[2].channels
    svc = open_services(tmp_path / "home")
    with VendorSimulator(specs, seed=4) as sim:
        yield svc, sim
    svc.store.close()


def _add(svc: Services, sim: VendorSimulator, name: str, vendor: str, prefs: Any = None) -> str:
    subject = name.lower().replace(" ", "-")
    sim.add_subject(vendor, subject, prefs)
    return svc.brands.add_brand(
        name,
        connector="openpref",
        connector_config={"base_url": sim.base_url(vendor), "subject": subject},
        secrets={"token": sim.token(vendor)},
    ).slug


def test_after_the_first_sync_only_brands_that_can_text_break_no_sms(
    home: tuple[Services, VendorSimulator],
) -> None:
    svc, sim = home
    svc.preferences.set_policy(MyTerms.of([NoChannel(Channel.SMS)]))
    cannot = _add(svc, sim, "No Texts Ltd", NO_SMS_VENDOR)
    can = _add(svc, sim, "Texting Co", SMS_VENDOR)
    said_no = _add(svc, sim, "Quiet Co", SMS_VENDOR)
    svc.preferences.update_preferences(said_no, lambda p: p.with_channel(Channel.SMS, False))
    off = default_vendors(3)[2].default_preferences()
    off["channels"]["sms"] = {"enabled": False}
    theirs_off = _add(svc, sim, "Their Own Off", SMS_VENDOR, off)

    # Before the first sync nothing is known of what the vendors offer: "may".
    assert set(svc.preferences.check_policy()) == {cannot, can, theirs_off}

    svc.sync.run()
    assert set(svc.preferences.check_policy()) == {can}
    assert [slug for slug, _, _ in svc.preferences.policy_report()] == [can]
    assert [c.slug for c in svc.preferences.preview_policy()] == [
        can
    ]  # "Apply to all": only breaks
    # A brand the customer names is previewed (and applied) as they ask.
    assert [c.slug for c in svc.preferences.preview_policy([cannot])] == [cannot]
    summaries = {r.slug: s for r, s in svc.brands.brand_summaries()}
    assert [s.slug for s in summaries.values() if s.breaks_terms] == [can]
    assert [v.message for v in summaries[theirs_off].kept_by_vendor] == [
        "Their Own Off has SMS off (its own setting)."
    ]
    # The vendor's state never became a decision.
    records = {r.slug: r for r in svc.brands.brand_records()}
    for slug in (cannot, can, theirs_off):
        assert PreferenceSet.from_dict(records[slug].preferences) == PreferenceSet(), slug
    assert svc.preferences.check_policy([cannot]) == {}
    assert "Texting Co may still text you" in svc.preferences.check_policy([can])[can][0].message


def test_a_sync_stores_what_the_vendors_catalog_offers_beside_its_state(
    home: tuple[Services, VendorSimulator],
) -> None:
    """What a brand can do comes from its vendor's catalog, kept at each sync: not from what
    its state happened to list (absent there means "the vendor's default")."""
    svc, sim = home
    slug = _add(svc, sim, "No Texts Ltd", NO_SMS_VENDOR)
    (record,) = svc.brands.brand_records()
    assert record.offered_json is None  # never synced: unknown, so "may"
    svc.sync.run()
    (record,) = svc.brands.brand_records()
    spec = default_vendors(3)[0]
    catalog = requests.get(
        sim.base_url(NO_SMS_VENDOR) + "/catalog",
        headers={"Authorization": f"Bearer {sim.token(NO_SMS_VENDOR)}"},
        timeout=10,
    ).json()
    assert record.offered_json is not None
    stored = json.loads(record.offered_json)
    assert stored["channels"] == sorted(spec.channels) == sorted(catalog["channels"])
    assert stored["data_uses"] == sorted(
        [u["category"], u["purpose"]] for u in catalog["data_uses"]
    )
    assert slug not in svc.preferences.check_policy()
