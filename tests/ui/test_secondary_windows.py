"""My Terms, the journal, the data map and the notices open fully on the main window's
screen, come back where the user left them, and close with Esc. Error boxes carry the
standard icon of their kind. An open data map follows an import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect, QSettings, QSize, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from cmr_desktop.domain import DataCategory, Decision, Grant, Purpose
from cmr_desktop.ui.errors import error_box, message_box, question_box, warning_box
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.runner import Runner
from tests.conftest import open_services
from tests.ui.conftest import settle

OPEN: dict[str, Callable[[MainWindow], QWidget]] = {
    "terms": lambda w: w.show_terms(),
    "journal": lambda w: w.show_journal(None),
    "map": lambda w: w.show_map(),
    "notices": lambda w: w.show_notices(),
}


def _on_screen(window: QWidget, main: MainWindow) -> None:
    area = main.screen().availableGeometry()
    assert window.screen() is main.screen()
    assert area.contains(window.frameGeometry()), f"{window.frameGeometry()} not in {area}"


@pytest.mark.parametrize("which", list(OPEN))
def test_a_secondary_window_opens_on_screen_comes_back_where_it_was_and_closes_on_esc(
    qtbot: Any, window: MainWindow, tmp_path: Path, which: str
) -> None:
    opened = OPEN[which](window)
    qtbot.waitUntil(opened.isVisible, timeout=3000)
    _on_screen(opened, window)  # larger than this 800x800 screen's share: shrunk to fit
    area = window.screen().availableGeometry()
    assert opened.width() <= area.width()
    assert opened.height() <= area.height()
    size = opened.minimumSizeHint().expandedTo(QSize(500, 380))  # My Terms' form is larger
    wanted = QRect(area.x() + 40, area.y() + 50, size.width(), size.height())
    opened.setGeometry(wanted)
    qtbot.waitUntil(lambda: opened.geometry() == wanted, timeout=3000)
    opened.activateWindow()
    qtbot.waitUntil(opened.isActiveWindow, timeout=5000)
    qtbot.keyClick(opened, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not opened.isVisible(), timeout=3000)
    window.close()
    settle(qtbot, window.runner)
    window.settings.sync()
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    again = MainWindow(window.services, Runner(), settings)
    qtbot.addWidget(again)
    again.show()
    reopened = OPEN[which](again)
    qtbot.waitUntil(reopened.isVisible, timeout=3000)
    assert reopened.geometry() == wanted
    _on_screen(reopened, again)
    settle(qtbot, again.runner)


def test_a_saved_place_off_the_screen_is_brought_back_onto_it(
    qtbot: Any, window: MainWindow
) -> None:
    journal = window.show_journal(None)
    qtbot.waitUntil(journal.isVisible, timeout=3000)
    journal.close()
    area = window.screen().availableGeometry()
    journal.setGeometry(QRect(area.right() + 500, area.bottom() + 300, 2000, 1500))
    journal = window.show_journal(None)
    qtbot.waitUntil(journal.isVisible, timeout=3000)
    _on_screen(journal, window)


def test_error_warning_and_question_boxes_carry_their_standard_icon(qapp: Any) -> None:
    boxes = {
        QMessageBox.Icon.Critical: error_box("Import", "<b>x.json</b> is not an export"),
        QMessageBox.Icon.Warning: warning_box("Sync", "2 brands were skipped"),
        QMessageBox.Icon.Question: question_box("Remove", "Remove Contoso Bank?", None, "Remove"),
        QMessageBox.Icon.Information: message_box("information", "Done", "Exported."),
    }
    for icon, box in boxes.items():
        assert box.icon() is icon
        assert not box.iconPixmap().isNull()
        assert box.textFormat() is Qt.TextFormat.PlainText
        box.deleteLater()
    assert boxes[QMessageBox.Icon.Question].defaultButton().text() == "Remove"


def test_an_open_data_map_reads_the_brands_again_after_an_import(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    other = open_services(tmp_path / "other")
    other.brands.add_brand("Imported Bank", category="finance")
    other.preferences.update_preferences(
        "imported-bank",
        lambda p: p.with_grant(DataCategory.CONTACT, Purpose.SERVICE, Grant(Decision.ALLOW)),
    )
    export = tmp_path / "export.json"
    with export.open("w", encoding="utf-8") as out:
        other.transfer.export_json(out)
    other.store.close()
    data_map = window.show_map()
    qtbot.waitUntil(
        lambda: data_map.loads == 1 and "No brand" in data_map.summary.text(), timeout=5000
    )
    assert data_map.model.rowCount() == 0
    window.files.preview_import(export)
    qtbot.waitUntil(lambda: window.files.dialog is not None, timeout=5000)
    dialog = window.files.dialog
    assert dialog is not None
    dialog.accept()
    qtbot.waitUntil(lambda: data_map.model.rowCount() == 1, timeout=10_000)
    assert data_map.model.rows[0].name == "Imported Bank"
    assert "1 brand may use some of your data" in data_map.summary.text()
