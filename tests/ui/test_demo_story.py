"""The demo's first impression, through the real window offscreen: a few brands to fix, not
every brand. "Breaks My Terms" counts only brands that can do what My Terms forbid, before
and after the first sync (issue 10: it said "Needs attention 46 / Breaks My Terms 46")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt

from cmr_desktop.domain import PreferenceSet
from cmr_desktop.domain.vocabulary import Channel
from cmr_desktop.testing.simulator import SimulatorProcess, default_vendors
from cmr_desktop.ui.app import DEMO_STORY, DEMO_VENDORS, build_demo
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import open_services
from tests.ui.conftest import settle


def _sidebar(win: MainWindow) -> dict[str, int]:
    """The sidebar's numbers by filter ("all", "attention", "terms", "status:in_sync" ...)."""
    out = {}
    for i in range(win.sidebar.count()):
        item = win.sidebar.item(i)
        kind, value = item.data(Qt.ItemDataRole.UserRole)
        out[f"{kind}:{value}" if value else kind] = int(item.text().split()[-1])
    return out


def _listed_under(win: MainWindow, key: str) -> list[str]:
    """The brands the table shows when the sidebar's ``key`` filter is chosen (afresh: a
    row that stops matching the filter shown stays until the filter is chosen again)."""
    win.sidebar.setCurrentRow(0)
    for i in range(win.sidebar.count()):
        if win.sidebar.item(i).data(Qt.ItemDataRole.UserRole) == (key, None):
            win.sidebar.setCurrentRow(i)
            break
    else:
        return []
    return [win.model.row_at(r).name for r in range(win.model.rowCount())]


def test_the_demo_starts_with_a_few_brands_to_fix_and_no_sms_break_where_no_sms_is_offered(
    qtbot: Any, tmp_path: Path
) -> None:
    svc = open_services(tmp_path / "home")
    no_sms = {
        i for i, v in enumerate(default_vendors(DEMO_VENDORS, seed=7)) if "sms" not in v.channels
    }
    assert no_sms, "the demo has a vendor without SMS"
    with SimulatorProcess(DEMO_VENDORS, seed=7) as sim:
        build_demo(svc, sim)
        vendor_of = {
            r.name: r.connector_config["base_url"]
            for r in svc.brands.brand_records()
            if r.connector_config
        }
        no_sms_urls = {sim.base_url(sim.vendor_ids[i]) for i in no_sms}
        at_no_sms = {name for name, url in vendor_of.items() if url in no_sms_urls}
        settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
        win = MainWindow(svc, Runner(), settings)
        qtbot.addWidget(win)
        win.show()
        total = len(svc.brands.brand_records())
        qtbot.waitUntil(lambda: win.model.rowCount() == total, timeout=10_000)

        before = _sidebar(win)
        assert before["all"] == total == 46
        assert 1 <= before["terms"] <= 5, before
        assert before["attention"] <= 10, before
        # Before the first sync nothing is known of what the vendors offer: "may".
        assert "Tailspin Mobile" in _listed_under(win, "terms")

        win.sync_all.trigger()
        qtbot.waitUntil(lambda: not win.is_syncing(), timeout=60_000)
        report = {name: found for _, name, found in svc.preferences.policy_report()}
        # Every synced brand's row re-read (they arrive in batches after the sync's lines).
        qtbot.waitUntil(lambda: _sidebar(win).get("terms") == len(report), timeout=10_000)
        qtbot.waitUntil(lambda: "status:new" not in _sidebar(win), timeout=10_000)
        after = _sidebar(win)
        assert 1 <= after["terms"] <= 5, after
        assert after["terms"] < before["terms"]
        assert after["attention"] <= 10, after
        assert after["status:in_sync"] >= total - 4, after
        assert after["status:failed"] == 1, after
        assert after.get("ending", 0) >= 1, after

        breaking = _listed_under(win, "terms")
        assert "Litware News" in breaking  # allows SMS, its own decision
        assert "Proseware Foods" in breaking  # allows sale of data, its own decision
        assert "Tailspin Mobile" not in breaking  # its vendor offers neither SMS nor sale
        assert DEMO_STORY["Tailspin Mobile"][0] in no_sms
        # No brand at a vendor without SMS is said to break "no SMS anywhere".
        assert set(report) == set(breaking)
        for name in at_no_sms:
            assert all(v.rule != "no SMS anywhere" for v in report.get(name, [])), name
        # The vendor's state became no decision of the customer's.
        tailspin = next(r for r in svc.brands.brand_records() if r.name == "Tailspin Mobile")
        assert PreferenceSet.from_dict(tailspin.preferences) == PreferenceSet()
        assert tailspin.vendor is not None
        assert Channel.SMS not in PreferenceSet.from_dict(tailspin.vendor).channels
        settle(qtbot, win.runner)
    svc.store.close()
