"""The window tells the truth: undecided stays undecided (with the vendor's setting beside
it), every view counts the same brands, Cancel cancels, drift decisions show at once, and an
undone My Terms leaves nothing pending that the vendor already holds (issue 9)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from cmr_desktop.domain import Channel, DataCategory, Decision, Grant, Purpose
from cmr_desktop.domain.policy import MyTerms, NoChannel
from cmr_desktop.services import Services
from cmr_desktop.testing.simulator import Knobs, SimulatorProcess, VendorSimulator
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import NOW, open_services
from tests.reads import list_brands
from tests.ui.conftest import connect_brands

MARKETING = (DataCategory.CONTACT, Purpose.MARKETING)


def _labels(window: MainWindow) -> list[str]:
    return [window.sidebar.item(i).text().strip() for i in range(window.sidebar.count())]


def _sync(qtbot: Any, window: MainWindow, *, verify: bool = False) -> None:
    window.start_sync(verify=verify)
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=30_000)


def _row(window: MainWindow, slug: str) -> Any:
    index = window.model.visible_row(slug)
    assert index is not None
    return window.model.row_at(index)


def _vendor_opens_email_and_marketing(qtbot: Any, window: MainWindow, sim: VendorSimulator) -> None:
    """shop-000's vendor allows email and contact data for marketing; the customer has
    decided neither (email is made undecided again), then a sync records the vendor's state."""
    vendor = sim.vendor_ids[0]
    sim.add_subject(
        vendor,
        "s-0",
        {
            "channels": {"email": {"enabled": True}},
            "topics": {},
            "grants": [{"category": "contact", "purpose": "marketing", "decision": "allow"}],
            "quiet_hours": None,
        },
    )
    window.services.preferences.update_preferences(
        "shop-000", lambda p: p.with_channel(Channel.EMAIL, None)
    )
    _sync(qtbot, window)
    qtbot.waitUntil(lambda: _row(window, "shop-000").status == "in_sync", timeout=5000)


def test_an_undecided_field_says_so_with_the_vendors_setting_and_is_refused_in_one_click(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    _vendor_opens_email_and_marketing(qtbot, window, sim)
    window.select_brand("shop-000")
    editor = window.editor
    qtbot.waitUntil(
        lambda: (
            editor.slug == "shop-000"
            and editor.vendor is not None
            and MARKETING in editor.use_notes
        ),
        timeout=5000,
    )
    email = editor.channel_notes[Channel.EMAIL]
    assert email.text() == "undecided — their setting: allowed"
    assert editor.use_notes[MARKETING].text() == "undecided — their setting: allowed"
    # Still undecided: the vendor's value was shown, never written as a decision.
    prefs = window.services.brands.get_brand("shop-000").brand.preferences
    assert Channel.EMAIL not in prefs.channels
    assert MARKETING not in prefs.grants
    assert email.refuse.isVisibleTo(editor)
    email.refuse.click()
    editor.use_notes[MARKETING].refuse.click()

    def decided() -> tuple[Any, Any]:
        p = window.services.brands.get_brand("shop-000").brand.preferences
        return p.channels.get(Channel.EMAIL), p.grants.get(MARKETING)

    qtbot.waitUntil(lambda: decided() == (False, Grant(Decision.DENY)), timeout=5000)
    assert email.text() == ""  # decided: no vendor note any more
    assert not email.isVisibleTo(editor)


def test_the_sidebar_counts_vendors_that_allow_what_you_have_not_decided_where_my_terms_object(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    _vendor_opens_email_and_marketing(qtbot, window, sim)
    label = "Vendor allows, undecided  1"
    assert label not in _labels(window)  # no terms: nothing objects
    window.services.preferences.set_policy(
        MyTerms.of([NoChannel(Channel.EMAIL)])
    )  # the others said no
    window.reload()
    qtbot.waitUntil(lambda: label in _labels(window), timeout=5000)
    window.sidebar.setCurrentRow(_labels(window).index(label))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    assert window.model.row_at(0).slug == "shop-000"
    item = window.sidebar.currentItem()
    assert item.toolTip().startswith("Vendor allows what you haven't decided")
    # Deciding it (refusing) takes the brand off the list at once.
    window.services.preferences.update_preferences(
        "shop-000", lambda p: p.with_channel(Channel.EMAIL, False)
    )
    window._refresh_brand("shop-000")
    qtbot.waitUntil(
        lambda: not any(t.startswith("Vendor allows") for t in _labels(window)), timeout=5000
    )


def _attention(window: MainWindow) -> int:
    found = [t for t in _labels(window) if t.startswith("Needs attention")]
    return int(found[0].split()[-1])


def test_the_status_bar_and_sidebar_count_the_same_brands(qtbot: Any, window: MainWindow) -> None:
    svc = window.services
    svc.preferences.set_policy(MyTerms.of([NoChannel(Channel.SMS)]))
    window.reload()
    qtbot.waitUntil(lambda: _attention(window) == 13, timeout=5000)
    assert "Needs attention 13" in window.summary.text()
    assert "All in order" not in window.summary.text()
    # An edit changes both at once, without a reload.
    svc.preferences.update_preferences("shop-003", lambda p: p.with_channel(Channel.SMS, False))
    window._refresh_brand("shop-003")
    qtbot.waitUntil(lambda: _attention(window) == 12, timeout=5000)
    assert "Needs attention 12" in window.summary.text()
    assert "Breaks My Terms  12" in _labels(window)


def test_an_ended_permission_counts_nowhere(qtbot: Any, window: MainWindow) -> None:
    svc = window.services
    ended = NOW.date() - dt.timedelta(days=3)
    svc.preferences.update_preferences(
        "shop-002",
        lambda p: p.with_grant(
            DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW)
        ).with_grant(DataCategory.LOCATION, Purpose.ANALYTICS, Grant(Decision.ALLOW, ended)),
    )
    window._refresh_brand("shop-002")
    qtbot.waitUntil(lambda: _row(window, "shop-002").grants == 1, timeout=5000)
    data_map = window.show_map()
    qtbot.waitUntil(lambda: data_map.model.rowCount() == 1, timeout=5000)
    row = data_map.model.rows[0]
    assert sum(len(v) for v in row.uses.values()) == 1
    assert svc.preferences.expiring_grants(30) == []
    data_map.close()


def _window(qtbot: Any, tmp_path: Path, svc: Services, n: int) -> MainWindow:
    win = MainWindow(svc, Runner(), QSettings(str(tmp_path / "u.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == n, timeout=10_000)
    return win


_CANCELLED = re.compile(r"^Sync cancelled: (\d+) done, (\d+) left pending$")


def test_cancel_mid_run_stops_at_once_and_says_how_many_are_left(
    qtbot: Any, tmp_path: Path
) -> None:
    with SimulatorProcess(3, seed=2, knobs=Knobs(latency_ms=400)) as sim:
        svc = open_services(tmp_path / "slow")
        connect_brands(svc, sim, 48)
        win = _window(qtbot, tmp_path, svc, 48)
        win.start_sync()
        qtbot.waitUntil(lambda: len(win.last_sync) > 0, timeout=30_000)
        win.cancel_action.trigger()  # what Esc does
        qtbot.waitUntil(lambda: not win.is_syncing(), timeout=30_000)
        found = _CANCELLED.match(win.statusBar().currentMessage())
        assert found, win.statusBar().currentMessage()
        done, left = int(found[1]), int(found[2])
        assert done >= 1
        assert left >= 1
        assert done + left == 48
        win.runner.wait()
        assert sum(b.pending for b in list_brands(svc)) == left
        svc.store.close()


def test_a_cancel_before_the_sync_process_runs_is_not_lost(qtbot: Any, tmp_path: Path) -> None:
    with SimulatorProcess(3, seed=2, knobs=Knobs(latency_ms=50)) as sim:
        svc = open_services(tmp_path / "early")
        connect_brands(svc, sim, 12)
        win = _window(qtbot, tmp_path, svc, 12)
        win.start_sync()
        win.cancel_sync()  # the child has not even started yet
        qtbot.waitUntil(lambda: not win.is_syncing(), timeout=30_000)
        assert win.statusBar().currentMessage() == "Sync cancelled: 0 done, 12 left pending"
        win.runner.wait()
        assert all(b.pending for b in list_brands(svc))
        svc.store.close()


def test_accepting_theirs_is_journaled_and_the_counts_follow_at_once(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    _sync(qtbot, window)
    sim.tamper(sim.vendor_ids[0], "s-0", {"channels": {"email": {"enabled": True}}})
    _sync(qtbot, window, verify=True)
    qtbot.waitUntil(lambda: bool(window.results.undecided("shop-000")), timeout=5000)
    qtbot.waitUntil(lambda: _row(window, "shop-000").status == "drift", timeout=5000)
    assert "1 drift" in window.summary.text()
    brand = window.results._brand_item("shop-000")
    assert brand is not None
    window.results.tree.setCurrentItem(brand)
    window.results.accept_theirs.click()
    qtbot.waitUntil(lambda: _row(window, "shop-000").status == "pending", timeout=5000)
    assert "drift" not in window.summary.text()
    assert not any(t.startswith("Drift") for t in _labels(window))
    entry = window.services.journal.entries("shop-000")[-1]
    assert entry.kind == "accepted_theirs"
    assert entry.detail["fields"] == [{"field": "channel.email", "vendor": "on", "yours": "off"}]
    assert window.services.brands.get_brand("shop-000").brand.preferences.channels[Channel.EMAIL]
    window.undo_stack.undo()
    qtbot.waitUntil(
        lambda: (
            window.services.brands.get_brand("shop-000").brand.preferences.channels[Channel.EMAIL]
            is False
        ),
        timeout=5000,
    )


def test_undoing_my_terms_leaves_no_brand_pending_that_the_vendor_already_holds(
    qtbot: Any, window: MainWindow
) -> None:
    _sync(qtbot, window)
    qtbot.waitUntil(lambda: window.summary.text() == "Needs attention 1", timeout=5000)  # by hand
    svc = window.services
    svc.preferences.set_policy(MyTerms.of([NoChannel(Channel.SMS)]))
    terms = window.show_terms()
    changes = svc.preferences.preview_policy([f"shop-{i:03d}" for i in range(12)])
    assert len(changes) == 12
    terms.apply(changes)
    qtbot.waitUntil(lambda: sum(b.pending for b in list_brands(svc)) == 13, timeout=5000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: sum(b.pending for b in list_brands(svc)) == 1, timeout=5000)
    assert [b.brand.slug for b in list_brands(svc) if b.pending] == ["corner-shop"]
    qtbot.waitUntil(
        lambda: {_row(window, f"shop-{i:03d}").status for i in range(12)} == {"in_sync"},
        timeout=5000,
    )
    terms.close()
