"""The status bar while a sync runs: its progress bar and Cancel button stand alone."""

from __future__ import annotations

from typing import Any

from cmr_desktop.ui.main_window import MainWindow


def test_a_sync_clears_the_old_status_message_so_it_does_not_show_through_beside_cancel(
    qtbot: Any, window: MainWindow
) -> None:
    window.statusBar().showMessage("1 permission ends within 7 days: Contoso Bank")
    window.sync_all.trigger()
    assert window.progress.isVisible()
    assert window.cancel.isVisible()
    assert window.statusBar().currentMessage() == ""
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=20_000)
