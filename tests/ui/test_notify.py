"""Notices (ending permissions, drift, failures) and the optional periodic vendor check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cmr_desktop.domain import DataCategory, Decision, Grant, Purpose
from cmr_desktop.testing.simulator import VendorSimulator
from cmr_desktop.ui.main_window import MainWindow
from tests.conftest import NOW


def test_permissions_ending_within_seven_days_are_told_once(qtbot: Any, window: MainWindow) -> None:
    soon, later = NOW.date() + dt.timedelta(days=3), NOW.date() + dt.timedelta(days=40)
    window.services.preferences.update_preferences(
        "shop-004",
        lambda p: p.with_grant(
            DataCategory.LOCATION, Purpose.ADVERTISING, Grant(Decision.ALLOW, soon)
        ).with_grant(DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.ALLOW, later)),
    )
    notifier = window.notifier
    notifier.check_expiring()
    qtbot.waitUntil(lambda: len(notifier.history) == 1, timeout=5000)
    title, text = notifier.history[0]
    assert title == "1 permission ends within 7 days"
    assert text == f"Shop 004: location data for advertising, last day {soon:%Y-%m-%d}"
    assert "Shop 004" in window.statusBar().currentMessage()  # no tray offscreen
    notifier.check_expiring()
    qtbot.waitUntil(lambda: not window.runner.pending(), timeout=5000)  # the check is done
    assert len(notifier.history) == 1
    dialog = window.show_notices()
    assert "location data for advertising" in dialog.text.toPlainText()


def test_a_sync_with_failures_and_drift_is_told(
    qtbot: Any, window: MainWindow, sim: VendorSimulator
) -> None:
    window.start_sync()
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=20_000)
    assert window.notifier.history == []  # all in order: nothing to tell
    window.services.connections.set_secret("shop-005", "token", "wrong")
    sim.tamper(sim.vendor_ids[0], "s-0", {"channels": {"email": {"enabled": True}}})
    window.start_sync(verify=True)
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=20_000)
    titles = [t for t, _ in window.notifier.history]
    assert "1 brand had changed your choices" in titles
    assert "1 brand could not be synced" in titles
    texts = " ".join(text for _, text in window.notifier.history)
    assert "Shop 000" in texts
    assert "Shop 005" in texts


def test_the_periodic_check_is_off_by_default_and_kept_in_settings(
    qtbot: Any, window: MainWindow
) -> None:
    notifier = window.notifier
    assert notifier.verify_hours() == 0
    assert not notifier.verify_timer.isActive()
    menu = notifier.verify_menu(window)
    every_six = next(a for a in menu.actions() if a.text() == "Every 6 hours")
    every_six.trigger()
    assert notifier.verify_timer.isActive()
    assert notifier.verify_timer.interval() == 6 * 3_600_000
    assert window.settings.value("notify/verify_hours") in (6, "6")
    notifier.verify_timer.timeout.emit()  # the timer fires: every vendor is checked
    assert window.is_syncing()
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=20_000)
    notifier.set_verify_hours(0)
    assert not notifier.verify_timer.isActive()
