"""How the brand table and the filter list are laid out and painted.

- Every column but the brand's name is as wide as its content (known from the vocabulary
  and the model's counts, never by measuring 100,000 rows); the name takes the width that
  is left, so the last column does not swallow it. A column the user widened stays wide.
- Channel and status icons are drawn for the row's state: a selected row's icons in the
  palette's highlighted-text colour (icons.py), with the strip at its own width.
- Long names and categories elide; their tooltip has the whole text (the model's).
- The filter list is never narrower than its longest entry (up to a cap, beyond which the
  middle of the label elides and the count stays visible), so it needs no horizontal bar.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QListWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from cmr_desktop.domain.vocabulary import Channel, Frequency
from cmr_desktop.ui.brand_model import HEADERS, OBJECT_ROLE, STATUSES, BrandTableModel, Column
from cmr_desktop.ui.icons import SIZE, channel_strip_icon, status_icon, strip_size

#: What the date column shows (its widest form).
DATE_SAMPLE = "2026-12-31 23:59"
#: What the Measured column shows (its widest usual form).
MEASURED_SAMPLE = "99.9 a week"
#: The filter list grows to fit its entries up to this width; beyond, labels elide.
SIDEBAR_MAX = 340

Index = QModelIndex | QPersistentModelIndex


class BrandDelegate(QStyledItemDelegate):
    """Paints channel strips at their width, and every icon for the row's state."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        row = index.data(OBJECT_ROLE)
        if row is None:
            return
        widget = option.widget
        ratio = widget.devicePixelRatioF() if isinstance(widget, QWidget) else None
        palette = option.palette
        column = index.column()
        if column == Column.CHANNELS and row.channels:
            option.icon = channel_strip_icon(row.channels, ratio, palette)
            option.decorationSize = strip_size(len(row.channels))
        elif column == Column.STATUS:
            option.icon = status_icon(row.status, ratio, palette)
            option.decorationSize = QSize(SIZE, SIZE)
        elif column == Column.MEASURED and not option.icon.isNull():
            option.icon = status_icon("drift", ratio, palette)  # a flag: see its tooltip
            option.decorationSize = QSize(SIZE, SIZE)


def cell_width(view: QAbstractItemView, text: str, icon: QSize | None = None) -> int:
    """The width a cell needs to show ``text`` (after ``icon``) unelided, in ``view``'s
    style and font (what the item delegate asks the style for)."""
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.text = text
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay
    if icon is not None:
        option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
        option.decorationSize = icon
    size = view.style().sizeFromContents(QStyle.ContentsType.CT_ItemViewItem, option, QSize(), view)
    return size.width() + 2  # the grid line and a pixel of air


class ColumnFitter(QObject):
    """Keeps the brand table's columns fitted (see the module docstring)."""

    def __init__(self, table: QTableView, model: BrandTableModel) -> None:
        super().__init__(table)
        self.table, self.model = table, model
        self._fitting = False
        header = table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setWordWrap(False)
        header.sectionResized.connect(self._on_section_resized)
        model.modelReset.connect(self.fit)
        model.layoutChanged.connect(self.fit_name)
        table.viewport().installEventFilter(self)
        self.fit()

    def needed(self, column: Column) -> int:
        """The width ``column`` needs for every value it can show, and its heading."""
        view, model = self.table, self.model
        header = view.horizontalHeader()
        heading = header.style().sizeFromContents(
            QStyle.ContentsType.CT_HeaderSection, _header_option(header, column), QSize(), header
        )
        # The sort arrow is drawn beside the heading on some styles: leave it room.
        width = heading.width() + header.style().pixelMetric(
            QStyle.PixelMetric.PM_HeaderMarkSize, None, header
        )
        texts: list[str]
        icon: QSize | None = None
        if column is Column.NAME:
            return max(width, view.fontMetrics().averageCharWidth() * 20)
        if column is Column.CATEGORY:
            texts = [c for c in model.category_counts() if c != "(none)"]
        elif column is Column.CHANNELS:
            most = max((r.channel_count for r in model.all_rows()), default=0)
            texts, icon = [""], strip_size(max(most, 1))
        elif column is Column.FREQUENCY:
            texts = [f.label for f in Frequency] + ["–"]
        elif column is Column.MEASURED:  # a flag's icon, then the widest figure
            texts, icon = [MEASURED_SAMPLE, "–"], QSize(SIZE, SIZE)
        elif column is Column.GRANTS:
            texts = [str(len(Channel) * 10)]
        elif column is Column.STATUS:
            texts, icon = [label for label, _ in STATUSES.values()], QSize(SIZE, SIZE)
        else:
            texts = [DATE_SAMPLE, "never"]
        return max([width] + [cell_width(view, t, icon) for t in texts])

    def fit(self) -> None:
        """Widen every column to its content (a wider column stays), then the name."""
        if not shiboken6.isValid(self.table):
            return
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)  # a header state saved by an older version
        self._fitting = True
        try:
            for column in Column:
                if column is not Column.NAME:
                    need = self.needed(column)
                    if header.sectionSize(column) < need:
                        header.resizeSection(column, need)
        finally:
            self._fitting = False
        self.fit_name()

    def fit_name(self) -> None:
        """Give the brand's name the width the other columns leave (at least its own)."""
        if not shiboken6.isValid(self.table):
            return
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in Column if c is not Column.NAME)
        width = max(self.needed(Column.NAME), self.table.viewport().width() - others)
        if header.sectionSize(Column.NAME) != width:
            self._fitting = True
            try:
                header.resizeSection(Column.NAME, width)
            finally:
                self._fitting = False

    def _on_section_resized(self, section: int, _old: int, _new: int) -> None:
        if not self._fitting and section != Column.NAME:
            self.fit_name()  # the user widened or narrowed a column: the name follows

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit_name()
        return False


def _header_option(header: QHeaderView, column: Column) -> QStyleOptionHeader:
    option = QStyleOptionHeader()
    option.initFrom(header)
    option.text = HEADERS[column]
    option.section = int(column)
    return option


def set_up_brand_table(table: QTableView, model: BrandTableModel) -> ColumnFitter:
    """The delegate and column fitting of the brand table (call after ``setModel``)."""
    table.setItemDelegate(BrandDelegate(table))
    return ColumnFitter(table, model)


class SidebarFitter(QObject):
    """Keeps the filter list as wide as its longest entry (see the module docstring)."""

    def __init__(self, sidebar: QListWidget) -> None:
        super().__init__(sidebar)
        self.sidebar = sidebar
        sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        sidebar.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # the count stays visible
        model = sidebar.model()
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self.fit)
        model.dataChanged.connect(self.fit)
        self.fit()

    def needed(self) -> int:
        sidebar = self.sidebar
        content = max(
            (
                sidebar.sizeHintForIndex(sidebar.model().index(i, 0)).width()
                for i in range(sidebar.count())
            ),
            default=0,
        )
        scroll = sidebar.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, sidebar)
        return content + 2 * sidebar.frameWidth() + scroll + 8

    def fit(self, *_: object) -> None:
        if not shiboken6.isValid(self.sidebar):  # its items go as the list is deleted
            return
        self.sidebar.setMinimumWidth(min(SIDEBAR_MAX, max(120, self.needed())))
