"""The demo, driven through the real window offscreen: after a first "Sync all", every
brand's record says only what the customer decided, undecided fields are shown as undecided
with the vendor's setting, and consent receipts hold only the customer's decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from cmr_desktop.domain import Decision, PreferenceSet
from cmr_desktop.testing.simulator import SimulatorProcess
from cmr_desktop.ui.app import DEMO_VENDORS, build_demo
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import open_services
from tests.reads import consent_receipts
from tests.ui.conftest import settle


def test_a_first_sync_of_the_demo_keeps_undecided_fields_undecided(
    qtbot: Any, tmp_path: Path
) -> None:
    svc = open_services(tmp_path / "home")
    with SimulatorProcess(DEMO_VENDORS, seed=7) as sim:
        build_demo(svc, sim)
        before = {
            r.slug: PreferenceSet.from_dict(r.preferences) for r in svc.brands.brand_records()
        }
        connected = sorted(r.slug for r in svc.brands.brand_records() if r.connector == "openpref")
        settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
        win = MainWindow(svc, Runner(), settings)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitUntil(lambda: win.model.rowCount() == len(before), timeout=10_000)
        win.sync_all.trigger()
        qtbot.waitUntil(lambda: not win.is_syncing(), timeout=60_000)

        after = {r.slug: r for r in svc.brands.brand_records()}
        for slug, decided in before.items():
            # Nothing the vendor holds became a decision (the demo's vendors only loosen).
            assert PreferenceSet.from_dict(after[slug].preferences) == decided, slug
        synced = [s for s in connected if after[s].vendor is not None]
        assert synced, "the sync reached the vendors"
        # A brand with a channel the customer left undecided (most demo brands have My
        # Terms applied, which decides every channel their vendor offers).
        slug = next(
            s
            for s in synced
            if any(
                k[0] == "channel"
                for k in before[s]
                .undecided_in(PreferenceSet.from_dict(after[s].vendor or {}))
                .fields()
            )
        )
        vendor = PreferenceSet.from_dict(after[slug].vendor or {})
        assert before[slug].undecided_in(vendor).fields(), "the vendor holds undecided fields"

        win.select_brand(slug)
        qtbot.waitUntil(
            lambda: (
                win.editor.slug == slug
                and any(
                    n.text().startswith("undecided — their setting:")
                    for n in win.editor.channel_notes.values()
                )
            ),
            timeout=10_000,
        )

        for receipt in consent_receipts(svc):
            brand = next(r for r in after.values() if r.name == receipt["services"][0]["service"])
            allowed = {
                (c.label, p.label)
                for (c, p), g in PreferenceSet.from_dict(brand.preferences).grants.items()
                if g.decision is Decision.ALLOW
            }
            for purpose in receipt["services"][0]["purposes"]:
                assert purpose["decidedBy"] in ("customer", "customer's My Terms")
                for category in purpose["piiCategory"]:
                    assert (category, purpose["purpose"]) in allowed, (brand.slug, purpose)
        settle(qtbot, win.runner)
    svc.store.close()
