"""The brand table and the filter list fit what they show: no column cut at the default
size, the brand's name (not the last column) takes the extra width, the filter list needs
no horizontal bar and shows its counts at 900x600, and long texts elide with a tooltip.
The results dock leaves the brand list most of a small window."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from cmr_desktop.ui.brand_model import Column
from cmr_desktop.ui.main_window import MainWindow
from tests.ui.conftest import settle

LONG_NAME = "The Extraordinarily Long-Named International Outdoor Outfitters Company"


def _text_room(window: MainWindow, row: int, column: Column) -> tuple[str, int, int]:
    """A cell's text, the width it needs and the width the cell gives it."""
    table = window.table
    index = window.model.index(row, column)
    option = QStyleOptionViewItem()
    table.initViewItemOption(option)
    option.rect = table.visualRect(index)
    table.itemDelegate().initStyleOption(option, index)  # type: ignore[attr-defined]
    room = (
        table.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, table).width()
    )
    text = str(index.data())
    return text, option.fontMetrics.horizontalAdvance(text), room


def test_status_reads_not_synced_yet_unelided_at_the_default_size(window: MainWindow) -> None:
    row = next(i for i in range(window.model.rowCount()) if window.model.row_at(i).status == "new")
    text, needed, room = _text_room(window, row, Column.STATUS)
    assert text == "Not synced yet"
    assert needed <= room, f"{text!r} needs {needed} px, has {room}"
    for column in (Column.CATEGORY, Column.FREQUENCY, Column.SYNCED):
        text, needed, room = _text_room(window, row, column)
        assert needed <= room, f"{column.name}: {text!r} needs {needed} px, has {room}"


def test_the_brand_name_takes_the_extra_width_not_the_last_column(
    qtbot: Any, window: MainWindow
) -> None:
    window.resize(1700, 800)
    header = window.table.horizontalHeader()
    viewport = window.table.viewport()
    qtbot.waitUntil(lambda: window.width() == 1700, timeout=3000)
    others = sum(header.sectionSize(c) for c in Column if c is not Column.NAME)
    qtbot.waitUntil(lambda: viewport.width() > others + 200, timeout=3000)  # room to spare
    qtbot.waitUntil(lambda: header.length() == viewport.width(), timeout=3000)  # filled
    assert not header.stretchLastSection()
    widths = {c: header.sectionSize(c) for c in Column}
    assert max(widths, key=lambda c: widths[c]) is Column.NAME
    assert widths[Column.SYNCED] == window.columns.needed(Column.SYNCED)  # its content's


def test_the_filter_list_needs_no_horizontal_bar_and_shows_its_counts_at_900x600(
    qtbot: Any, window: MainWindow
) -> None:
    window.services.brands.add_brand("Garden Centre", category="Home and garden supplies")
    window.reload()
    window.resize(900, 600)
    sidebar = window.sidebar
    qtbot.waitUntil(
        lambda: any("Home and garden" in sidebar.item(i).text() for i in range(sidebar.count())),
        timeout=5000,
    )
    qtbot.waitUntil(lambda: window.width() == 900, timeout=3000)
    assert not sidebar.horizontalScrollBar().isVisible()
    for i in range(sidebar.count()):
        item = sidebar.item(i)
        shown = sidebar.visualItemRect(item).width()
        needed = sidebar.sizeHintForIndex(sidebar.model().index(i, 0)).width()
        assert needed <= shown, f"{item.text()!r} needs {needed} px, has {shown}"
        assert sidebar.visualItemRect(item).right() <= sidebar.viewport().width()


def test_a_long_name_elides_and_its_tooltip_has_the_whole_name(
    qtbot: Any, window: MainWindow
) -> None:
    window.services.brands.add_brand(LONG_NAME, category="retail")
    window.reload()
    qtbot.waitUntil(lambda: window.model.rowCount() == 14, timeout=5000)
    row = window.model.visible_row(
        "the-extraordinarily-long-named-international-outdoor-outfitters-company"
    )
    if row is None:
        row = next(i for i in range(14) if window.model.row_at(i).name == LONG_NAME)
    _text, needed, room = _text_room(window, row, Column.NAME)
    assert needed > room  # it is elided at this size...
    tip = window.model.index(row, Column.NAME).data(3)  # ToolTipRole
    assert LONG_NAME in tip  # ...and the tooltip says it all


def test_the_results_dock_takes_at_most_a_third_of_900x600_after_a_sync(
    qtbot: Any, window: MainWindow
) -> None:
    window.resize(900, 600)
    for i in range(0, 12, 2):  # six failures: more lines than a third of the window holds
        window.services.connections.set_secret(f"shop-{i:03d}", "token", "wrong-token")
    window.start_sync()
    qtbot.waitUntil(lambda: not window.is_syncing(), timeout=30_000)
    dock = window.results_dock
    qtbot.waitUntil(dock.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: window.results.tree.topLevelItemCount() == 6, timeout=5000)
    qtbot.waitUntil(lambda: dock.height() <= window.height() / 3 + 1, timeout=3000)
    assert window.table.height() > dock.height()  # the brand list keeps priority
    assert window.table.rowAt(window.table.viewport().height() - 1) >= 5  # rows to use
    settle(qtbot, window.runner)
