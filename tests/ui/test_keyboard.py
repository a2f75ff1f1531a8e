"""Keyboard and accessibility: every action has a shortcut, every control a name and a
place in the Tab order."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QMenu,
    QWidget,
)

from cmr_desktop.ui.main_window import MainWindow
from tests.ui.test_editor import _select


def test_every_menu_action_has_a_shortcut(window: MainWindow) -> None:
    actions = []
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        assert isinstance(menu, QMenu)  # QAction.menu() is typed as a QObject
        actions += [a for a in menu.actions() if not a.isSeparator()]
    assert len(actions) >= 10
    missing = [a.text() for a in actions if a.shortcut().isEmpty() and a.menu() is None]
    assert missing == []
    submenus = [a.text() for a in actions if a.menu() is not None]
    assert all("&" in text for text in submenus)  # reached with Alt and a letter


def _controls(window: MainWindow) -> list[QWidget]:
    kinds = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QAbstractItemView)
    return [
        w
        for w in window.findChildren(QWidget)
        if isinstance(w, kinds)
        and w.isVisibleTo(window)
        and w.focusPolicy() != Qt.FocusPolicy.NoFocus
    ]


def test_every_control_has_a_name_and_is_reachable_with_tab(qtbot: Any, window: MainWindow) -> None:
    _select(qtbot, window, "shop-000")
    controls = _controls(window)
    assert len(controls) > 30
    unnamed = [
        type(w).__name__
        for w in controls
        if not w.accessibleName()
        and not (isinstance(w, QAbstractButton) and w.text())
        and w.objectName() != "qt_spinbox_lineedit"
        and not isinstance(w.parent(), QAbstractSpinBox | QComboBox)
    ]
    assert unnamed == []
    chain: set[QWidget] = {window.table}
    widget: QWidget | None = window.table.nextInFocusChain()
    while widget is not None and widget is not window.table and len(chain) < 5000:
        chain.add(widget)
        widget = widget.nextInFocusChain()
    tab_stops = [w for w in controls if w.focusPolicy() & Qt.FocusPolicy.TabFocus]
    assert [w for w in tab_stops if w not in chain] == []
    assert window.editor.first_control() in chain


def test_panes_are_one_shortcut_away(qtbot: Any, window: MainWindow) -> None:
    _select(qtbot, window, "shop-000")
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=10_000)
    for keys, target in (
        ("Ctrl+3", window.editor.first_control()),
        ("Ctrl+1", window.sidebar),
        ("Ctrl+2", window.table),
    ):
        action = next(
            a for a in window.findChildren(type(window.sync_all)) if a.shortcut().toString() == keys
        )
        action.trigger()
        qtbot.waitUntil(lambda t=target: t.hasFocus(), timeout=10_000)
