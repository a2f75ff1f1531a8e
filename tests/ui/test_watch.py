"""The window follows what `cmr` in a terminal changes in the same home."""

from __future__ import annotations

from typing import Any

from cmr_desktop.domain import Channel
from cmr_desktop.services.changes import watch_changes
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.watch import watch_window
from tests.conftest import open_services


def _names(window: MainWindow) -> set[str]:
    return {window.model.row_at(i).name for i in range(window.model.rowCount())}


def test_a_brand_added_with_cmr_in_a_terminal_appears_in_the_open_window(
    qtbot: Any, window: MainWindow, cmr: Any
) -> None:
    watcher = watch_window(window)
    home = window.services.store.home
    result = cmr("brand", "add", "Terminal Bakery", "--category", "food", home_dir=home)
    assert result.code == 0, result
    qtbot.waitUntil(lambda: "Terminal Bakery" in _names(window), timeout=10_000)
    watcher.stop()


def test_a_choice_changed_with_cmr_shows_in_the_open_window(
    qtbot: Any, window: MainWindow, cmr: Any
) -> None:
    watcher = watch_window(window)
    window.select_brand("corner-shop")
    qtbot.waitUntil(lambda: window.editor.slug == "corner-shop", timeout=5000)
    home = window.services.store.home
    result = cmr("prefs", "set", "corner-shop", "--channel", "sms=off", home_dir=home)
    assert result.code == 0, result
    qtbot.waitUntil(lambda: window.editor.prefs.channels.get(Channel.SMS) is False, timeout=10_000)
    watcher.stop()


def test_the_windows_own_writes_are_not_taken_for_someone_elses(services: Any) -> None:
    log = watch_changes(services)
    assert log.poll() is False
    services.brands.add_brand("Own Shop")
    services.preferences.update_preferences(
        "own-shop", lambda p: p.with_channel(Channel.SMS, False)
    )
    assert log.poll() is False  # only this process wrote
    other = open_services(services.store.home)  # another connection pool, as another process
    try:
        other.brands.add_brand("Other Shop")
    finally:
        other.store.close()
    assert log.poll() is True
    assert log.poll() is False  # reported once
    log.close()


def test_an_outside_write_between_two_of_ours_is_still_seen(services: Any) -> None:
    log = watch_changes(services)
    services.brands.add_brand("Own Shop")
    other = open_services(services.store.home)
    try:
        other.brands.add_brand("Other Shop")
    finally:
        other.store.close()
    services.brands.add_brand("Own Shop Two")
    assert log.poll() is True
    log.close()
