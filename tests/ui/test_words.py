"""Words the user reads: names, not ids, in undo texts; Ctrl+Y redoes; the mouse wheel
scrolls the editor instead of changing a drop-down it passes over."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence, QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QWidget, QWizard

from cmr_desktop.domain import Decision, Grant
from cmr_desktop.ui.main_window import MainWindow
from tests.ui import words_fixtures
from tests.ui.test_editor import _choose
from tests.ui.words_fixtures import PAIR, select, stored_grant

small_window = words_fixtures.small_window  # the fixture


def test_the_undo_text_names_the_field_and_the_brand_not_their_ids(
    qtbot: Any, small_window: MainWindow
) -> None:
    window = small_window
    select(qtbot, window, "contoso-bank")
    decision = window.editor.use_rows[PAIR][0]
    _choose(decision, Decision.DENY.value)
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.DENY),
        timeout=10_000,
    )
    assert window.undo_stack.undoText() == "Demographics for analytics of Contoso Bank"
    undo = next(a for a in window.findChildren(QAction) if a.text().startswith("&Undo"))
    assert undo.text() == "&Undo Demographics for analytics of Contoso Bank"
    website = window.editor.detail_edits["website"]
    website.setText("https://contoso.example")
    website.editingFinished.emit()
    assert window.undo_stack.undoText() == "Website of Contoso Bank"


def test_topic_labels_come_from_the_vendor_or_read_as_words() -> None:
    from cmr_desktop.ui.editor import field_label

    assert field_label(("topic", "order-updates")) == "Topic 'Order updates'"
    assert field_label(("topic", "t-17"), {"t-17": "Price alerts"}) == "Topic 'Price alerts'"


def _redo_action(window: MainWindow) -> QAction:
    return next(a for a in window.findChildren(QAction) if a.text().startswith("&Redo"))


@pytest.fixture
def linux_redo_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's Redo as on a Linux desktop: Ctrl+Shift+Z only."""
    monkeypatch.setattr(
        QKeySequence, "keyBindings", staticmethod(lambda key: [QKeySequence("Ctrl+Shift+Z")])
    )


def test_ctrl_y_redoes_where_the_platform_knows_only_ctrl_shift_z(
    qtbot: Any, linux_redo_keys: None, small_window: MainWindow
) -> None:
    window = small_window
    keys = [k.toString() for k in _redo_action(window).shortcuts()]
    assert keys == ["Ctrl+Shift+Z", "Ctrl+Y"]  # both, once each
    sync_selected = window.sync_selected.shortcut().toString()
    assert sync_selected == "Ctrl+Shift+Y"  # no clash
    select(qtbot, window, "contoso-bank")
    _choose(window.editor.use_rows[PAIR][0], Decision.DENY.value)
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.DENY),
        timeout=10_000,
    )
    window.undo_stack.undo()
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.ALLOW),
        timeout=10_000,
    )
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=10_000)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(
        lambda: stored_grant(window, "contoso-bank", PAIR) == Grant(Decision.DENY),
        timeout=10_000,
    )


def _wheel(widget: QWidget, steps: int) -> None:
    """Turn the mouse wheel over ``widget`` (negative: towards the user, scrolling down)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre)),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_drop_down_scrolls_the_editor_and_leaves_the_value(
    qtbot: Any, small_window: MainWindow
) -> None:
    window = small_window
    window.resize(1000, 520)  # the editor is taller than its pane
    select(qtbot, window, "contoso-bank")
    scroll = next(
        a for a in window.findChildren(QScrollArea) if a.widget().isAncestorOf(window.editor)
    )
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(0)
    combo: QComboBox = window.editor.frequencies[next(iter(window.editor.frequencies))]
    before = combo.currentIndex()
    assert not combo.hasFocus()
    _wheel(combo, -2)
    assert combo.currentIndex() == before
    assert bar.value() > 0
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus
    start = window.editor.quiet_start  # spin boxes too
    time_before = start.time()
    start.setEnabled(True)
    _wheel(start, 3)
    assert start.time() == time_before
    # With focus (clicked or tabbed into), the wheel does choose.
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=10_000)
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=5000)
    _wheel(combo, -1)
    assert combo.currentIndex() != before


def test_the_status_bar_says_added_with_the_brands_name(
    qtbot: Any, small_window: MainWindow
) -> None:
    from tests.ui.test_wizard import _open

    window = small_window
    wizard = _open(qtbot, window)
    wizard.who.name.setText("Fabrikam Air Ltd.")
    wizard.next()
    wizard.next()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=5000)
    assert window.statusBar().currentMessage().startswith("Added Fabrikam Air Ltd.")
    assert "fabrikam-air-ltd" not in window.statusBar().currentMessage()
