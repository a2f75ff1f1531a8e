"""The sync result panel: failures listed, drift accepted or kept, with undo."""

from __future__ import annotations

from typing import Any

from cmr_desktop.domain import Channel
from cmr_desktop.testing.simulator import VendorSimulator
from cmr_desktop.ui.main_window import MainWindow


def _sync(qtbot: Any, window: MainWindow, *, verify: bool = False) -> None:
    window.start_sync(verify=verify)
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=20_000)


def _tamper_email_on(sim: VendorSimulator, index: int) -> None:
    sim.tamper(sim.vendor_ids[index % 3], f"s-{index}", {"channels": {"email": {"enabled": True}}})


def _item(window: MainWindow, slug: str) -> Any:
    item = window.results._brand_item(slug)
    assert item is not None, f"{slug} is not listed"
    return item


def _email(window: MainWindow, slug: str) -> bool | None:
    value: bool | None = window.services.brands.get_brand(slug).brand.preferences.channels.get(
        Channel.EMAIL
    )
    return value


def test_drift_can_be_accepted_and_the_acceptance_undone(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    _sync(qtbot, window)
    assert not window.results_dock.isVisible()  # nothing to decide
    _tamper_email_on(sim, 0)
    _sync(qtbot, window, verify=True)
    assert window.results_dock.isVisible()
    qtbot.waitUntil(lambda: bool(window.results.undecided("shop-000")), timeout=5000)
    [drift] = window.results.undecided("shop-000")
    assert (drift.vendor, drift.yours) == (True, False)
    brand = _item(window, "shop-000")
    assert brand.child(0).text(1) == "allowed"  # the vendor's value, in words
    assert brand.child(0).text(2) == "refused"
    # The sync put the customer's value back at the vendor.
    assert (
        sim.state(sim.vendor_ids[0])["s-0"]["preferences"]["channels"]["email"]["enabled"] is False
    )
    window.results.tree.setCurrentItem(brand.child(0))
    assert window.results.accept_theirs.isEnabled()
    window.results.accept_theirs.click()
    qtbot.waitUntil(lambda: _email(window, "shop-000") is True, timeout=3000)
    assert window.services.brands.get_brand("shop-000").pending  # sent at the next sync
    assert not window.results.undecided("shop-000")
    assert not window.results.accept_theirs.isEnabled()
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: _email(window, "shop-000") is False, timeout=3000)


def test_keeping_your_own_value_clears_the_drift(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    _sync(qtbot, window)
    _tamper_email_on(sim, 1)
    _sync(qtbot, window, verify=True)
    qtbot.waitUntil(lambda: bool(window.results.undecided("shop-001")), timeout=5000)
    row = window.model.visible_row("shop-001")
    assert row is not None
    qtbot.waitUntil(lambda: window.model.row_at(row).status == "drift", timeout=5000)
    window.results.tree.setCurrentItem(_item(window, "shop-001"))
    window.results.keep_mine.click()
    qtbot.waitUntil(lambda: window.model.row_at(row).status == "in_sync", timeout=5000)
    assert _email(window, "shop-001") is False
    assert window.services.preferences.drift("shop-001") == []
    kinds = [e.kind for e in window.services.journal.entries("shop-001")]
    assert kinds[-1] == "kept"


def test_failures_are_listed_with_the_reason(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    window.services.connections.set_secret("shop-002", "token", "wrong-token")
    _sync(qtbot, window)
    assert window.results_dock.isVisible()
    item = _item(window, "shop-002")
    assert item.text(3).startswith("Failed:")
    assert "re-authentication" in item.text(3)
    assert not window.results.keep_mine.isEnabled()
    window.results.tree.setCurrentItem(item)
    window.results.tree.itemActivated.emit(item, 0)  # Enter / double-click: show the brand
    current = window.table.currentIndex()
    assert window.model.row_at(current.row()).slug == "shop-002"
