"""Every window's text reads in the light and the dark palette (WCAG 2.2 AA: 4.5:1 for
text, 1.4.3), and the channel icons, which say on their own how a brand may reach you,
stand out (3:1, 1.4.11), in a selected row as well.

Text colours are taken as the widgets and the item delegate paint them: a label's
foreground role on the background of the nearest widget that fills it; an item's
ForegroundRole (or the view's text colour, highlighted text when selected) on its
BackgroundRole painted over the row's base (or the highlight). Disabled controls are
exempt (WCAG: inactive user interface components). Icons are checked on pixels: the
cell is grabbed and its most contrasting pixel against the row's background is measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from cmr_desktop.domain import Channel, DataCategory, Decision, Grant, Purpose
from cmr_desktop.ui.brand_model import Column
from cmr_desktop.ui.main_window import MainWindow
from cmr_desktop.ui.palette import (
    GRAPHICS_CONTRAST,
    TEXT_CONTRAST,
    contrast,
    dark_palette,
    dimmed_text,
    over,
    readable,
)

ROLE = QPalette.ColorRole


def _palettes() -> dict[str, QPalette]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    # The palettes the app runs with: the style's light one and a dark one, each with the
    # readable selection colour the main window gives an application that lacks one.
    return {"light": readable(app.style().standardPalette()), "dark": readable(dark_palette())}


@pytest.fixture(params=["light", "dark"])
def palette(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[QPalette]:
    before = QApplication.palette()
    chosen = _palettes()[request.param]
    QApplication.setPalette(chosen)
    yield chosen
    QApplication.setPalette(before)


def _group(widget: QWidget) -> QPalette.ColorGroup:
    return (
        QPalette.ColorGroup.Active
        if widget.window().isActiveWindow()
        else QPalette.ColorGroup.Inactive
    )


def _background(widget: QWidget) -> QColor:
    """The colour behind ``widget``: the nearest one that fills its background."""
    w: QWidget | None = widget
    while w is not None:
        if w.autoFillBackground() or w.isWindow():
            return w.palette().color(_group(w), w.backgroundRole())
        w = w.parentWidget()
    return widget.palette().color(ROLE.Window)


def _where(widget: QWidget) -> str:
    return f"{widget.window().windowTitle()!r} {type(widget).__name__}"


def _widget_problems(root: QWidget) -> list[str]:
    problems = []
    widgets = [w for w in root.findChildren(QWidget) if w.isVisible() and w.isEnabled()]
    for w in widgets:
        text = ""
        if isinstance(w, QLabel):
            text = w.text()
        elif isinstance(w, QAbstractButton | QGroupBox):
            text = w.text() if isinstance(w, QAbstractButton) else w.title()
        elif isinstance(w, QLineEdit):
            text = w.text()
        elif isinstance(w, QComboBox):
            text = w.currentText()
        if not text.strip():
            continue
        group = _group(w)
        p = w.palette()
        if isinstance(w, QPushButton):
            fg, bg = p.color(group, ROLE.ButtonText), p.color(group, ROLE.Button)
        elif isinstance(w, QLineEdit) or (isinstance(w, QComboBox) and w.isEditable()):
            fg, bg = p.color(group, ROLE.Text), p.color(group, ROLE.Base)
        elif isinstance(w, QComboBox):
            fg, bg = p.color(group, ROLE.ButtonText), p.color(group, ROLE.Button)
        elif isinstance(w, QCheckBox | QRadioButton | QGroupBox):
            fg, bg = p.color(group, ROLE.WindowText), _background(w)
        else:
            fg, bg = p.color(group, w.foregroundRole()), _background(w)
        ratio = contrast(fg, bg)
        if ratio < TEXT_CONTRAST:
            problems.append(
                f"{_where(w)} {text[:40]!r}: {fg.name()} on {bg.name()} is {ratio:.2f}:1"
            )
    return problems


def _indexes(view: QAbstractItemView) -> Iterator[QModelIndex]:
    """The view's cells that are on screen (top level and expanded children)."""
    model = view.model()
    area = view.viewport().rect()
    stack = [QModelIndex()]
    while stack:
        parent = stack.pop()
        for row in range(min(model.rowCount(parent), 200)):
            column = 0
            while (index := model.index(row, column, parent)).isValid():
                if view.visualRect(index).intersects(area):
                    yield index
                column += 1
            child = model.index(row, 0, parent)
            if (
                child.isValid()
                and model.index(0, 0, child).isValid()
                and getattr(view, "isExpanded", lambda _: False)(child)
            ):
                stack.append(child)


def _item_problems(root: QWidget) -> list[str]:
    problems = []
    views = [v for v in root.findChildren(QAbstractItemView) if v.isVisible()]
    for view in views:
        group = _group(view)
        p = view.palette()
        selection = view.selectionModel()
        for index in _indexes(view):
            text = index.data(Qt.ItemDataRole.DisplayRole)
            if not isinstance(text, str) or not text.strip():
                continue
            selected = selection is not None and selection.isSelected(index)
            if selected:
                fg, bg = p.color(group, ROLE.HighlightedText), p.color(group, ROLE.Highlight)
            else:
                alternate = view.alternatingRowColors() and index.row() % 2 == 1
                bg = p.color(group, ROLE.AlternateBase if alternate else ROLE.Base)
                brush = index.data(Qt.ItemDataRole.BackgroundRole)
                if isinstance(brush, QBrush | QColor):
                    bg = over(QBrush(brush).color(), bg)
                fg = p.color(group, ROLE.Text)
                ink = index.data(Qt.ItemDataRole.ForegroundRole)
                if isinstance(ink, QBrush | QColor):
                    fg = QBrush(ink).color()
            ratio = contrast(fg, bg)
            if ratio < TEXT_CONTRAST:
                problems.append(
                    f"{_where(view)} {view.accessibleName()!r} {text[:30]!r}"
                    f"{' (selected)' if selected else ''}: {fg.name()} on {bg.name()} "
                    f"is {ratio:.2f}:1"
                )
    return problems


def _problems(root: QWidget) -> list[str]:
    return _widget_problems(root) + _item_problems(root)


def _icon_contrast(window: MainWindow, row: int, column: Column) -> float:
    """The contrast of a cell's most visible pixel against the row's background."""
    table = window.table
    index = window.model.index(row, column)
    table.scrollTo(index)
    rect = table.visualRect(index).adjusted(2, 2, -2, -2)
    image = table.viewport().grab(rect).toImage()
    selected = table.selectionModel().isSelected(index)
    p, group = table.palette(), _group(table)
    if selected:
        background = p.color(group, ROLE.Highlight)
    else:
        alternate = table.alternatingRowColors() and row % 2 == 1
        background = p.color(group, ROLE.AlternateBase if alternate else ROLE.Base)
    return max(
        contrast(image.pixelColor(x, y), background)
        for x in range(image.width())
        for y in range(image.height())
    )


def _prepare(qtbot: Any, window: MainWindow) -> None:
    svc = window.services
    svc.preferences.update_preferences(
        "shop-001",
        lambda p: (
            p.with_channel(Channel.EMAIL, True)
            .with_channel(Channel.SMS, True)
            .with_channel(Channel.PHONE, True)
            .with_grant(DataCategory.CONTACT, Purpose.MARKETING, Grant(Decision.ALLOW))
        ),
    )
    svc.preferences.update_preferences(
        "shop-002",
        lambda p: (
            p.with_channel(Channel.EMAIL, True)
            .with_grant(DataCategory.HEALTH, Purpose.RESEARCH, Grant(Decision.ALLOW))
            .with_grant(DataCategory.HEALTH, Purpose.ANALYTICS, Grant(Decision.ALLOW))
            .with_grant(DataCategory.HEALTH, Purpose.MARKETING, Grant(Decision.ALLOW))
            .with_grant(DataCategory.HEALTH, Purpose.SALE, Grant(Decision.ALLOW))
        ),
    )  # a dark cell in the data map: its number must still read
    window.reload()

    def shown() -> bool:
        row = window.model.visible_row("shop-001")
        return row is not None and len(window.model.row_at(row).channels) == 3

    qtbot.waitUntil(shown, timeout=5000)


def test_a_selected_rows_channel_icons_stand_out_in_both_palettes(
    qtbot: Any, window: MainWindow, palette: QPalette
) -> None:
    _prepare(qtbot, window)
    row = window.model.visible_row("shop-001")
    other = window.model.visible_row("shop-002")
    assert row is not None
    assert other is not None
    window.table.selectRow(row)
    window.table.setFocus()
    qtbot.waitUntil(lambda: window.table.selectionModel().isRowSelected(row), timeout=3000)
    selected = _icon_contrast(window, row, Column.CHANNELS)
    unselected = _icon_contrast(window, other, Column.CHANNELS)
    assert selected >= GRAPHICS_CONTRAST, f"selected row's icons: {selected:.2f}:1"
    assert unselected >= GRAPHICS_CONTRAST, f"unselected row's icons: {unselected:.2f}:1"
    status = _icon_contrast(window, row, Column.STATUS)  # icon and text, selected
    assert status >= TEXT_CONTRAST


def test_every_windows_text_reads_in_both_palettes(
    qtbot: Any, window: MainWindow, palette: QPalette
) -> None:
    _prepare(qtbot, window)
    window.services.connections.set_secret("shop-003", "token", "wrong-token")  # a failure to list
    window.start_sync()
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=30_000)
    qtbot.waitUntil(window.results_dock.isVisible, timeout=5000)
    window.select_brand("shop-001")
    qtbot.waitUntil(lambda: window.editor.slug == "shop-001", timeout=5000)
    qtbot.waitUntil(lambda: "shop" in window.detail.text().casefold(), timeout=5000)
    problems = {"main window, editor, results": _problems(window)}
    terms = window.show_terms()
    qtbot.waitUntil(lambda: terms.form.isEnabled(), timeout=5000)
    qtbot.waitUntil(lambda: not terms.status.text().startswith("Checking"), timeout=5000)
    problems["My Terms"] = _problems(terms)
    terms.close()
    journal = window.show_journal(None)
    qtbot.waitUntil(lambda: journal.model.rowCount() > 0, timeout=5000)
    journal.table.selectRow(0)
    problems["journal"] = _problems(journal)
    journal.close()
    data_map = window.show_map()
    qtbot.waitUntil(lambda: data_map.model.rowCount() == 2, timeout=5000)
    problems["data map"] = _problems(data_map)
    data_map.close()
    wizard = window.add_brand()
    qtbot.waitUntil(wizard.isVisible, timeout=3000)
    problems["wizard"] = _problems(wizard)
    wizard.reject()
    assert {where: found for where, found in problems.items() if found} == {}


def test_the_check_finds_text_that_does_not_read(qtbot: Any, window: MainWindow) -> None:
    label = QLabel("grey on grey", window.detail.parentWidget())
    p = label.palette()
    p.setColor(QPalette.ColorRole.WindowText, p.color(QPalette.ColorRole.Window).darker(115))
    label.setPalette(p)
    label.show()
    assert any("grey on grey" in problem for problem in _widget_problems(window))
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21)
    assert contrast(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)


def test_the_window_gives_a_light_palette_a_selection_that_text_reads_on(
    qapp: QApplication, window: MainWindow
) -> None:
    fusion = qapp.style().standardPalette()
    before = contrast(fusion.color(ROLE.HighlightedText), fusion.color(ROLE.Highlight))
    assert before < TEXT_CONTRAST  # Fusion's own: white on #308cc6
    now = QApplication.palette()
    assert contrast(now.color(ROLE.HighlightedText), now.color(ROLE.Highlight)) >= TEXT_CONTRAST
    assert now.color(ROLE.Text) == fusion.color(ROLE.Text)  # nothing else changes


@pytest.mark.parametrize("name", ["light", "dark"])
def test_dimmed_text_is_dimmer_than_text_and_still_reads(qapp: QApplication, name: str) -> None:
    chosen = _palettes()[name]
    dim = dimmed_text(chosen)
    window, text = chosen.color(ROLE.Window), chosen.color(ROLE.WindowText)
    assert contrast(dim, window) >= TEXT_CONTRAST
    assert contrast(dim, window) < contrast(text, window)  # it still looks dimmed
    disabled = chosen.color(QPalette.ColorGroup.Disabled, ROLE.WindowText)
    assert contrast(disabled, window) < TEXT_CONTRAST  # what a disabled label shows today
